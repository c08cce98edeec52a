//! Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`, Slack's
//! format under Zoom's header names
//! (<https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events>).
//!
//! Zoom publishes no test vector with its secret; the vectors below are computed from the
//! specification with Python's `hmac` (`hmac.new(secret, b"v0:" + ts + b":" + body,
//! hashlib.sha256).hexdigest()`).

use super::SigningKey;
use super::hmac_sha256;
use super::slack::V0;

const TIMESTAMP: &str = "x-zm-request-timestamp";
const SIGNATURE: &str = "x-zm-signature";
pub(super) const FORMAT: V0 = V0 { timestamp: TIMESTAMP, signature: SIGNATURE };

/// The answer to Zoom's `endpoint.url_validation`: hex HMAC-SHA256 of the plain token under
/// the source's (newest) secret token.
pub fn encrypted_token(key: &SigningKey, plain_token: &str) -> String {
    hex::encode(hmac_sha256::compute(key.as_bytes(), &[plain_token.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::malformed;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};
    use crate::signature::{SignatureError, Verified};

    const SCHEME: Scheme = Scheme::Zoom;
    // Computed from the specification (no published vector, see the module documentation).
    const SECRET: &str = "hookline-zoom-secret-token";
    const TS: i64 = 1_626_230_691;
    const BODY: &[u8] = br#"{"event":"meeting.started","event_ts":1626230691572,"payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"czLF6FFFoQOKgAB99DlDb9g==","topic":"Hookline standup"}}}"#;
    const EXPECTED: &str = "v0=d0ca3c4ae41e8bc33c0a5f1d8ca24f5d0fad89022017624cc3a2be1f276962ee";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(
        ts: &str,
        signature: &str,
        body: &[u8],
        keys: &[SigningKey],
        now: i64,
    ) -> Result<Verified, SignatureError> {
        verify_with(
            &SCHEME,
            &headers(&[("x-zm-request-timestamp", ts), ("x-zm-signature", signature)]),
            body,
            keys,
            now,
        )
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: Some(TS) });

    #[test]
    fn the_computed_vector_signs_and_verifies() {
        let signed = into_map(FORMAT.sign(&key(SECRET), BODY, TS));
        assert_eq!(signed[SIGNATURE], EXPECTED);
        assert_eq!(signed[TIMESTAMP], "1626230691");
        assert_eq!(check("1626230691", EXPECTED, BODY, &[key(SECRET)], TS), OK);
    }

    #[test]
    fn tampered_wrong_key_and_other_timestamp_fail() {
        let keys = [key(SECRET)];
        assert_eq!(check("1626230691", EXPECTED, b"{}", &keys, TS), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            check("1626230691", EXPECTED, BODY, &[key("another")], TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(check("1626230692", EXPECTED, BODY, &keys, TS), Err(SignatureError::NoMatchingSignature));
        let rotated = [key("another"), key(SECRET)];
        assert_eq!(
            check("1626230691", EXPECTED, BODY, &rotated, TS),
            Ok(Verified { key_index: 1, signed_at: Some(TS) })
        );
    }

    #[test]
    fn stale_future_and_malformed() {
        let keys = [key(SECRET)];
        let tol = TOLERANCE as i64;
        for now in [TS + tol + 1, TS - tol - 1] {
            assert!(matches!(
                check("1626230691", EXPECTED, BODY, &keys, now),
                Err(SignatureError::TimestampOutsideTolerance { .. })
            ));
        }
        assert_eq!(
            check("1626230691", &EXPECTED[3..], BODY, &keys, TS),
            Err(malformed(SIGNATURE, "missing v0= prefix"))
        );
        assert_eq!(check("1626230691", "v0=xyz", BODY, &keys, TS), Err(malformed(SIGNATURE, "signature is not hex")));
        assert_eq!(
            check("16262306.91", EXPECTED, BODY, &keys, TS),
            Err(malformed(TIMESTAMP, "timestamp is not decimal digits"))
        );
    }

    #[test]
    fn the_url_validation_answer_is_the_hmac_of_the_plain_token() {
        // python3: hmac.new(b"hookline-zoom-secret-token", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
        assert_eq!(
            encrypted_token(&key(SECRET), "qgg8vlvZRS6UYooatFL8Aw"),
            "19b68928339288a6788ff6e1e987c42d00d8340c7e49afde8e1e86c9167b7111"
        );
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(ts in "[ -~]{0,25}", sig in "[ -~]{0,100}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&ts, &sig, &body, &[key(SECRET)], TS);
        }
    }
}
