//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`.

use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const TIMESTAMP: &str = "x-slack-request-timestamp";
const SIGNATURE: &str = "x-slack-signature";
const PREFIX: &str = "v0=";

/// Slack's `v0` format under the names of its two headers; Zoom uses it too.
pub(super) struct V0 {
    pub timestamp: &'static str,
    pub signature: &'static str,
}

const SLACK: V0 = V0 { timestamp: TIMESTAMP, signature: SIGNATURE };

impl V0 {
    pub(super) fn verify(&self, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
        let timestamp = single_header(request.headers, self.timestamp, self.timestamp)?;
        let signature = single_header(request.headers, self.signature, self.signature)?;
        let signed_at = timestamp::parse_within_tolerance(timestamp, self.timestamp, request)?;
        let encoded = signature.strip_prefix(PREFIX).ok_or_else(|| malformed(self.signature, "missing v0= prefix"))?;
        let signature = hex::decode(encoded).map_err(|_| malformed(self.signature, "signature is not hex"))?;
        let parts = [b"v0:", timestamp.as_bytes(), b":", request.body];
        hmac_sha256::match_candidates(request.keys, &parts, &[signature], Some(signed_at))
    }

    pub(super) fn sign(&self, key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
        let timestamp = now_unix.to_string();
        let mac = hmac_sha256::compute(key.as_bytes(), &[b"v0:", timestamp.as_bytes(), b":", body]);
        let Ok(signature) = HeaderValue::from_str(&format!("{PREFIX}{}", hex::encode(mac))) else {
            return Vec::new();
        };
        vec![
            (HeaderName::from_static(self.timestamp), HeaderValue::from(now_unix)),
            (HeaderName::from_static(self.signature), signature),
        ]
    }
}

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    SLACK.verify(request)
}

pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
    SLACK.sign(key, body, now_unix)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::Slack;

    // Published vector: the step-by-step walk-through in Slack's "Verifying requests from
    // Slack" (https://docs.slack.dev/authentication/verifying-requests-from-slack, formerly
    // https://api.slack.com/authentication/verifying-requests-from-slack), as reproduced in
    // slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: i64 = 1_531_420_618;
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn slack_headers(ts: &str, signature: &str) -> http::HeaderMap {
        headers(&[("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", signature)])
    }

    fn check(
        ts: &str,
        signature: &str,
        body: &[u8],
        keys: &[SigningKey],
        now: i64,
    ) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &slack_headers(ts, signature), body, keys, now)
    }

    fn ok(key_index: usize) -> Result<Verified, SignatureError> {
        Ok(Verified { key_index, signed_at: Some(TS) })
    }

    #[test]
    fn published_vector_signs_and_verifies() {
        let signed = into_map(sign(&key(SECRET), BODY, TS));
        assert_eq!(signed[SIGNATURE], EXPECTED);
        assert_eq!(signed[TIMESTAMP], "1531420618");
        assert_eq!(check("1531420618", EXPECTED, BODY, &[key(SECRET)], TS), ok(0));
    }

    #[test]
    fn tampered_body_timestamp_and_wrong_secret_fail() {
        let mut tampered = BODY.to_vec();
        tampered.extend_from_slice(b"------");
        assert_eq!(
            check("1531420618", EXPECTED, &tampered, &[key(SECRET)], TS),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(check("1531420618", EXPECTED, BODY, &[key("bogus")], TS), Err(SignatureError::NoMatchingSignature));
        assert_eq!(check("1531420619", EXPECTED, BODY, &[key(SECRET)], TS), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn rotated_secret_reports_the_key_that_matched() {
        assert_eq!(check("1531420618", EXPECTED, BODY, &[key("newer"), key(SECRET)], TS), ok(1));
    }

    #[test]
    fn uppercase_hex_digits_are_accepted() {
        let upper = format!("v0={}", EXPECTED[PREFIX.len()..].to_uppercase());
        assert_eq!(check("1531420618", &upper, BODY, &[key(SECRET)], TS), ok(0));
    }

    #[test]
    fn timestamps_just_inside_and_just_outside_tolerance() {
        let keys = [key(SECRET)];
        let tol = TOLERANCE as i64;
        for now in [TS - tol, TS + tol] {
            assert_eq!(check("1531420618", EXPECTED, BODY, &keys, now), ok(0));
        }
        for now in [TS - tol - 1, TS + tol + 1] {
            assert_eq!(
                check("1531420618", EXPECTED, BODY, &keys, now),
                Err(SignatureError::TimestampOutsideTolerance { signed_at: TS, now, tolerance_seconds: TOLERANCE })
            );
        }
        // Checked before the signature is even parsed.
        assert!(matches!(
            check("1531420618", "garbage", BODY, &keys, TS + 10_000),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn malformed_headers() {
        let keys = [key(SECRET)];
        let hex_part = &EXPECTED[PREFIX.len()..];
        let signature_cases = [
            (hex_part, "missing v0= prefix"),
            (&*format!("v1={hex_part}"), "missing v0= prefix"),
            (&*format!("V0={hex_part}"), "missing v0= prefix"),
            ("", "missing v0= prefix"),
            (&*format!("v0={hex_part}a"), "signature is not hex"),
            ("v0=not-hex", "signature is not hex"),
        ];
        for (value, reason) in signature_cases {
            assert_eq!(check("1531420618", value, BODY, &keys, TS), Err(malformed(SIGNATURE, reason)), "{value:?}");
        }
        assert_eq!(check("1531420618", "v0=abcd", BODY, &keys, TS), Err(SignatureError::NoMatchingSignature));
        for ts in ["", "-1531420618", "1531420618.5", " 1531420618", "now"] {
            assert_eq!(
                check(ts, EXPECTED, BODY, &keys, TS),
                Err(malformed(TIMESTAMP, "timestamp is not decimal digits")),
                "{ts:?}"
            );
        }
        assert_eq!(
            check("18446744073709551616", EXPECTED, BODY, &keys, TS),
            Err(malformed(TIMESTAMP, "timestamp out of range"))
        );
    }

    #[test]
    fn missing_duplicate_and_non_ascii_headers() {
        let keys = [key(SECRET)];
        let only_sig = headers(&[(SIGNATURE, EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &only_sig, BODY, &keys, TS), Err(SignatureError::MissingHeader(TIMESTAMP)));
        let only_ts = headers(&[(TIMESTAMP, "1531420618")]);
        assert_eq!(verify_with(&SCHEME, &only_ts, BODY, &keys, TS), Err(SignatureError::MissingHeader(SIGNATURE)));
        let two_ts = headers(&[(TIMESTAMP, "1531420618"), (TIMESTAMP, "1531420618"), (SIGNATURE, EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &two_ts, BODY, &keys, TS), Err(SignatureError::DuplicateHeader(TIMESTAMP)));
        let two_sigs = headers(&[(TIMESTAMP, "1531420618"), (SIGNATURE, EXPECTED), (SIGNATURE, EXPECTED)]);
        assert_eq!(verify_with(&SCHEME, &two_sigs, BODY, &keys, TS), Err(SignatureError::DuplicateHeader(SIGNATURE)));
        let mut map = slack_headers("1531420618", EXPECTED);
        map.insert(TIMESTAMP, HeaderValue::from_bytes(b"153142061\xb8").unwrap());
        assert_eq!(verify_with(&SCHEME, &map, BODY, &keys, TS), Err(malformed(TIMESTAMP, "not visible ASCII")));
    }

    #[test]
    fn empty_and_non_utf8_bodies_round_trip() {
        let k = key(SECRET);
        for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8"] {
            let map = into_map(crate::signature::sign(&SCHEME, &k, body, TS, "ignored"));
            assert_eq!(verify_with(&SCHEME, &map, body, std::slice::from_ref(&k), TS), ok(0));
            assert_eq!(
                verify_with(&SCHEME, &map, b"x", std::slice::from_ref(&k), TS),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }

    // Body bit flips: tests/properties_signatures.rs, for every scheme `sign` can sign.
    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(
            ts in "[ -~]{0,25}",
            signature in "(v0=)?[ -~]{0,100}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = check(&ts, &signature, &body, &[key(SECRET)], TS);
        }
    }
}
