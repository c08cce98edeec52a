//! Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 under the account's auth token over the
//! full URL Twilio requested, followed by each POST parameter's name and value, sorted by name
//! (<https://www.twilio.com/docs/usage/security#validating-requests>). A JSON body is not in
//! the signed string: the URL carries the body's SHA-256 (hex) in its `bodySHA256` query
//! parameter, which is signed, and the body is checked against it.
//!
//! The URL is the source's `public_url`, the one configured at Twilio (API Gateway's view of
//! the host can differ from the sender's, behind a custom domain), followed by the query string
//! as received. Twilio's SDKs accept the URL with and without the scheme's default port, since
//! Twilio's signing has not always written it the same way; so does this.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::hmac_sha256::{self, malformed, single_header};
use super::{HmacAlgorithm, SignatureError, SigningKey, Verified, VerifyRequest};

const SIGNATURE: &str = "x-twilio-signature";
/// The query parameter carrying a JSON body's SHA-256.
const BODY_SHA256: &str = "bodySHA256";

pub(super) fn verify(public_url: &str, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let signature = STANDARD.decode(signature).map_err(|_| malformed(SIGNATURE, "signature is not base64"))?;
    let url = full_url(public_url, request.query);
    let body_hash = body_sha256(request.query)?;
    let params = match body_hash {
        Some(_) => Vec::new(),
        None => sorted_params(request.body),
    };
    let key_index = [Some(url.as_str()), other_port_form(&url).as_deref()]
        .into_iter()
        .flatten()
        .find_map(|url| {
            hmac_sha256::find_matching_key_by(request.keys, std::slice::from_ref(&signature), |key| {
                hmac_sha256::compute_with(HmacAlgorithm::Sha1, key, &[url.as_bytes(), &params])
            })
        })
        .ok_or(SignatureError::NoMatchingSignature)?;
    // Checked once the URL verified, so an unsigned caller learns nothing from it.
    if let Some(expected) = body_hash
        && !bool::from(Sha256::digest(request.body).as_slice().ct_eq(&expected))
    {
        return Err(SignatureError::MalformedBody("the body is not the one the signed bodySHA256 names"));
    }
    Ok(Verified { key_index, signed_at: None })
}

/// Signs `body` as a form-encoded POST to `public_url` (no query): what the signing command
/// and tests send. A JSON body would need its hash in the URL, which a header cannot carry.
pub(super) fn sign(public_url: &str, key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac =
        hmac_sha256::compute_with(HmacAlgorithm::Sha1, key.as_bytes(), &[public_url.as_bytes(), &sorted_params(body)]);
    vec![(
        HeaderName::from_static(SIGNATURE),
        HeaderValue::from_str(&STANDARD.encode(mac)).expect("base64 is a header value"),
    )]
}

/// What a Twilio request is deduplicated on: the SHA-256 of what its signature covers beyond
/// the URL. For a form body that is its decoded, sorted parameters, not its bytes: a captured
/// request re-encoded (`%41` for `A`, the parameters reordered) still verifies and must still
/// be the same event. A JSON body is signed through its own SHA-256, so that is it.
pub(crate) fn replay_digest(query: &str, body: &[u8]) -> [u8; 32] {
    match body_sha256(query) {
        Ok(Some(_)) => Sha256::digest(body).into(),
        _ => Sha256::digest(sorted_params(body)).into(),
    }
}

fn full_url(public_url: &str, query: &str) -> String {
    if query.is_empty() { public_url.to_owned() } else { format!("{public_url}?{query}") }
}

/// The `bodySHA256` parameter of the query, decoded; refused when repeated or not 64 hex digits.
fn body_sha256(query: &str) -> Result<Option<[u8; 32]>, SignatureError> {
    let mut values = form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name == BODY_SHA256);
    let Some((_, value)) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(SignatureError::MalformedBody("bodySHA256 appears more than once in the URL"));
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(value.as_bytes(), &mut hash)
        .map_err(|_| SignatureError::MalformedBody("bodySHA256 in the URL is not 64 hex digits"))?;
    Ok(Some(hash))
}

