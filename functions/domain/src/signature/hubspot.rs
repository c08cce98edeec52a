//! HubSpot v3: `X-HubSpot-Signature-v3: <base64>`, HMAC-SHA256 under the app's client secret
//! over `{method}{uri}{body}{X-HubSpot-Request-Timestamp}`, the timestamp in milliseconds and
//! refused when more than the tolerance (HubSpot: 5 minutes) from now
//! (<https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation>).
//!
//! The URI is the source's `public_url` (the target URL configured at HubSpot) followed by the
//! query string as received, with the characters HubSpot lists decoded (`%3A` to `:`, `%2F` to
//! `/`, and so on). Only a POST reaches verification, so the method is `POST`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const SIGNATURE: &str = "x-hubspot-signature-v3";
pub(super) const TIMESTAMP: &str = "x-hubspot-request-timestamp";

/// The percent-encodings HubSpot decodes in the URI before signing, and what they decode to.
const DECODED: [(&str, &str); 12] = [
    ("%3A", ":"),
    ("%2F", "/"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%21", "!"),
    ("%24", "$"),
    ("%27", "'"),
    ("%28", "("),
    ("%29", ")"),
    ("%2A", "*"),
    ("%2C", ","),
    ("%3B", ";"),
];

pub(super) fn verify(public_url: &str, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let signature = STANDARD.decode(signature).map_err(|_| malformed(SIGNATURE, "signature is not base64"))?;
    let millis = single_header(request.headers, TIMESTAMP, TIMESTAMP)?;
    let signed_at = timestamp::parse(millis, TIMESTAMP)?.div_euclid(1000);
    timestamp::check_tolerance(signed_at, request.now_unix, request.tolerance_seconds)?;
    let uri = signed_uri(public_url, request.query);
    hmac_sha256::match_candidates(
        request.keys,
        &[b"POST", uri.as_bytes(), request.body, millis.as_bytes()],
        &[signature],
        Some(signed_at),
    )
}

pub(super) fn sign(public_url: &str, key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
    let millis = (now_unix * 1000).to_string();
    let uri = signed_uri(public_url, "");
    let mac = hmac_sha256::compute(key.as_bytes(), &[b"POST", uri.as_bytes(), body, millis.as_bytes()]);
    vec![
        (HeaderName::from_static(SIGNATURE), HeaderValue::from_str(&STANDARD.encode(mac)).expect("base64")),
        (HeaderName::from_static(TIMESTAMP), HeaderValue::from(now_unix * 1000)),
    ]
}

/// The URI as HubSpot signs it: the URL, the query as received, HubSpot's list decoded (in
/// either case of hex digit).
fn signed_uri(public_url: &str, query: &str) -> String {
    let mut uri = if query.is_empty() { public_url.to_owned() } else { format!("{public_url}?{query}") };
    if uri.contains('%') {
        for (encoded, decoded) in DECODED {
            uri = uri.replace(encoded, decoded).replace(&encoded.to_ascii_lowercase(), decoded);
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map};
    use crate::signature::{Scheme, UrlOptions};

    // Published vector: HubSpot/hubspot-api-python tests/spec/utils/test_signature.py
    // (test_get_signature__v3). Its timestamp, 15000000 ms, is checked against a clock set to it.
    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URL: &str = "https://www.example.com/webhook_uri";
    const BODY: &[u8] = b"{'example_field':'example_value'}";
    const MILLIS: &str = "15000000";
    const EXPECTED: &str = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=";
    const NOW: i64 = 15_000;

    fn scheme(url: &str) -> Scheme {
        Scheme::HubSpotV3(UrlOptions { public_url: url.to_owned() })
    }

    fn check(
        url: &str,
        query: &str,
        signature: &str,
        millis: &str,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Verified, SignatureError> {
        let headers = headers(&[("X-HubSpot-Signature-v3", signature), ("X-HubSpot-Request-Timestamp", millis)]);
        let keys = [SigningKey::from_bytes(b"another-client-secret"), SigningKey::from_bytes(SECRET.as_bytes())];
        crate::signature::verify(
            &scheme(url),
            &VerifyRequest { headers: &headers, body, query, keys: &keys, tolerance_seconds: TOLERANCE, now_unix },
        )
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 1, signed_at: Some(NOW) });

    #[test]
    fn the_published_vector_verifies_and_signs() {
        assert_eq!(check(URL, "", EXPECTED, MILLIS, BODY, NOW), OK);
        let signed = into_map(sign(URL, &SigningKey::from_bytes(SECRET.as_bytes()), BODY, NOW));
        assert_eq!(signed[SIGNATURE], EXPECTED);
        assert_eq!(signed[TIMESTAMP], MILLIS);
    }

    #[test]
    fn tampered_body_url_timestamp_or_signature_fail() {
        let fail = Err(SignatureError::NoMatchingSignature);
        assert_eq!(check(URL, "", EXPECTED, MILLIS, b"{'example_field':'other'}", NOW), fail);
        assert_eq!(check("https://www.example.com/other", "", EXPECTED, MILLIS, BODY, NOW), fail);
        assert_eq!(check(URL, "a=1", EXPECTED, MILLIS, BODY, NOW), fail);
        assert_eq!(check(URL, "", EXPECTED, "15000001", BODY, NOW), fail);
        assert_eq!(check(URL, "", "IPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", MILLIS, BODY, NOW), fail);
    }

    #[test]
    fn stale_future_and_malformed_timestamps_are_refused() {
        let stale = check(URL, "", EXPECTED, MILLIS, BODY, NOW + 301);
        assert!(matches!(stale, Err(SignatureError::TimestampOutsideTolerance { .. })), "{stale:?}");
        let future = check(URL, "", EXPECTED, MILLIS, BODY, NOW - 301);
        assert!(matches!(future, Err(SignatureError::TimestampOutsideTolerance { .. })), "{future:?}");
        assert_eq!(check(URL, "", EXPECTED, MILLIS, BODY, NOW + 300), OK);
        assert_eq!(
            check(URL, "", EXPECTED, "15e6", BODY, NOW),
            Err(malformed(TIMESTAMP, "timestamp is not decimal digits"))
        );
        assert_eq!(check(URL, "", "!!", MILLIS, BODY, NOW), Err(malformed(SIGNATURE, "signature is not base64")));
    }

    #[test]
    fn the_listed_encodings_are_decoded_in_the_uri_and_others_kept() {
        assert_eq!(
            signed_uri(URL, "next=%2Fa%3Fb%3ac&mail=x%40y.z&sp=%20"),
            "https://www.example.com/webhook_uri?next=/a?b:c&mail=x@y.z&sp=%20"
        );
        // What HubSpot signs with the decoded URI verifies with the query as received.
        let key = SigningKey::from_bytes(SECRET.as_bytes());
        let decoded = format!("{URL}?next=/a");
        let mac = hmac_sha256::compute(key.as_bytes(), &[b"POST", decoded.as_bytes(), BODY, MILLIS.as_bytes()]);
        assert_eq!(check(URL, "next=%2Fa", &STANDARD.encode(mac), MILLIS, BODY, NOW), OK);
    }

    proptest! {
        #[test]
        fn arbitrary_requests_never_panic(sig in "[ -~]{0,60}", millis in "[ -~]{0,20}", query in "[ -~]{0,40}",
                                          body in proptest::collection::vec(any::<u8>(), 0..64), now in any::<i64>()) {
            let _ = check(URL, &query, &sig, &millis, &body, now);
        }
    }
}
