//! Standard Webhooks (<https://www.standardwebhooks.com>).
//!
//! Signed content is `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` is a
//! space-separated list of `version,signature` entries: `v1` (base64 HMAC-SHA256 under a
//! `whsec_` secret) and `v1a` (base64 Ed25519 under a `whpk_` public key, checked with
//! `verify_strict`). A source may list secrets and public keys together, and a sender may list
//! both kinds of entries; each entry is checked only against keys of its kind.
//!
//! Svix, the scheme's origin, sends the same three headers as `svix-id`, `svix-timestamp` and
//! `svix-signature` on its default tier (Clerk and Resend among its senders), with the same
//! content and the same `whsec_` keys; its libraries read either set. A request carrying
//! headers of both sets is refused: which set was signed would be the verifier's guess, and a
//! second set is what someone replaying a captured delivery under a new id would add.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const V1: &str = "v1,";
const V1A: &str = "v1a,";

/// The names under which a sender puts the three headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderNames {
    pub id: &'static str,
    pub timestamp: &'static str,
    pub signature: &'static str,
}

/// The specification's names.
pub const WEBHOOK: HeaderNames =
    HeaderNames { id: "webhook-id", timestamp: "webhook-timestamp", signature: "webhook-signature" };
/// Svix's branded names.
pub const SVIX: HeaderNames = HeaderNames { id: "svix-id", timestamp: "svix-timestamp", signature: "svix-signature" };

impl HeaderNames {
    fn any_present(&self, headers: &HeaderMap) -> bool {
        [self.id, self.timestamp, self.signature].iter().any(|name| headers.contains_key(*name))
    }
}

/// Which set of names `headers` uses: Svix's when only Svix's are present, the
/// specification's otherwise (so a request with neither is told the specification's header
/// is missing), and an error when headers of both sets are present.
pub fn header_names(headers: &HeaderMap) -> Result<HeaderNames, SignatureError> {
    match (WEBHOOK.any_present(headers), SVIX.any_present(headers)) {
        (true, true) => Err(SignatureError::AmbiguousHeaders),
        (false, true) => Ok(SVIX),
        _ => Ok(WEBHOOK),
    }
}

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let names = header_names(request.headers)?;
    let id = single_header(request.headers, names.id, names.id)?;
    let timestamp = single_header(request.headers, names.timestamp, names.timestamp)?;
    let signature = single_header(request.headers, names.signature, names.signature)?;
    if id.is_empty() {
        return Err(malformed(names.id, "empty"));
    }
    let signed_at = timestamp::parse_within_tolerance(timestamp, names.timestamp, request)?;

    // Entries of other versions and entries that do not decode are skipped: a sender rotating
    // keys or adding schemes may list several, and one bad entry must not hide a good one.
    let mut macs = Vec::new();
    let mut signatures = Vec::new();
    for entry in signature.split(' ') {
        if let Some(encoded) = entry.strip_prefix(V1).filter(|e| !e.is_empty()) {
            macs.extend(STANDARD.decode(encoded).ok());
        } else if let Some(encoded) = entry.strip_prefix(V1A) {
            let decoded = STANDARD.decode(encoded).ok();
            signatures.extend(decoded.and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok()));
        }
    }
    if macs.is_empty() && signatures.is_empty() {
        return Err(malformed(names.signature, "no well-formed v1 or v1a signature"));
    }
    let parts = [id.as_bytes(), b".", timestamp.as_bytes(), b".", request.body];
    let by_mac = hmac_sha256::find_matching_key(request.keys, &parts, &macs);
    let by_signature = if signatures.is_empty() {
        None
    } else {
        let message = parts.concat();
        request.keys.iter().position(|key| {
            key.ed25519_verifying()
                .is_some_and(|public| signatures.iter().any(|s| public.verify_strict(&message, s).is_ok()))
        })
    };
    // The first key in the list that matched, whichever kind it is.
    by_mac
        .into_iter()
        .chain(by_signature)
        .min()
        .map(|key_index| Verified { key_index, signed_at: Some(signed_at) })
        .ok_or(SignatureError::NoMatchingSignature)
}

