//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]` over `{t}.{body}`.
//!
//! Only `v1` is HMAC-SHA256 with the endpoint secret; `v0` and unknown schemes are ignored,
//! as Stripe's own libraries do. Several `v1` entries appear while a secret is being rolled.

use http::{HeaderName, HeaderValue};

use super::timestamped_list::Format;
use super::{SignatureError, SigningKey, Verified, VerifyRequest};

const HEADER: &str = "stripe-signature";
const FORMAT: Format = Format { header: HEADER, separator: ',', timestamp: "t", signature: "v1", joiner: b"." };

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    FORMAT.verify(request)
}

pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
    FORMAT.sign(key, body, now_unix)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::malformed;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::Stripe;

    // Inputs from Stripe's official .NET library: stripe/stripe-dotnet,
    // src/StripeTests/Services/Events/DefaultSignatureValidatorTests.cs (secret, timestamp and
    // the v0 entry) and src/StripeTests/Resources/event_test_signature.json (the body, with its
    // trailing newline). That test computes its v1 at run time, and no Stripe library publishes
    // a fixed v1, so EXPECTED_V1 was computed independently when this test was written:
    //   python3 -c 'import hmac,hashlib; print(hmac.new(b"webhook_secret",
    //     b"1533204620." + open("event_test_signature.json","rb").read(),
    //     hashlib.sha256).hexdigest())'
    const SECRET: &str = "webhook_secret";
    const T: i64 = 1_533_204_620;
    const BODY: &str = r#"{
  "id": "evt_123",
  "object": "event",
  "account": "acct_123",
  "api_version": "2017-05-25",
  "created": 1533204620,
  "data": {
    "object": {
      "id": "cus_123",
      "object": "customer",
      "created": 123456789,
      "email": "test@stripe.com",
      "livemode": false,
      "metadata": {}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": "req_123",
    "idempotency_key": "idempotency-key-123"
  },
  "type": "customer.created"
}
"#;
    const EXPECTED_V1: &str = "2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7";
    const DOTNET_V0: &str = "63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(value: &str, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("Stripe-Signature", value)]), body, keys, now)
    }

    fn ok(key_index: usize) -> Result<Verified, SignatureError> {
        Ok(Verified { key_index, signed_at: Some(T) })
    }

    fn vector_header() -> String {
        format!("t={T},v1={EXPECTED_V1},v0={DOTNET_V0}")
    }

    #[test]
    fn body_fixture_is_the_published_file() {
        assert_eq!(BODY.len(), 484);
    }

    #[test]
    fn vector_signs_and_verifies() {
        let signed = into_map(sign(&key(SECRET), BODY.as_bytes(), T));
        assert_eq!(signed[HEADER], format!("t={T},v1={EXPECTED_V1}").as_str());
        // Checked 100 s after signing, as the .NET test does.
        assert_eq!(check(&vector_header(), BODY.as_bytes(), &[key(SECRET)], T + 100), ok(0));
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let upper = format!("t={T},v1={}", EXPECTED_V1.to_uppercase());
        assert_eq!(check(&upper, BODY.as_bytes(), &[key(SECRET)], T), ok(0));
    }

    #[test]
    fn tampered_body_and_wrong_secret_fail() {
        let mut tampered = BODY.to_string();
        tampered.push_str("this_changes_the_json");
        assert_eq!(
            check(&vector_header(), tampered.as_bytes(), &[key(SECRET)], T),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&vector_header(), BODY.as_bytes(), &[key("whsec_other")], T),
            Err(SignatureError::NoMatchingSignature)
        );
        // The timestamp is signed too.
        let moved = format!("t={},v1={EXPECTED_V1}", T + 1);
        assert_eq!(check(&moved, BODY.as_bytes(), &[key(SECRET)], T), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn rotated_secret_and_any_v1_may_match() {
        assert_eq!(check(&vector_header(), BODY.as_bytes(), &[key("whsec_new"), key(SECRET)], T), ok(1));
        let later = format!("t={T},v1={},v1={EXPECTED_V1}", "00".repeat(32));
        assert_eq!(check(&later, BODY.as_bytes(), &[key(SECRET)], T), ok(0));
        let first = format!("t={T},v1={EXPECTED_V1},v1={}", "00".repeat(32));
        assert_eq!(check(&first, BODY.as_bytes(), &[key(SECRET)], T), ok(0));
        // Items may come in any order.
        let reordered = format!("v0={DOTNET_V0},v1={EXPECTED_V1},t={T}");
        assert_eq!(check(&reordered, BODY.as_bytes(), &[key(SECRET)], T), ok(0));
    }

    #[test]
    fn other_schemes_and_unreadable_v1_are_ignored() {
        let noisy = format!("t={T},v1=bad_signature,v1=,v0={EXPECTED_V1},x=1,v1={EXPECTED_V1}");
        assert_eq!(check(&noisy, BODY.as_bytes(), &[key(SECRET)], T), ok(0));
        // The right MAC under another scheme name must not count.
        let as_v0 = format!("t={T},v0={EXPECTED_V1}");
        assert_eq!(
            check(&as_v0, BODY.as_bytes(), &[key(SECRET)], T),
            Err(malformed(HEADER, "no well-formed signature"))
        );
        let short = format!("t={T},v1=deadbeef");
        assert_eq!(check(&short, BODY.as_bytes(), &[key(SECRET)], T), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn exactly_one_t_is_required() {
        let keys = [key(SECRET)];
        assert_eq!(
            check(&format!("v1={EXPECTED_V1}"), BODY.as_bytes(), &keys, T),
            Err(malformed(HEADER, "missing timestamp"))
        );
        assert_eq!(
            check(&format!("t={T},t={T},v1={EXPECTED_V1}"), BODY.as_bytes(), &keys, T),
            Err(malformed(HEADER, "more than one timestamp"))
        );
        assert_eq!(
            check(&format!("t={},v1={EXPECTED_V1},t={T}", T + 1), BODY.as_bytes(), &keys, T),
            Err(malformed(HEADER, "more than one timestamp"))
        );
    }

    #[test]
    fn malformed_headers() {
        let keys = [key(SECRET)];
        let cases = [
            ("", "item without '='"),
            ("v1,t=1", "item without '='"),
            (&*format!("t={T},v1={EXPECTED_V1},"), "item without '='"),
            ("t=", "timestamp is not decimal digits"),
            (&*format!("t=-{T},v1={EXPECTED_V1}"), "timestamp is not decimal digits"),
            (&*format!("t= {T},v1={EXPECTED_V1}"), "timestamp is not decimal digits"),
            ("t=99999999999999999999,v1=00", "timestamp out of range"),
            (&*format!("t={T}"), "no well-formed signature"),
            (&*format!("t={T},v1=zz"), "no well-formed signature"),
        ];
        for (value, reason) in cases {
            assert_eq!(check(value, BODY.as_bytes(), &keys, T), Err(malformed(HEADER, reason)), "{value:?}");
        }
    }

    #[test]
    fn missing_duplicate_and_non_ascii_header() {
        let keys = [key(SECRET)];
        assert_eq!(
            verify_with(&SCHEME, &headers(&[]), BODY.as_bytes(), &keys, T),
            Err(SignatureError::MissingHeader(HEADER))
        );
        let header = vector_header();
        let doubled = headers(&[("stripe-signature", &header), ("Stripe-Signature", &header)]);
        assert_eq!(
            verify_with(&SCHEME, &doubled, BODY.as_bytes(), &keys, T),
            Err(SignatureError::DuplicateHeader(HEADER))
        );
        let mut map = http::HeaderMap::new();
        map.insert(HEADER, HeaderValue::from_bytes(b"t=1,v1=\xe9").unwrap());
        assert_eq!(verify_with(&SCHEME, &map, BODY.as_bytes(), &keys, T), Err(malformed(HEADER, "not visible ASCII")));
    }

    #[test]
    fn timestamps_just_inside_and_just_outside_tolerance() {
        let keys = [key(SECRET)];
        let tol = TOLERANCE as i64;
        for now in [T - tol, T + tol] {
            assert_eq!(check(&vector_header(), BODY.as_bytes(), &keys, now), ok(0));
        }
        for now in [T - tol - 1, T + tol + 1] {
            assert_eq!(
                check(&vector_header(), BODY.as_bytes(), &keys, now),
                Err(SignatureError::TimestampOutsideTolerance { signed_at: T, now, tolerance_seconds: TOLERANCE })
            );
        }
        // Checked before the signatures: a stale header with no usable v1 is still stale.
        assert!(matches!(
            check(&format!("t={T}"), BODY.as_bytes(), &keys, T + 10_000),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn empty_and_non_utf8_bodies_round_trip() {
        let k = key(SECRET);
        for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8"] {
            let map = into_map(crate::signature::sign(&SCHEME, &k, body, T, "ignored"));
            assert_eq!(verify_with(&SCHEME, &map, body, std::slice::from_ref(&k), T), ok(0));
            assert_eq!(
                verify_with(&SCHEME, &map, b"x", std::slice::from_ref(&k), T),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(value in "[ -~]{0,200}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&value, &body, &[key(SECRET)], T);
        }

        #[test]
        fn arbitrary_structured_headers_never_panic(
            items in proptest::collection::vec(("(t|v1|v0|x)?", "[0-9a-fA-F=,]{0,70}"), 0..6),
        ) {
            let value = items.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let _ = check(&value, BODY.as_bytes(), &[key(SECRET)], T);
        }
    }
}
