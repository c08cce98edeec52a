//! Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>...]`, HMAC-SHA256 over
//! `{ts}:{body}` (<https://developer.paddle.com/webhooks/signature-verification>).
//!
//! Several `h1` entries appear while a secret is rotated, and entries of other versions
//! (`h2=...`) are skipped, as Paddle's SDKs do.

use super::timestamped_list::Format;

const SIGNATURE: &str = "paddle-signature";
pub(super) const FORMAT: Format =
    Format { header: SIGNATURE, separator: ';', timestamp: "ts", signature: "h1", joiner: b":" };

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::malformed;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};
    use crate::signature::{SignatureError, SigningKey, Verified};

    const SCHEME: Scheme = Scheme::Paddle;

    // Published vector: PaddleHQ/paddle-python-sdk tests/Unit/Notification/test_Verifier.py
    // (the same in PaddleHQ/paddle-php-sdk tests/Unit/Notifications/VerifierTest.php). The
    // whole `pdl_ntf_...` string is the key; the two other secrets of the test do not match.
    const SDK_SECRET: &str = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh";
    const SDK_WRONG_SECRET: &str = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4";
    const SDK_HEADER: &str =
        "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02";
    const SDK_TS: i64 = 1_696_195_954;
    const SDK_BODY: &[u8] = b"hello-world";

    // Published vectors: PaddleHQ/paddle-node-sdk src/__tests__/notifications/webhooks-validator.test.ts.
    const NODE_SECRET: &str = "VALID_SECRET";
    const NODE_TS: i64 = 1_698_796_800;
    const NODE_BODY: &[u8] = br#"{"data": ["1", "2"]}"#;
    const NODE_HEADER: &str = "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    const NODE_BODY_2: &[u8] = br#"{"data": "value"}"#;
    const NODE_HEADER_2: &str = "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH";

    // Published vector: PaddleHQ/paddle-go-sdk example_webhook_verifier_test.go, a real
    // price.created notification.
    const GO_SECRET: &str = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr";
    const GO_TS: i64 = 1_710_929_255;
    const GO_HEADER: &str = "ts=1710929255;h1=6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8";
    const GO_BODY: &[u8] = br#"{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active","quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting","product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000","currency_code":"USD"},"custom_data":null,"description":"testing","import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month","frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3","event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z","notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}"#;

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(header: &str, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("Paddle-Signature", header)]), body, keys, now)
    }

    fn ok(key_index: usize, ts: i64) -> Result<Verified, SignatureError> {
        Ok(Verified { key_index, signed_at: Some(ts) })
    }

    #[test]
    fn published_vectors_verify() {
        assert_eq!(check(SDK_HEADER, SDK_BODY, &[key(SDK_SECRET)], SDK_TS), ok(0, SDK_TS));
        assert_eq!(check(NODE_HEADER, NODE_BODY, &[key(NODE_SECRET)], NODE_TS), ok(0, NODE_TS));
        assert_eq!(check(NODE_HEADER_2, NODE_BODY_2, &[key(NODE_SECRET)], NODE_TS), ok(0, NODE_TS));
        assert_eq!(check(GO_HEADER, GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));
    }

    #[test]
    fn published_vectors_sign_as_published() {
        let signed = into_map(FORMAT.sign(&key(NODE_SECRET), NODE_BODY, NODE_TS));
        assert_eq!(signed[SIGNATURE], NODE_HEADER);
        let signed = into_map(FORMAT.sign(&key(GO_SECRET), GO_BODY, GO_TS));
        assert_eq!(signed[SIGNATURE], GO_HEADER);
    }

    #[test]
    fn the_sdks_negative_cases_fail() {
        // The SDK tests' wrong secret, wrong ts, and reformatted body.
        assert_eq!(
            check(SDK_HEADER, SDK_BODY, &[key(SDK_WRONG_SECRET)], SDK_TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(NODE_HEADER, NODE_BODY, &[key("INVALID_VALID_SECRET")], NODE_TS),
            Err(SignatureError::NoMatchingSignature)
        );
        let other_ts = NODE_HEADER.replacen("ts=1698796800", "ts=1698796801", 1);
        assert_eq!(check(&other_ts, NODE_BODY, &[key(NODE_SECRET)], NODE_TS), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            check(NODE_HEADER, br#"{ "data": [ "1", "2" ]}"#, &[key(NODE_SECRET)], NODE_TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn rotation_reports_the_key_that_matched() {
        let keys = [key(SDK_WRONG_SECRET), key(SDK_SECRET)];
        assert_eq!(check(SDK_HEADER, SDK_BODY, &keys, SDK_TS), ok(1, SDK_TS));
    }

    #[test]
    fn timestamps_outside_the_tolerance_fail_before_any_mac() {
        let tol = TOLERANCE as i64;
        let keys = [key(NODE_SECRET)];
        assert_eq!(check(NODE_HEADER, NODE_BODY, &keys, NODE_TS + tol), ok(0, NODE_TS));
        for now in [NODE_TS + tol + 1, NODE_TS - tol - 1] {
            assert_eq!(
                check(NODE_HEADER, NODE_BODY, &keys, now),
                Err(SignatureError::TimestampOutsideTolerance {
                    signed_at: NODE_TS,
                    now,
                    tolerance_seconds: TOLERANCE
                })
            );
        }
    }

    #[test]
    fn malformed_headers() {
        let keys = [key(NODE_SECRET)];
        // The SDK tests' malformed headers, and more.
        for (header, reason) in [
            ("invalid_header", "item without '='"),
            ("h1=invalid_header", "missing timestamp"),
            ("ts=1698796800;h2=invalid_header", "no well-formed signature"),
            ("ts=1698796800;h1=zz", "no well-formed signature"),
            ("ts=1698796800;ts=1698796800;h1=00", "more than one timestamp"),
            ("ts=soon;h1=00", "timestamp is not decimal digits"),
            ("", "item without '='"),
        ] {
            assert_eq!(check(header, NODE_BODY, &keys, NODE_TS), Err(malformed(SIGNATURE, reason)), "{header:?}");
        }
        let map = headers(&[("Paddle-Signature", NODE_HEADER), ("paddle-signature", NODE_HEADER)]);
        assert_eq!(
            verify_with(&SCHEME, &map, NODE_BODY, &keys, NODE_TS),
            Err(SignatureError::DuplicateHeader(SIGNATURE))
        );
        assert_eq!(
            verify_with(&SCHEME, &http::HeaderMap::new(), NODE_BODY, &keys, NODE_TS),
            Err(SignatureError::MissingHeader(SIGNATURE))
        );
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(header in "[ -~]{0,200}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&header, &body, &[key(NODE_SECRET)], NODE_TS);
        }
    }
}