/// The form parameters, decoded, sorted by name then value, each written as name then value.
/// A pair given twice counts once, as Twilio's Python SDK counts it.
fn sorted_params(body: &[u8]) -> Vec<u8> {
    let pairs: BTreeSet<_> = form_urlencoded::parse(body).collect();
    let mut out = Vec::with_capacity(body.len());
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// `url` with the default port removed when it names one explicitly (any port, as Twilio's
/// SDKs strip it), or added when it names none; `None` for a URL that is not http(s).
fn other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let (userinfo, host_port) = authority.split_at(host_start);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            return Some(format!("{scheme}://{userinfo}{host}{path}"));
        }
        _ => host_port,
    };
    Some(format!("{scheme}://{userinfo}{host}:{default_port}{path}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map};
    use crate::signature::{Scheme, UrlOptions};

    // Published vectors: twilio/twilio-python tests/unit/test_request_validator.py (auth
    // token "12345"; the same URL and parameters in Twilio's other SDKs' tests).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php";
    const QUERY: &str = "foo=1&bar=2";
    const PARAMS: &[u8] =
        b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    /// The same request's URL written with port 443 (test_validation_adds_port_on_https).
    const EXPECTED_WITH_443: &str = "kvajT1Ptam85bY51eRf/AJRuM3w=";
    /// `http://mycompany.com:80/...` (test_validation_adds_port_on_http).
    const EXPECTED_HTTP_80: &str = "0ZXoZLH/DfblKGATFgpif+LLRf4=";
    /// `http://mycompany.com:1234/...` (test_validation_removes_port_on_http).
    const EXPECTED_HTTP_1234: &str = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=";
    /// Sid=CA123, SidAccount=AC123, Digits=5678, Digits=1234
    /// (test_compute_signature_duplicate_multi_dict): a repeated name, its values sorted.
    const DUPLICATE_PARAMS: &[u8] = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234";
    const DUPLICATE_EXPECTED: &str = "IK+Dwps556ElfBT0I3Rgjkr1wJU=";
    /// A JSON body, its hash in the URL (test_validation_of_body_succeeds).
    const JSON_BODY: &[u8] = br#"{"property": "value", "boolean": true}"#;
    const JSON_QUERY: &str = "foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const JSON_EXPECTED: &str = "a9nBmqA0ju/hNViExpshrM61xv4=";

    fn scheme(url: &str) -> Scheme {
        Scheme::Twilio(UrlOptions { public_url: url.to_owned() })
    }

    fn key(token: &str) -> SigningKey {
        SigningKey::from_bytes(token.as_bytes())
    }

    fn check(url: &str, query: &str, signature: &str, body: &[u8]) -> Result<Verified, SignatureError> {
        let headers = headers(&[("X-Twilio-Signature", signature)]);
        let keys = [key("another-token"), key(TOKEN)];
        crate::signature::verify(
            &scheme(url),
            &VerifyRequest { headers: &headers, body, query, keys: &keys, tolerance_seconds: TOLERANCE, now_unix: 0 },
        )
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 1, signed_at: None });

    #[test]
    fn published_vectors_verify() {
        assert_eq!(check(URL, QUERY, EXPECTED, PARAMS), OK);
        assert_eq!(check(URL, QUERY, DUPLICATE_EXPECTED, DUPLICATE_PARAMS), OK);
        assert_eq!(check(URL, JSON_QUERY, JSON_EXPECTED, JSON_BODY), OK);
    }

    #[test]
    fn urls_with_and_without_the_default_port_verify_as_twilios_sdks_accept_them() {
        // Configured without a port: Twilio may have signed it with :443.
        assert_eq!(check(URL, QUERY, EXPECTED_WITH_443, PARAMS), OK);
        // Configured with a port: Twilio may have signed it without (test_validation_removes_port_on_https).
        assert_eq!(check("https://mycompany.com:1234/myapp.php", QUERY, EXPECTED, PARAMS), OK);
        assert_eq!(check("http://mycompany.com/myapp.php", QUERY, EXPECTED_HTTP_80, PARAMS), OK);
        assert_eq!(check("http://mycompany.com:1234/myapp.php", QUERY, EXPECTED_HTTP_1234, PARAMS), OK);
        assert_eq!(other_port_form("https://u:p@h.example/x?y").as_deref(), Some("https://u:p@h.example:443/x?y"));
        assert_eq!(other_port_form("https://h.example:8443").as_deref(), Some("https://h.example"));
        assert_eq!(other_port_form("ftp://h.example/"), None);
    }

    #[test]
    fn parameter_order_does_not_matter_and_encoding_is_decoded() {
        let reordered =
            b"To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=+14158675309&CallSid=CA1234567890ABCDE";
        // `+` in a form value is a space: `Caller=+1415...` is " 14158675309", not the vector.
        assert_eq!(check(URL, QUERY, EXPECTED, reordered), Err(SignatureError::NoMatchingSignature));
        let reordered =
            b"To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE";
        assert_eq!(check(URL, QUERY, EXPECTED, reordered), OK);
    }

    #[test]
    fn tampered_url_query_params_body_and_wrong_token_fail() {
        let fail = Err(SignatureError::NoMatchingSignature);
        assert_eq!(check("https://mycompany.com/other.php", QUERY, EXPECTED, PARAMS), fail);
        assert_eq!(check(URL, "foo=1&bar=3", EXPECTED, PARAMS), fail);
        assert_eq!(check(URL, "", EXPECTED, PARAMS), fail);
        assert_eq!(check(URL, QUERY, EXPECTED, b"CallSid=CA1234567890ABCDE&Digits=9"), fail);
        let only_other = [key("54321")];
        let headers = headers(&[("X-Twilio-Signature", EXPECTED)]);
        let request = VerifyRequest {
            headers: &headers,
            body: PARAMS,
            query: QUERY,
            keys: &only_other,
            tolerance_seconds: TOLERANCE,
            now_unix: 0,
        };
        assert_eq!(crate::signature::verify(&scheme(URL), &request), fail);
        // The JSON body is not the one the signed hash names.
        let tampered = br#"{"property": "value", "boolean": false}"#;
        assert_eq!(
            check(URL, JSON_QUERY, JSON_EXPECTED, tampered),
            Err(SignatureError::MalformedBody("the body is not the one the signed bodySHA256 names"))
        );
    }

    #[test]
    fn malformed_requests_are_refused_with_their_reason() {
        assert_eq!(check(URL, QUERY, "%%%", PARAMS), Err(malformed(SIGNATURE, "signature is not base64")));
        assert_eq!(
            check(URL, "bodySHA256=abc", JSON_EXPECTED, JSON_BODY),
            Err(SignatureError::MalformedBody("bodySHA256 in the URL is not 64 hex digits"))
        );
        let twice = format!("{JSON_QUERY}&bodySHA256=00");
        assert_eq!(
            check(URL, &twice, JSON_EXPECTED, JSON_BODY),
            Err(SignatureError::MalformedBody("bodySHA256 appears more than once in the URL"))
        );
        let none = headers(&[]);
        let keys = [key(TOKEN)];
        let request = VerifyRequest {
            headers: &none,
            body: PARAMS,
            query: QUERY,
            keys: &keys,
            tolerance_seconds: 1,
            now_unix: 0,
        };
        assert_eq!(crate::signature::verify(&scheme(URL), &request), Err(SignatureError::MissingHeader(SIGNATURE)));
    }

    #[test]
    fn what_sign_writes_verifies() {
        let signed = into_map(sign(URL, &key(TOKEN), PARAMS));
        let keys = [key(TOKEN)];
        let request =
            VerifyRequest { headers: &signed, body: PARAMS, query: "", keys: &keys, tolerance_seconds: 1, now_unix: 0 };
        assert_eq!(crate::signature::verify(&scheme(URL), &request).map(|v| v.key_index), Ok(0));
    }

    #[test]
    fn a_re_encoded_form_body_has_the_same_replay_digest_and_a_json_body_its_own_hash() {
        let reordered =
            b"To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA12345%367890ABCDE";
        assert_eq!(check(URL, QUERY, EXPECTED, reordered), OK, "%36 is 6: the same parameters");
        assert_eq!(replay_digest(QUERY, reordered), replay_digest(QUERY, PARAMS));
        assert_ne!(replay_digest(QUERY, PARAMS), replay_digest(QUERY, DUPLICATE_PARAMS));
        assert_eq!(replay_digest(JSON_QUERY, JSON_BODY), <[u8; 32]>::from(Sha256::digest(JSON_BODY)));
    }

    proptest! {
        #[test]
        fn arbitrary_requests_never_panic(sig in "[ -~]{0,40}", query in "[ -~]{0,60}", url in "[ -~]{0,40}",
                                          body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&url, &query, &sig, &body);
            let _ = other_port_form(&url);
        }
    }
}
