//! Any sender that puts an HMAC of the body (SHA-256, or SHA-1: `hmac_sha1`) in one header,
//! hex or base64, optionally behind a literal prefix such as `sha256=`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{GenericHmacOptions, SignatureEncoding, SignatureError, SigningKey, Verified, VerifyRequest};

/// Stands in for the header name in errors: the name comes from configuration and is not
/// `'static`, and the source's configuration says which header it is.
const LABEL: &str = "configured signature header";

pub(super) fn verify(options: &GenericHmacOptions, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let value = single_header(request.headers, &options.header, LABEL)?;
    let encoded = match &options.prefix {
        Some(prefix) => {
            value.strip_prefix(prefix.as_str()).ok_or_else(|| malformed(LABEL, "missing configured prefix"))?
        }
        None => value,
    };
    let signature = match options.encoding {
        // Hex digits of either case decode.
        SignatureEncoding::Hex => hex::decode(encoded).map_err(|_| malformed(LABEL, "signature is not hex"))?,
        SignatureEncoding::Base64 => {
            STANDARD.decode(encoded).map_err(|_| malformed(LABEL, "signature is not base64"))?
        }
    };
    hmac_sha256::find_matching_key_by(request.keys, &[signature], |key| {
        hmac_sha256::compute_with(options.algorithm, key, &[request.body])
    })
    .map(|key_index| Verified { key_index, signed_at: None })
    .ok_or(SignatureError::NoMatchingSignature)
}

