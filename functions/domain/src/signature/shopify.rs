//! Shopify: `X-Shopify-Hmac-Sha256: <base64>`, an HMAC-SHA256 of the body alone.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest};

const HEADER: &str = "x-shopify-hmac-sha256";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let value = single_header(request.headers, HEADER, HEADER)?;
    let signature = STANDARD.decode(value).map_err(|_| malformed(HEADER, "signature is not base64"))?;
    hmac_sha256::match_candidates(request.keys, &[request.body], &[signature], None)
}

pub(super) fn sign(key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac = hmac_sha256::compute(key.as_bytes(), &[body]);
    let Ok(value) = HeaderValue::from_str(&STANDARD.encode(mac)) else {
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

    const SCHEME: Scheme = Scheme::Shopify;
    const NOW: i64 = 1_700_000_000;

    // Vector from Shopify's official library: Shopify/shopify-app-js,
    // packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts ("returns true for
    // valid request"), with apiSecretKey from packages/apps/shopify-api/lib/__tests__/test-config.ts.
    const SECRET: &str = "test_secret_key";
    const BODY: &[u8] = br#"{"foo": "bar"}"#;
    const EXPECTED: &str = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(value: &str, body: &[u8], keys: &[SigningKey]) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("X-Shopify-Hmac-Sha256", value)]), body, keys, NOW)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: None });

    #[test]
    fn published_vector_signs_and_verifies() {
        assert_eq!(into_map(sign(&key(SECRET), BODY))[HEADER], EXPECTED);
        assert_eq!(check(EXPECTED, BODY, &[key(SECRET)]), OK);
        // Shopify documents the name as X-Shopify-Hmac-SHA256; case does not matter.
        let map = headers(&[("X-Shopify-Hmac-SHA256", EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &map, BODY, &[key(SECRET)], NOW), OK);
    }

    #[test]
    fn tampered_body_and_wrong_secret_fail() {
        assert_eq!(check(EXPECTED, br#"{"foo":"bar"}"#, &[key(SECRET)]), Err(SignatureError::NoMatchingSignature));
        assert_eq!(check(EXPECTED, BODY, &[key("test_secret_key2")]), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn rotated_secret_reports_the_key_that_matched() {
        assert_eq!(check(EXPECTED, BODY, &[key("new"), key(SECRET)]), Ok(Verified { key_index: 1, signed_at: None }));
    }

    #[test]
    fn malformed_headers() {
        let cases = [
            "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g",
            "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g= ",
            " B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
            "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=\t",
            "B23tXN681gZ0qIWNRrgt_BE9XSDo5yaUu6wfmhu3a7g=",
            "sha256=B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
            "not base64!",
        ];
        for value in cases {
            assert_eq!(
                check(value, BODY, &[key(SECRET)]),
                Err(malformed(HEADER, "signature is not base64")),
                "{value:?}"
            );
        }
        // Valid base64 of the wrong length simply does not match.
        for value in ["", "AAAA", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7gA"] {
            assert_eq!(check(value, BODY, &[key(SECRET)]), Err(SignatureError::NoMatchingSignature), "{value:?}");
        }
    }

    #[test]
    fn missing_duplicate_and_non_ascii_header() {
        let keys = [key(SECRET)];
        assert_eq!(verify_with(&SCHEME, &headers(&[]), BODY, &keys, NOW), Err(SignatureError::MissingHeader(HEADER)));
        let doubled = headers(&[(HEADER, EXPECTED), (HEADER, EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &doubled, BODY, &keys, NOW), Err(SignatureError::DuplicateHeader(HEADER)));
        let mut map = http::HeaderMap::new();
        map.insert(HEADER, HeaderValue::from_bytes(b"\xfe\xff").unwrap());
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
        fn arbitrary_headers_never_panic(value in "[ -~]{0,100}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&value, &body, &[key(SECRET)]);
        }
    }
}
