//! Square: `x-square-hmacsha256-signature: <base64>`, HMAC-SHA256 over the subscription's
//! notification URL followed by the body
//! (<https://developer.squareup.com/docs/webhooks/step3validate>). The URL is the one
//! configured in Square's dashboard, configured per source: API Gateway's view of the host
//! can differ from the sender's (a custom domain).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest};

const SIGNATURE: &str = "x-square-hmacsha256-signature";

pub(super) fn verify(notification_url: &str, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let signature = STANDARD.decode(signature).map_err(|_| malformed(SIGNATURE, "signature is not base64"))?;
    hmac_sha256::match_candidates(request.keys, &[notification_url.as_bytes(), request.body], &[signature], None)
}

pub(super) fn sign(notification_url: &str, key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac = hmac_sha256::compute(key.as_bytes(), &[notification_url.as_bytes(), body]);
    vec![(
        HeaderName::from_static(SIGNATURE),
        HeaderValue::from_str(&STANDARD.encode(mac)).expect("base64 is a header value"),
    )]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::hmac_sha256::test_support::{headers, into_map, verify_with};
    use crate::signature::{Scheme, SquareOptions};

    // Published vector: square/square-nodejs-sdk test/utilities/webhooksHelper.test.ts and
    // square/square-python-sdk tests/utilities/test_webhooks_helper.py (the same in Square's
    // other SDKs). The key is used as the string it is, not base64-decoded.
    const KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    const BODY: &[u8] = br#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const EXPECTED: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    // Published vector: square-nodejs-sdk, the same file: raw `>` and `<` are signed as they are.
    const NODE_KEY: &str = "signature-key";
    const NODE_URL: &str = "https://webhook.site/webhooks";
    const NODE_BODY: &[u8] = br#"{"data":{"type":"webhooks","id":">id<"}}"#;
    const NODE_EXPECTED: &str = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=";

    fn scheme(url: &str) -> Scheme {
        Scheme::Square(SquareOptions { notification_url: url.to_owned() })
    }

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&scheme(URL), secret).unwrap()
    }

    fn check(url: &str, signature: &str, body: &[u8], keys: &[SigningKey]) -> Result<Verified, SignatureError> {
        verify_with(&scheme(url), &headers(&[("X-Square-HmacSha256-Signature", signature)]), body, keys, 0)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: None });

    #[test]
    fn published_vectors_verify_and_sign() {
        assert_eq!(check(URL, EXPECTED, BODY, &[key(KEY)]), OK);
        assert_eq!(check(NODE_URL, NODE_EXPECTED, NODE_BODY, &[key(NODE_KEY)]), OK);
        assert_eq!(into_map(sign(URL, &key(KEY), BODY))[SIGNATURE], EXPECTED);
    }

    #[test]
    fn the_sdks_negative_cases_fail() {
        let fail = Err(SignatureError::NoMatchingSignature);
        // Another URL, another key, another signature, another body, a pretty-printed body.
        assert_eq!(
            check("https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", EXPECTED, BODY, &[key(KEY)]),
            fail
        );
        assert_eq!(check(URL, EXPECTED, BODY, &[key("MCmhFRxGX82xMwg5FsaoQA")]), fail);
        assert_eq!(check(URL, "1z2n3DEJJiUPKcPzQo1ftvbxGdw=", BODY, &[key(KEY)]), fail);
        let other = String::from_utf8(BODY.to_vec()).unwrap().replace("2022-07-13", "2022-06-13");
        assert_eq!(check(URL, EXPECTED, other.as_bytes(), &[key(KEY)]), fail);
        let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(BODY).unwrap()).unwrap();
        assert_eq!(check(URL, EXPECTED, &pretty, &[key(KEY)]), fail);
        assert_eq!(check(URL, "%%%", BODY, &[key(KEY)]), Err(malformed(SIGNATURE, "signature is not base64")));
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(sig in "[ -~]{0,100}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(URL, &sig, &body, &[key(KEY)]);
        }
    }
}