/// No headers when the configured prefix is not visible ASCII: [`verify`] could never
/// accept the result.
pub(super) fn sign(options: &GenericHmacOptions, key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac = hmac_sha256::compute_with(options.algorithm, key.as_bytes(), &[body]);
    let encoded = match options.encoding {
        SignatureEncoding::Hex => hex::encode(mac),
        SignatureEncoding::Base64 => STANDARD.encode(mac),
    };
    let prefix = options.prefix.as_deref().unwrap_or("");
    let Ok(value) = HeaderValue::from_str(&format!("{prefix}{encoded}")) else {
        return Vec::new();
    };
    if value.to_str().is_err() {
        return Vec::new();
    }
    vec![(options.header.clone(), value)]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::hmac_sha256::test_support::{assert_bit_flip_rejected, headers, into_map, verify_with};
    use crate::signature::{HmacAlgorithm, Scheme};

    const NOW: i64 = 1_700_000_000;

    // GitHub's published vector (docs.github.com, "Validating webhook deliveries"), reused
    // because the generic scheme configured as `X-Hub-Signature-256`, hex, `sha256=` must
    // agree with it byte for byte.
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    // The same MAC in base64, from python3:
    //   base64.b64encode(bytes.fromhex("757107ea...8b043e17")).decode()
    const BASE64: &str = "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc=";

    fn scheme(header: &str, encoding: SignatureEncoding, prefix: Option<&str>) -> Scheme {
        Scheme::Hmac(GenericHmacOptions {
            algorithm: HmacAlgorithm::Sha256,
            header: HeaderName::from_bytes(header.as_bytes()).unwrap(),
            encoding,
            prefix: prefix.map(str::to_owned),
        })
    }

    fn github_like() -> Scheme {
        scheme("X-Hub-Signature-256", SignatureEncoding::Hex, Some("sha256="))
    }

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&github_like(), secret).unwrap()
    }

    fn check(
        scheme: &Scheme,
        header: &str,
        value: &str,
        body: &[u8],
        keys: &[SigningKey],
    ) -> Result<Verified, SignatureError> {
        verify_with(scheme, &headers(&[(header, value)]), body, keys, NOW)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: None });

    #[test]
    fn agrees_with_githubs_published_vector() {
        let s = github_like();
        let value = format!("sha256={HEX}");
        assert_eq!(check(&s, "x-hub-signature-256", &value, BODY, &[key(SECRET)]), OK);
        let signed = into_map(crate::signature::sign(&s, &key(SECRET), BODY, NOW, "ignored"));
        assert_eq!(signed["x-hub-signature-256"], value.as_str());
    }

    // Published vectors: octokit/webhooks-methods.js (GitHub's own library), README.md and
    // test/sign.test.ts: secret "mysecret", payload JSON.stringify({foo: "bar"}).
    const OCTOKIT_SECRET: &str = "mysecret";
    const OCTOKIT_BODY: &[u8] = br#"{"foo":"bar"}"#;
    const OCTOKIT_SHA1: &str = "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8";
    const OCTOKIT_SHA256: &str = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3";

    fn x_hub_signature() -> Scheme {
        Scheme::Hmac(GenericHmacOptions {
            algorithm: HmacAlgorithm::Sha1,
            header: HeaderName::from_static("x-hub-signature"),
            encoding: SignatureEncoding::Hex,
            prefix: Some("sha1=".into()),
        })
    }

    #[test]
    fn sha1_agrees_with_octokits_published_vectors() {
        let sha1 = x_hub_signature();
        let k = SigningKey::from_config(&sha1, OCTOKIT_SECRET).unwrap();
        assert_eq!(check(&sha1, "X-Hub-Signature", OCTOKIT_SHA1, OCTOKIT_BODY, std::slice::from_ref(&k)), OK);
        let signed = into_map(crate::signature::sign(&sha1, &k, OCTOKIT_BODY, NOW, "ignored"));
        assert_eq!(signed["x-hub-signature"], OCTOKIT_SHA1);
        assert_eq!(sha1.name(), "hmac_sha1");

        let sha256 = github_like();
        assert_eq!(check(&sha256, "x-hub-signature-256", OCTOKIT_SHA256, OCTOKIT_BODY, std::slice::from_ref(&k)), OK);
        assert_eq!(sha256.name(), "hmac_sha256");
    }

    #[test]
    fn sha1_refuses_tampering_a_sha256_mac_and_a_wrong_key() {
        let sha1 = x_hub_signature();
        let k = SigningKey::from_config(&sha1, OCTOKIT_SECRET).unwrap();
        let keys = std::slice::from_ref(&k);
        assert_eq!(
            check(&sha1, "x-hub-signature", OCTOKIT_SHA1, br#"{"foo":"baz"}"#, keys),
            Err(SignatureError::NoMatchingSignature)
        );
        let wrong = SigningKey::from_config(&sha1, "not-my-secret").unwrap();
        assert_eq!(
            check(&sha1, "x-hub-signature", OCTOKIT_SHA1, OCTOKIT_BODY, &[wrong]),
            Err(SignatureError::NoMatchingSignature)
        );
        // A SHA-256 MAC under the sha1= prefix is the wrong length: never a match.
        let sha256_hex = OCTOKIT_SHA256.replacen("sha256=", "sha1=", 1);
        assert_eq!(
            check(&sha1, "x-hub-signature", &sha256_hex, OCTOKIT_BODY, keys),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&sha1, "x-hub-signature", "sha256=d03207e4b030cf234e3447bac4d93add4c6643d8", OCTOKIT_BODY, keys),
            Err(malformed(LABEL, "missing configured prefix"))
        );
    }

    #[test]
    fn hex_without_prefix_any_case() {
        let s = scheme("X-Signature", SignatureEncoding::Hex, None);
        assert_eq!(check(&s, "x-signature", HEX, BODY, &[key(SECRET)]), OK);
        assert_eq!(check(&s, "X-SIGNATURE", &HEX.to_uppercase(), BODY, &[key(SECRET)]), OK);
        let mixed: String =
            HEX.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
        assert_eq!(check(&s, "x-signature", &mixed, BODY, &[key(SECRET)]), OK);
    }

    #[test]
    fn base64_with_and_without_prefix() {
        let plain = scheme("x-signature", SignatureEncoding::Base64, None);
        assert_eq!(check(&plain, "x-signature", BASE64, BODY, &[key(SECRET)]), OK);
        let prefixed = scheme("x-signature", SignatureEncoding::Base64, Some("hmac-sha256 "));
        assert_eq!(check(&prefixed, "x-signature", &format!("hmac-sha256 {BASE64}"), BODY, &[key(SECRET)]), OK);
        let signed = into_map(crate::signature::sign(&prefixed, &key(SECRET), BODY, NOW, ""));
        assert_eq!(signed["x-signature"], format!("hmac-sha256 {BASE64}").as_str());
    }

    #[test]
    fn configured_prefix_is_required() {
        let s = github_like();
        for value in [HEX.to_string(), format!("sha1={HEX}"), format!("SHA256={HEX}"), String::new()] {
            assert_eq!(
                check(&s, "x-hub-signature-256", &value, BODY, &[key(SECRET)]),
                Err(malformed(LABEL, "missing configured prefix")),
                "{value:?}"
            );
        }
        // Without a configured prefix, a prefix in the header is just bad encoding.
        let bare = scheme("x-hub-signature-256", SignatureEncoding::Hex, None);
        assert_eq!(
            check(&bare, "x-hub-signature-256", &format!("sha256={HEX}"), BODY, &[key(SECRET)]),
            Err(malformed(LABEL, "signature is not hex"))
        );
    }

    #[test]
    fn encoding_is_not_guessed() {
        let hex_scheme = scheme("x-signature", SignatureEncoding::Hex, None);
        assert_eq!(
            check(&hex_scheme, "x-signature", BASE64, BODY, &[key(SECRET)]),
            Err(malformed(LABEL, "signature is not hex"))
        );
        let b64_scheme = scheme("x-signature", SignatureEncoding::Base64, None);
        // 64 hex digits are valid base64 too, but decode to 48 bytes that cannot match.
        assert_eq!(
            check(&b64_scheme, "x-signature", HEX, BODY, &[key(SECRET)]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&b64_scheme, "x-signature", "dXEH6g6yUJ_CESIczphLijdXC211hsIsRvQ3nIsEPhc=", BODY, &[key(SECRET)]),
            Err(malformed(LABEL, "signature is not base64"))
        );
    }

    #[test]
    fn tampered_body_wrong_secret_and_rotation() {
        let s = github_like();
        let value = format!("sha256={HEX}");
        assert_eq!(
            check(&s, "x-hub-signature-256", &value, b"Hello, World", &[key(SECRET)]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&s, "x-hub-signature-256", &value, BODY, &[key("wrong")]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&s, "x-hub-signature-256", &value, BODY, &[key("new"), key(SECRET)]),
            Ok(Verified { key_index: 1, signed_at: None })
        );
    }

    #[test]
    fn missing_duplicate_and_non_ascii_header() {
        let s = github_like();
        let keys = [key(SECRET)];
        let value = format!("sha256={HEX}");
        // Another scheme's header is not the configured one.
        let other = headers(&[("x-signature", &value)]);
        assert_eq!(verify_with(&s, &other, BODY, &keys, NOW), Err(SignatureError::MissingHeader(LABEL)));
        let doubled = headers(&[("x-hub-signature-256", &value), ("X-Hub-Signature-256", &value)]);
        assert_eq!(verify_with(&s, &doubled, BODY, &keys, NOW), Err(SignatureError::DuplicateHeader(LABEL)));
        let mut map = http::HeaderMap::new();
        map.insert("x-hub-signature-256", HeaderValue::from_bytes(b"sha256=\xaa").unwrap());
        assert_eq!(verify_with(&s, &map, BODY, &keys, NOW), Err(malformed(LABEL, "not visible ASCII")));
    }

    #[test]
    fn wrong_length_signatures_do_not_match() {
        let s = scheme("x-signature", SignatureEncoding::Hex, None);
        for value in ["", "00", &HEX[..62], &format!("{HEX}00")] {
            assert_eq!(
                check(&s, "x-signature", value, BODY, &[key(SECRET)]),
                Err(SignatureError::NoMatchingSignature),
                "{value:?}"
            );
        }
    }

    #[test]
    fn empty_and_non_utf8_bodies_round_trip_in_every_shape() {
        let k = key(SECRET);
        let shapes = [
            scheme("x-signature", SignatureEncoding::Hex, None),
            scheme("x-signature", SignatureEncoding::Hex, Some("sha256=")),
            scheme("x-signature", SignatureEncoding::Base64, None),
            scheme("x-signature", SignatureEncoding::Base64, Some("v1,")),
            scheme("x-signature", SignatureEncoding::Base64, Some("")),
        ];
        for s in &shapes {
            for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8"] {
                let map = into_map(crate::signature::sign(s, &k, body, NOW, "ignored"));
                assert_eq!(verify_with(s, &map, body, std::slice::from_ref(&k), NOW), OK);
                assert_eq!(
                    verify_with(s, &map, b"x", std::slice::from_ref(&k), NOW),
                    Err(SignatureError::NoMatchingSignature)
                );
            }
        }
    }

    #[test]
    fn sign_with_an_unusable_prefix_produces_nothing() {
        for prefix in ["bad\nprefix", "pr\u{e9}fix"] {
            let s = scheme("x-signature", SignatureEncoding::Hex, Some(prefix));
            assert!(crate::signature::sign(&s, &key(SECRET), BODY, NOW, "").is_empty());
        }
    }

    proptest! {
        #[test]
        fn flipping_any_body_bit_fails(
            body in proptest::collection::vec(any::<u8>(), 1..300),
            bit in any::<proptest::sample::Index>(),
            base64 in any::<bool>(),
        ) {
            let encoding = if base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex };
            let bit = bit.index(body.len() * 8);
            assert_bit_flip_rejected(&scheme("x-signature", encoding, Some("sha256=")), &key(SECRET), &body, bit);
        }

        #[test]
        fn arbitrary_headers_never_panic(
            value in "[ -~]{0,120}",
            prefix in proptest::option::of("[ -~]{0,8}"),
            base64 in any::<bool>(),
        ) {
            let encoding = if base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex };
            let s = scheme("x-signature", encoding, prefix.as_deref());
            let _ = check(&s, "x-signature", &value, BODY, &[key(SECRET)]);
        }
    }
}
