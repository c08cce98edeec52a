//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the body alone.
//!
//! Nothing in the signed content is time-bound, so replays are only stopped downstream by
//! the delivery id.

use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest};

const HEADER: &str = "x-hub-signature-256";
const PREFIX: &str = "sha256=";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let value = single_header(request.headers, HEADER, HEADER)?;
    let encoded = value.strip_prefix(PREFIX).ok_or_else(|| malformed(HEADER, "missing sha256= prefix"))?;
    let signature = hex::decode(encoded).map_err(|_| malformed(HEADER, "signature is not hex"))?;
    hmac_sha256::match_candidates(request.keys, &[request.body], &[signature], None)
}

pub(super) fn sign(key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac = hmac_sha256::compute(key.as_bytes(), &[body]);
    let Ok(value) = HeaderValue::from_str(&format!("{PREFIX}{}", hex::encode(mac))) else {
        return Vec::new();
    };
    vec![(HeaderName::from_static(HEADER), value)]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::GitHub;
    const NOW: i64 = 1_700_000_000;

    // Published vector: "Testing the webhook payload validation" in
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const EXPECTED: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(value: &str, body: &[u8], keys: &[SigningKey]) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("X-Hub-Signature-256", value)]), body, keys, NOW)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: None });

    #[test]
    fn published_vector_signs_and_verifies() {
        assert_eq!(into_map(sign(&key(SECRET), BODY))[HEADER], EXPECTED);
        assert_eq!(check(EXPECTED, BODY, &[key(SECRET)]), OK);
    }

    #[test]
    fn time_plays_no_part() {
        let map = headers(&[(HEADER, EXPECTED)]);
        for now in [i64::MIN, 0, NOW, i64::MAX] {
            assert_eq!(verify_with(&SCHEME, &map, BODY, &[key(SECRET)], now), OK);
        }
    }

    #[test]
    fn tampered_body_and_wrong_secret_fail() {
        assert_eq!(check(EXPECTED, b"Hello, World?", &[key(SECRET)]), Err(SignatureError::NoMatchingSignature));
        assert_eq!(check(EXPECTED, b"", &[key(SECRET)]), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            check(EXPECTED, BODY, &[key("It's a secret to everybody")]),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn rotated_secret_reports_the_key_that_matched() {
        assert_eq!(
            check(EXPECTED, BODY, &[key("new secret"), key(SECRET)]),
            Ok(Verified { key_index: 1, signed_at: None })
        );
    }

    #[test]
    fn uppercase_hex_digits_are_accepted() {
        let upper = format!("sha256={}", EXPECTED[PREFIX.len()..].to_uppercase());
        assert_eq!(check(&upper, BODY, &[key(SECRET)]), OK);
    }

    #[test]
    fn malformed_headers() {
        let hex_part = &EXPECTED[PREFIX.len()..];
        let cases = [
            (hex_part, "missing sha256= prefix"),
            (&*format!("SHA256={hex_part}"), "missing sha256= prefix"),
            (&*format!("sha1={hex_part}"), "missing sha256= prefix"),
            (&*format!(" sha256={hex_part}"), "missing sha256= prefix"),
            ("", "missing sha256= prefix"),
            (&*format!("sha256={hex_part}0"), "signature is not hex"),
            (&*format!("sha256={hex_part} "), "signature is not hex"),
            ("sha256=zz", "signature is not hex"),
        ];
        for (value, reason) in cases {
            assert_eq!(check(value, BODY, &[key(SECRET)]), Err(malformed(HEADER, reason)), "{value:?}");
        }
        // Well-formed hex of the wrong length simply does not match.
        assert_eq!(check("sha256=", BODY, &[key(SECRET)]), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            check(&EXPECTED[..EXPECTED.len() - 2], BODY, &[key(SECRET)]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(check(&format!("{EXPECTED}00"), BODY, &[key(SECRET)]), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn missing_duplicate_and_non_ascii_header() {
        let keys = [key(SECRET)];
        assert_eq!(verify_with(&SCHEME, &headers(&[]), BODY, &keys, NOW), Err(SignatureError::MissingHeader(HEADER)));
        // The legacy SHA-1 header is not a substitute.
        let legacy = headers(&[("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")]);
        assert_eq!(verify_with(&SCHEME, &legacy, BODY, &keys, NOW), Err(SignatureError::MissingHeader(HEADER)));
        let doubled = headers(&[(HEADER, EXPECTED), ("X-Hub-Signature-256", EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &doubled, BODY, &keys, NOW), Err(SignatureError::DuplicateHeader(HEADER)));
        let mut map = http::HeaderMap::new();
        map.insert(HEADER, HeaderValue::from_bytes(b"sha256=\x80").unwrap());
        assert_eq!(verify_with(&SCHEME, &map, BODY, &keys, NOW), Err(malformed(HEADER, "not visible ASCII")));
    }

    #[test]
    fn empty_and_non_utf8_bodies_round_trip() {
        let k = key(SECRET);
        for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8"] {
            let map = into_map(crate::signature::sign(&SCHEME, &k, body, NOW, "ignored"));
            assert_eq!(verify_with(&SCHEME, &map, body, std::slice::from_ref(&k), NOW), OK);
            assert_eq!(
                verify_with(&SCHEME, &map, b"x", std::slice::from_ref(&k), NOW),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(value in "(sha256=)?[ -~]{0,100}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&value, &body, &[key(SECRET)]);
        }
    }
}
