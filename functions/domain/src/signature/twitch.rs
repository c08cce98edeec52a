//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, HMAC-SHA256 over
//! `{Twitch-Eventsub-Message-Id}{Twitch-Eventsub-Message-Timestamp}{body}`, the timestamp an
//! RFC 3339 time hashed exactly as sent
//! (<https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message>).
//! Twitch asks receivers to refuse messages older than 10 minutes: the scheme's default
//! tolerance.
//!
//! Twitch publishes no vector with its secret (the docs' signature is a truncated example);
//! the vector below is computed from the specification with Python's `hmac`.

use http::{HeaderName, HeaderValue};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

pub(crate) const MESSAGE_ID: &str = "twitch-eventsub-message-id";
const TIMESTAMP: &str = "twitch-eventsub-message-timestamp";
const SIGNATURE: &str = "twitch-eventsub-message-signature";
const PREFIX: &str = "sha256=";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let id = single_header(request.headers, MESSAGE_ID, MESSAGE_ID)?;
    let timestamp = single_header(request.headers, TIMESTAMP, TIMESTAMP)?;
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    if id.is_empty() {
        return Err(malformed(MESSAGE_ID, "empty"));
    }
    let signed_at = OffsetDateTime::parse(timestamp, &Rfc3339)
        .map_err(|_| malformed(TIMESTAMP, "timestamp is not an RFC 3339 time"))?
        .unix_timestamp();
    timestamp::check_tolerance(signed_at, request.now_unix, request.tolerance_seconds)?;
    let encoded = signature.strip_prefix(PREFIX).ok_or_else(|| malformed(SIGNATURE, "missing sha256= prefix"))?;
    let signature = hex::decode(encoded).map_err(|_| malformed(SIGNATURE, "signature is not hex"))?;
    let parts = [id.as_bytes(), timestamp.as_bytes(), request.body];
    hmac_sha256::match_candidates(request.keys, &parts, &[signature], Some(signed_at))
}