/// No headers when `message_id` is empty or not visible ASCII: [`verify`] would refuse
/// such an id, so signing it would only produce a request that can never be accepted.
pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64, message_id: &str) -> Vec<(HeaderName, HeaderValue)> {
    let Ok(id) = HeaderValue::from_str(message_id) else {
        return Vec::new();
    };
    if message_id.is_empty() || id.to_str().is_err() {
        return Vec::new();
    }
    let timestamp = now_unix.to_string();
    let parts = [message_id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    let signature = match key.ed25519_signing() {
        Some(signing) => {
            use ed25519_dalek::Signer;
            format!("{V1A}{}", STANDARD.encode(signing.sign(&parts.concat()).to_bytes()))
        }
        None if key.is_secret() => format!("{V1}{}", STANDARD.encode(hmac_sha256::compute(key.as_bytes(), &parts))),
        None => return Vec::new(),
    };
    let Ok(signature) = HeaderValue::from_str(&signature) else {
        return Vec::new();
    };
    vec![
        (HeaderName::from_static(WEBHOOK.id), id),
        (HeaderName::from_static(WEBHOOK.timestamp), HeaderValue::from(now_unix)),
        (HeaderName::from_static(WEBHOOK.signature), signature),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::StandardWebhooks;
    const ID: &str = WEBHOOK.id;
    const TIMESTAMP: &str = WEBHOOK.timestamp;
    const SIGNATURE: &str = WEBHOOK.signature;

    // Published vector: standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
    // (TestWebhookSign).
    const GO_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const GO_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const GO_TS: i64 = 1_614_265_330;
    const GO_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const GO_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    // Published vector: standard-webhooks/standard-webhooks, libraries/rust/src/lib.rs
    // (test_sign).
    const RUST_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const RUST_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const RUST_TS: i64 = 1_649_367_553;
    const RUST_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const RUST_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    // A well-formed v1 entry that matches nothing, from the same Go test file.
    const JUNK_V1: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn go_headers(signature: &str) -> http::HeaderMap {
        headers(&[(ID, GO_ID), (TIMESTAMP, &GO_TS.to_string()), (SIGNATURE, signature)])
    }

    fn check(map: &http::HeaderMap, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, map, body, keys, now)
    }

    fn ok(key_index: usize, ts: i64) -> Result<Verified, SignatureError> {
        Ok(Verified { key_index, signed_at: Some(ts) })
    }

    #[test]
    fn published_vectors_sign_as_published() {
        let signed = into_map(sign(&key(GO_SECRET), GO_BODY, GO_TS, GO_ID));
        assert_eq!(signed[SIGNATURE], GO_SIGNATURE);
        assert_eq!(signed[ID], GO_ID);
        assert_eq!(signed[TIMESTAMP], "1614265330");

        let signed = into_map(sign(&key(RUST_SECRET), RUST_BODY, RUST_TS, RUST_ID));
        assert_eq!(signed[SIGNATURE], RUST_SIGNATURE);
    }

    #[test]
    fn published_vectors_verify() {
        assert_eq!(check(&go_headers(GO_SIGNATURE), GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));

        let map = headers(&[(ID, RUST_ID), (TIMESTAMP, &RUST_TS.to_string()), (SIGNATURE, RUST_SIGNATURE)]);
        assert_eq!(check(&map, RUST_BODY, &[key(RUST_SECRET)], RUST_TS), ok(0, RUST_TS));
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let map =
            headers(&[("Webhook-Id", GO_ID), ("WEBHOOK-TIMESTAMP", "1614265330"), ("Webhook-Signature", GO_SIGNATURE)]);
        assert_eq!(check(&map, GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));
    }

    #[test]
    fn tampered_body_wrong_secret_and_tampered_metadata_fail() {
        let keys = [key(GO_SECRET)];
        let map = go_headers(GO_SIGNATURE);
        assert_eq!(check(&map, br#"{"test": 2432232315}"#, &keys, GO_TS), Err(SignatureError::NoMatchingSignature));
        assert_eq!(check(&map, GO_BODY, &[key(RUST_SECRET)], GO_TS), Err(SignatureError::NoMatchingSignature));
        let other_id = headers(&[(ID, "msg_other"), (TIMESTAMP, "1614265330"), (SIGNATURE, GO_SIGNATURE)]);
        assert_eq!(check(&other_id, GO_BODY, &keys, GO_TS), Err(SignatureError::NoMatchingSignature));
        let other_ts = headers(&[(ID, GO_ID), (TIMESTAMP, "1614265331"), (SIGNATURE, GO_SIGNATURE)]);
        assert_eq!(check(&other_ts, GO_BODY, &keys, GO_TS), Err(SignatureError::NoMatchingSignature));
    }

    // Published vector: standard-webhooks/standard-webhooks libraries/go/webhook_asymmetric_test.go
    // (TestAsymmetricWebhookSign), the Go vector's id, timestamp and body signed with Ed25519.
    const V1A_EXPECTED: &str =
        "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";

    #[test]
    fn the_published_v1a_vector_signs_and_verifies() {
        use crate::signature::key::tests::{V1A_PUBLIC_KEY, V1A_SIGNING_KEY};
        let signing = key(V1A_SIGNING_KEY);
        let public = key(V1A_PUBLIC_KEY);
        assert_eq!(into_map(sign(&signing, GO_BODY, GO_TS, GO_ID))[SIGNATURE], V1A_EXPECTED);
        assert_eq!(check(&go_headers(V1A_EXPECTED), GO_BODY, std::slice::from_ref(&public), GO_TS), ok(0, GO_TS));
        assert_eq!(
            check(&go_headers(V1A_EXPECTED), b"{\"test\": 2432232315}", std::slice::from_ref(&public), GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
        // Mixed lists both ways: a v1 entry and a v1a entry, a secret and a public key.
        let both = format!("{GO_SIGNATURE} {V1A_EXPECTED}");
        assert_eq!(check(&go_headers(&both), GO_BODY, &[public.clone(), key(GO_SECRET)], GO_TS), ok(0, GO_TS));
        assert_eq!(check(&go_headers(&both), GO_BODY, &[key(RUST_SECRET), key(GO_SECRET)], GO_TS), ok(1, GO_TS));
        assert_eq!(check(&go_headers(V1A_EXPECTED), GO_BODY, &[key(GO_SECRET), public], GO_TS), ok(1, GO_TS));
        // A v1a signature is never checked against a secret, nor a v1 MAC against a public key.
        assert_eq!(
            check(&go_headers(V1A_EXPECTED), GO_BODY, &[key(GO_SECRET)], GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&go_headers(GO_SIGNATURE), GO_BODY, &[key(V1A_PUBLIC_KEY)], GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    fn svix(signature: &str) -> http::HeaderMap {
        headers(&[(SVIX.id, GO_ID), (SVIX.timestamp, &GO_TS.to_string()), (SVIX.signature, signature)])
    }

    #[test]
    fn svix_branded_headers_carry_the_same_signature() {
        assert_eq!(check(&svix(GO_SIGNATURE), GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));
        let map = headers(&[("Svix-Id", GO_ID), ("Svix-Timestamp", "1614265330"), ("Svix-Signature", GO_SIGNATURE)]);
        assert_eq!(check(&map, GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));
        assert_eq!(
            check(&svix(GO_SIGNATURE), b"{}", &[key(GO_SECRET)], GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(header_names(&svix(GO_SIGNATURE)), Ok(SVIX));
        assert_eq!(header_names(&go_headers(GO_SIGNATURE)), Ok(WEBHOOK));
        assert_eq!(header_names(&http::HeaderMap::new()), Ok(WEBHOOK));
    }

    #[test]
    fn a_missing_svix_header_is_named_as_svix_names_it() {
        let keys = [key(GO_SECRET)];
        let map = headers(&[(SVIX.id, GO_ID), (SVIX.signature, GO_SIGNATURE)]);
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS), Err(SignatureError::MissingHeader("svix-timestamp")));
        let map = headers(&[(SVIX.id, ""), (SVIX.timestamp, "1614265330"), (SVIX.signature, GO_SIGNATURE)]);
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS), Err(malformed("svix-id", "empty")));
    }

    #[test]
    fn headers_of_both_sets_are_ambiguous_even_when_each_would_verify() {
        let keys = [key(GO_SECRET)];
        let mut both = go_headers(GO_SIGNATURE);
        both.extend(svix(GO_SIGNATURE));
        assert_eq!(check(&both, GO_BODY, &keys, GO_TS), Err(SignatureError::AmbiguousHeaders));
        // One stray header of the other set is enough: it is what a replay under a new id adds.
        let mut stray = go_headers(GO_SIGNATURE);
        stray.insert(SVIX.id, HeaderValue::from_static("msg_replayed"));
        assert_eq!(check(&stray, GO_BODY, &keys, GO_TS), Err(SignatureError::AmbiguousHeaders));
        let mut stray = svix(GO_SIGNATURE);
        stray.insert(TIMESTAMP, HeaderValue::from_static("1614265330"));
        assert_eq!(check(&stray, GO_BODY, &keys, GO_TS), Err(SignatureError::AmbiguousHeaders));
        assert_eq!(SignatureError::AmbiguousHeaders.reason(), "ambiguous_headers");
    }

    #[test]
    fn rotated_secret_reports_the_key_that_matched() {
        let keys = [key(RUST_SECRET), key(GO_SECRET)];
        assert_eq!(check(&go_headers(GO_SIGNATURE), GO_BODY, &keys, GO_TS), ok(1, GO_TS));
    }

    #[test]
    fn a_later_signature_in_the_list_may_match() {
        let listed = format!("{JUNK_V1} v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {GO_SIGNATURE} {JUNK_V1}");
        assert_eq!(check(&go_headers(&listed), GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));

        let only_junk = format!("{JUNK_V1} {JUNK_V1}");
        assert_eq!(
            check(&go_headers(&only_junk), GO_BODY, &[key(GO_SECRET)], GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn other_versions_and_malformed_entries_are_skipped() {
        // The v1a entry is the asymmetric example from the spec's "Webhook headers" section;
        // its bytes happen to be valid base64 of the wrong length for an HMAC.
        let v1a = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
        let listed = format!("{v1a} v1,not*base64 v1, v1 ,x  {GO_SIGNATURE}");
        assert_eq!(check(&go_headers(&listed), GO_BODY, &[key(GO_SECRET)], GO_TS), ok(0, GO_TS));

        // The MAC itself under another version label must not count.
        let relabelled = GO_SIGNATURE.replacen("v1,", "v1a,", 1);
        assert_eq!(
            check(&go_headers(&relabelled), GO_BODY, &[key(GO_SECRET)], GO_TS),
            Err(malformed(SIGNATURE, "no well-formed v1 or v1a signature"))
        );
        // A v1 entry of the wrong length is well-formed but cannot match.
        assert_eq!(
            check(&go_headers("v1,AAAA"), GO_BODY, &[key(GO_SECRET)], GO_TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn malformed_signature_headers() {
        for bad in ["", " ", "v1", "v1,", "v1,%%%", "v2,abc", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="] {
            assert_eq!(
                check(&go_headers(bad), GO_BODY, &[key(GO_SECRET)], GO_TS),
                Err(malformed(SIGNATURE, "no well-formed v1 or v1a signature")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timestamps_just_inside_and_just_outside_tolerance() {
        let keys = [key(GO_SECRET)];
        let map = go_headers(GO_SIGNATURE);
        let tol = TOLERANCE as i64;
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS + tol), ok(0, GO_TS));
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS - tol), ok(0, GO_TS));
        for now in [GO_TS + tol + 1, GO_TS - tol - 1] {
            assert_eq!(
                check(&map, GO_BODY, &keys, now),
                Err(SignatureError::TimestampOutsideTolerance { signed_at: GO_TS, now, tolerance_seconds: TOLERANCE })
            );
        }
    }

    #[test]
    fn stale_timestamp_is_reported_even_with_a_bad_signature() {
        // Tolerance is checked before any MAC is computed.
        let map = go_headers(JUNK_V1);
        assert!(matches!(
            check(&map, GO_BODY, &[key(GO_SECRET)], GO_TS + 10_000),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn missing_duplicate_and_malformed_headers() {
        let keys = [key(GO_SECRET)];
        let ts = GO_TS.to_string();
        let all = [(ID, GO_ID), (TIMESTAMP, ts.as_str()), (SIGNATURE, GO_SIGNATURE)];
        for name in [ID, TIMESTAMP, SIGNATURE] {
            let without: Vec<_> = all.iter().copied().filter(|(n, _)| *n != name).collect();
            assert_eq!(check(&headers(&without), GO_BODY, &keys, GO_TS), Err(SignatureError::MissingHeader(name)));
            let mut doubled = all.to_vec();
            doubled.push(*all.iter().find(|(n, _)| *n == name).unwrap());
            assert_eq!(check(&headers(&doubled), GO_BODY, &keys, GO_TS), Err(SignatureError::DuplicateHeader(name)));
        }
        for bad_ts in ["", "-1614265330", "+1614265330", " 1614265330", "1614265330.0", "soon"] {
            let map = headers(&[(ID, GO_ID), (TIMESTAMP, bad_ts), (SIGNATURE, GO_SIGNATURE)]);
            assert_eq!(
                check(&map, GO_BODY, &keys, GO_TS),
                Err(malformed(TIMESTAMP, "timestamp is not decimal digits")),
                "{bad_ts:?}"
            );
        }
        let map = headers(&[(ID, ""), (TIMESTAMP, &ts), (SIGNATURE, GO_SIGNATURE)]);
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS), Err(malformed(ID, "empty")));

        let mut map = go_headers(GO_SIGNATURE);
        map.insert(ID, HeaderValue::from_bytes(b"msg_\xff").unwrap());
        assert_eq!(check(&map, GO_BODY, &keys, GO_TS), Err(malformed(ID, "not visible ASCII")));
    }

    #[test]
    fn empty_and_non_utf8_bodies_round_trip() {
        let k = key(GO_SECRET);
        for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8", b"\x00"] {
            let map = into_map(sign(&k, body, GO_TS, GO_ID));
            assert_eq!(check(&map, body, std::slice::from_ref(&k), GO_TS), ok(0, GO_TS));
            assert_eq!(
                check(&map, b"something else", std::slice::from_ref(&k), GO_TS),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }

    #[test]
    fn sign_refuses_ids_that_cannot_verify() {
        let k = key(GO_SECRET);
        assert!(sign(&k, GO_BODY, GO_TS, "").is_empty());
        assert!(sign(&k, GO_BODY, GO_TS, "msg\n1").is_empty());
        assert!(sign(&k, GO_BODY, GO_TS, "msg\u{e9}").is_empty());
    }

    #[test]
    fn round_trip_through_dispatch() {
        let k = key(GO_SECRET);
        let map = into_map(crate::signature::sign(&SCHEME, &k, b"payload", 1_700_000_000, "msg_1"));
        assert_eq!(check(&map, b"payload", &[k], 1_700_000_000), ok(0, 1_700_000_000));
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(
            id in "[ -~]{0,40}",
            ts in "[ -~]{0,25}",
            sig in "[ -~]{0,200}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
            svix_names in any::<bool>(),
        ) {
            let names = if svix_names { SVIX } else { WEBHOOK };
            let map = headers(&[(names.id, &id), (names.timestamp, &ts), (names.signature, &sig)]);
            let _ = check(&map, &body, &[key(GO_SECRET)], GO_TS);
        }
    }
}
