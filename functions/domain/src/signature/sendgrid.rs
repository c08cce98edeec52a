//! SendGrid's Event Webhook: `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>`, an ECDSA
//! P-256 / SHA-256 signature over `{X-Twilio-Email-Event-Webhook-Timestamp}{body}` under the
//! base64 DER SubjectPublicKeyInfo SendGrid shows as the verification key
//! (<https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features>).
//! The timestamp is signed, so it is held to the tolerance. One request carries a batch of
//! events; it stays one webhook.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};
use p256::ecdsa::signature::{Signer, Verifier};

use super::hmac_sha256::{malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let timestamp = single_header(request.headers, TIMESTAMP, TIMESTAMP)?;
    let signed_at = timestamp::parse_within_tolerance(timestamp, TIMESTAMP, request)?;
    let signature = STANDARD
        .decode(signature)
        .ok()
        .and_then(|der| p256::ecdsa::Signature::from_der(&der).ok())
        .ok_or_else(|| malformed(SIGNATURE, "signature is not a base64 DER ECDSA signature"))?;
    let message = [timestamp.as_bytes(), request.body].concat();
    request
        .keys
        .iter()
        .position(|key| key.p256_verifying().is_some_and(|public| public.verify(&message, &signature).is_ok()))
        .map(|key_index| Verified { key_index, signed_at: Some(signed_at) })
        .ok_or(SignatureError::NoMatchingSignature)
}

/// Signs as SendGrid does, with a P-256 signing key; no headers for any other key.
pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
    let Some(signing) = key.p256_signing() else {
        return Vec::new();
    };
    let timestamp = now_unix.to_string();
    let signature: p256::ecdsa::Signature = signing.sign(&[timestamp.as_bytes(), body].concat());
    let encoded = STANDARD.encode(signature.to_der().as_bytes());
    vec![
        (HeaderName::from_static(SIGNATURE), HeaderValue::from_str(&encoded).expect("base64")),
        (HeaderName::from_static(TIMESTAMP), HeaderValue::from(now_unix)),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::SendGrid;

    // Published vector: sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
    // (the same in sendgrid-python, -java, -csharp, -go).
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const TS: i64 = 1_588_788_367;
    const BODY: &[u8] = br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
    const SIGNATURE_B64: &str =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    // The SDKs' negative cases: another public key, another signature (one character).
    const OTHER_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
    const OTHER_SIGNATURE: &str =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";

    // Published vector: sendgrid/sendgrid-ruby spec/fixtures/event_webhook.rb, a real event
    // batch that is signed with its trailing CRLF (the fixture says so).
    const RUBY_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    const RUBY_TS: i64 = 1_600_112_502;
    const RUBY_SIGNATURE: &str =
        "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    const RUBY_BODY: &[u8] = b"[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";

    fn key(public: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, public).unwrap()
    }

    fn sendgrid(signature: &str, ts: i64) -> http::HeaderMap {
        headers(&[
            ("X-Twilio-Email-Event-Webhook-Signature", signature),
            ("X-Twilio-Email-Event-Webhook-Timestamp", &ts.to_string()),
        ])
    }

    fn check(map: &http::HeaderMap, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, map, body, keys, now)
    }

    #[test]
    fn published_vectors_verify() {
        let ok = |ts| Ok(Verified { key_index: 0, signed_at: Some(ts) });
        assert_eq!(check(&sendgrid(SIGNATURE_B64, TS), BODY, &[key(PUBLIC_KEY)], TS), ok(TS));
        assert_eq!(check(&sendgrid(RUBY_SIGNATURE, RUBY_TS), RUBY_BODY, &[key(RUBY_PUBLIC_KEY)], RUBY_TS), ok(RUBY_TS));
        let without_crlf = &RUBY_BODY[..RUBY_BODY.len() - 2];
        assert_eq!(
            check(&sendgrid(RUBY_SIGNATURE, RUBY_TS), without_crlf, &[key(RUBY_PUBLIC_KEY)], RUBY_TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn the_sdks_negative_cases_fail() {
        let fail = Err(SignatureError::NoMatchingSignature);
        assert_eq!(check(&sendgrid(SIGNATURE_B64, TS), BODY, &[key(OTHER_PUBLIC_KEY)], TS), fail);
        assert_eq!(check(&sendgrid(SIGNATURE_B64, TS), b"payload", &[key(PUBLIC_KEY)], TS), fail);
        assert_eq!(check(&sendgrid(OTHER_SIGNATURE, TS), BODY, &[key(PUBLIC_KEY)], TS), fail);
        assert_eq!(check(&sendgrid(SIGNATURE_B64, TS + 1), BODY, &[key(PUBLIC_KEY)], TS), fail);
        assert_eq!(
            check(&sendgrid(SIGNATURE_B64, TS), BODY, &[key(OTHER_PUBLIC_KEY), key(PUBLIC_KEY)], TS)
                .map(|v| v.key_index),
            Ok(1)
        );
        // An HMAC secret is never a verifying key.
        assert_eq!(check(&sendgrid(SIGNATURE_B64, TS), BODY, &[SigningKey::from_bytes(*b"secret")], TS), fail);
    }

    #[test]
    fn stale_future_and_malformed() {
        let tol = TOLERANCE as i64;
        for now in [TS + tol + 1, TS - tol - 1] {
            assert!(matches!(
                check(&sendgrid(SIGNATURE_B64, TS), BODY, &[key(PUBLIC_KEY)], now),
                Err(SignatureError::TimestampOutsideTolerance { .. })
            ));
        }
        for bad in ["", "%%%", "AAAA", &SIGNATURE_B64[4..]] {
            assert_eq!(
                check(&sendgrid(bad, TS), BODY, &[key(PUBLIC_KEY)], TS),
                Err(malformed(SIGNATURE, "signature is not a base64 DER ECDSA signature")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn public_keys_of_the_wrong_form_are_refused() {
        use crate::signature::KeyError;
        // Not base64, not DER, and a DER key whose point is not on the curve (last byte changed).
        let mut off_curve = STANDARD.decode(PUBLIC_KEY).unwrap();
        *off_curve.last_mut().unwrap() ^= 1;
        for bad in ["%%%".to_owned(), "AAAA".to_owned(), STANDARD.encode(&off_curve)] {
            assert_eq!(SigningKey::from_config(&SCHEME, &bad), Err(KeyError::NotP256PublicKey), "{bad}");
        }
        assert!(sign(&key(PUBLIC_KEY), BODY, TS).is_empty(), "a public key cannot sign");
    }

    #[test]
    fn a_signing_key_round_trips() {
        let signing = SigningKey::p256_from_scalar(&[7; 32]).unwrap();
        let map = into_map(sign(&signing, BODY, TS));
        let public = signing.p256_verifying().unwrap();
        let public = SigningKey::from_p256_verifying(public);
        assert_eq!(check(&map, BODY, std::slice::from_ref(&public), TS).map(|v| v.key_index), Ok(0));
        assert_eq!(check(&map, b"{}", &[public], TS), Err(SignatureError::NoMatchingSignature));
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(sig in "[ -~]{0,120}", ts in "[ -~]{0,20}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let map = headers(&[("X-Twilio-Email-Event-Webhook-Signature", &sig), ("X-Twilio-Email-Event-Webhook-Timestamp", &ts)]);
            let _ = check(&map, &body, &[key(PUBLIC_KEY)], TS);
        }
    }
}