/// No headers when `message_id` is empty or not visible ASCII (it could never verify).
pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64, message_id: &str) -> Vec<(HeaderName, HeaderValue)> {
    let Ok(id) = HeaderValue::from_str(message_id) else {
        return Vec::new();
    };
    let Ok(time) = OffsetDateTime::from_unix_timestamp(now_unix) else {
        return Vec::new();
    };
    let Ok(timestamp) = time.format(&Rfc3339) else {
        return Vec::new();
    };
    if message_id.is_empty() || id.to_str().is_err() {
        return Vec::new();
    }
    let mac = hmac_sha256::compute(key.as_bytes(), &[message_id.as_bytes(), timestamp.as_bytes(), body]);
    let (Ok(timestamp), Ok(signature)) =
        (HeaderValue::from_str(&timestamp), HeaderValue::from_str(&format!("{PREFIX}{}", hex::encode(mac))))
    else {
        return Vec::new();
    };
    vec![
        (HeaderName::from_static(MESSAGE_ID), id),
        (HeaderName::from_static(TIMESTAMP), timestamp),
        (HeaderName::from_static(SIGNATURE), signature),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{assert_bit_flip_rejected, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::Twitch;
    // Computed from the specification (see the module documentation): python3
    // hmac.new(SECRET, ID + TS + BODY, hashlib.sha256).hexdigest(); the id and the timestamp's
    // shape (nanoseconds) are the docs' example headers.
    const SECRET: &str = "hookline-twitch-secret";
    const ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
    const TS: &str = "2019-11-16T10:11:12.634234626Z";
    const TS_UNIX: i64 = 1_573_899_072;
    const BODY: &[u8] = br#"{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled"},"event":{"user_id":"1234","user_login":"cool_user","broadcaster_user_id":"1337"}}"#;
    const EXPECTED: &str = "sha256=f89526e84e747f18d386abe78c05abe1a6fc767c698c271b0cc85b52f3fd472b";
    /// Twitch's 10 minutes.
    const TOLERANCE: u64 = 600;

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn twitch(id: &str, ts: &str, signature: &str) -> http::HeaderMap {
        headers(&[
            ("Twitch-Eventsub-Message-Id", id),
            ("Twitch-Eventsub-Message-Timestamp", ts),
            ("Twitch-Eventsub-Message-Signature", signature),
        ])
    }

    fn check(map: &http::HeaderMap, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        let request =
            VerifyRequest { headers: map, body, query: "", keys, tolerance_seconds: TOLERANCE, now_unix: now };
        crate::signature::verify(&SCHEME, &request)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: Some(TS_UNIX) });

    #[test]
    fn the_computed_vector_verifies_with_the_timestamp_hashed_as_sent() {
        assert_eq!(check(&twitch(ID, TS, EXPECTED), BODY, &[key(SECRET)], TS_UNIX), OK);
        // The same instant written another way is not what was signed.
        assert_eq!(
            check(&twitch(ID, "2019-11-16T10:11:12.634234626+00:00", EXPECTED), BODY, &[key(SECRET)], TS_UNIX),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn tampered_id_body_key_fail() {
        let keys = [key(SECRET)];
        assert_eq!(
            check(&twitch("other", TS, EXPECTED), BODY, &keys, TS_UNIX),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(check(&twitch(ID, TS, EXPECTED), b"{}", &keys, TS_UNIX), Err(SignatureError::NoMatchingSignature));
        assert_eq!(
            check(&twitch(ID, TS, EXPECTED), BODY, &[key("x")], TS_UNIX),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn ten_minutes_either_way() {
        let keys = [key(SECRET)];
        let map = twitch(ID, TS, EXPECTED);
        assert_eq!(check(&map, BODY, &keys, TS_UNIX + 600), OK);
        assert!(matches!(
            check(&map, BODY, &keys, TS_UNIX + 601),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
        assert!(matches!(
            check(&map, BODY, &keys, TS_UNIX - 601),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn malformed_headers() {
        let keys = [key(SECRET)];
        for (map, error) in [
            (twitch(ID, "1573899072", EXPECTED), malformed(TIMESTAMP, "timestamp is not an RFC 3339 time")),
            (twitch(ID, TS, &EXPECTED[7..]), malformed(SIGNATURE, "missing sha256= prefix")),
            (twitch(ID, TS, "sha256=nothex"), malformed(SIGNATURE, "signature is not hex")),
            (twitch("", TS, EXPECTED), malformed(MESSAGE_ID, "empty")),
            (headers(&[("Twitch-Eventsub-Message-Id", ID)]), SignatureError::MissingHeader(TIMESTAMP)),
        ] {
            assert_eq!(check(&map, BODY, &keys, TS_UNIX), Err(error));
        }
    }

    #[test]
    fn sign_round_trips_and_refuses_ids_that_cannot_verify() {
        let k = key(SECRET);
        let map = into_map(sign(&k, BODY, TS_UNIX, ID));
        assert_eq!(map[TIMESTAMP], "2019-11-16T10:11:12Z");
        assert_eq!(check(&map, BODY, std::slice::from_ref(&k), TS_UNIX), OK);
        assert!(sign(&k, BODY, TS_UNIX, "").is_empty());
        assert!(sign(&k, BODY, TS_UNIX, "a\nb").is_empty());
    }

    proptest! {
        #[test]
        fn flipping_any_body_bit_fails(
            body in proptest::collection::vec(any::<u8>(), 1..300),
            bit in any::<proptest::sample::Index>(),
        ) {
            let bit = bit.index(body.len() * 8);
            assert_bit_flip_rejected(&SCHEME, &key(SECRET), &body, bit);
        }

        #[test]
        fn arbitrary_headers_never_panic(id in "[ -~]{0,40}", ts in "[ -~]{0,40}", sig in "[ -~]{0,100}") {
            let _ = check(&twitch(&id, &ts, &sig), BODY, &[key(SECRET)], TS_UNIX);
            let _ = verify_with(&SCHEME, &twitch(&id, &ts, &sig), BODY, &[key(SECRET)], TS_UNIX);
        }
    }
}
