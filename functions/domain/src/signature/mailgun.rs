//! Mailgun: the JSON body's `signature` object, `{"timestamp": "<unix>", "token": "<random>",
//! "signature": "<hex>"}`, the hex HMAC-SHA256 under the domain's webhook signing key of
//! `{timestamp}{token}`, with the timestamp within the tolerance
//! (<https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks>).
//!
//! Mailgun's signature covers the timestamp and the token only, not `event-data`: within the
//! tolerance, whoever holds one delivery can send other event data under its signature, so the
//! event data is as trustworthy as the transport and the tolerance is the replay window. The
//! event id is `event-data.id`, Mailgun's id of the event (the same on every attempt), else
//! the token. The README says so. Mailgun's legacy form-encoded webhooks are not read.

use serde::Deserialize;

use super::hmac_sha256::{self};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

/// The part of a Mailgun body that is signed.
#[derive(Deserialize)]
pub(crate) struct Signed {
    pub timestamp: String,
    pub token: String,
    pub signature: String,
}

#[derive(Deserialize)]
pub(crate) struct Body {
    pub signature: Signed,
    #[serde(rename = "event-data")]
    pub event_data: Option<EventData>,
}

#[derive(Deserialize)]
pub(crate) struct EventData {
    pub event: Option<String>,
    pub id: Option<String>,
}

impl Body {
    /// Mailgun's event id, else the signed token.
    pub(crate) fn event_id(&self) -> &str {
        self.event_data.as_ref().and_then(|data| data.id.as_deref()).unwrap_or(&self.signature.token)
    }
}

pub(crate) fn read(body: &[u8]) -> Option<Body> {
    serde_json::from_slice(body).ok()
}

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let body =
        read(request.body).ok_or(SignatureError::MalformedBody("not a Mailgun webhook with a signature object"))?;
    let Signed { timestamp, token, signature } = body.signature;
    let signed_at = timestamp::parse(&timestamp, "signature.timestamp")
        .map_err(|_| SignatureError::MalformedBody("signature.timestamp is not a Unix time in decimal digits"))?;
    timestamp::check_tolerance(signed_at, request.now_unix, request.tolerance_seconds)?;
    let signature =
        hex::decode(signature).map_err(|_| SignatureError::MalformedBody("signature.signature is not hex"))?;
    hmac_sha256::match_candidates(
        request.keys,
        &[timestamp.as_bytes(), token.as_bytes()],
        &[signature],
        Some(signed_at),
    )
}

/// `body` with its `signature` object's `timestamp` set to `now_unix` and its `signature`
/// computed under `key` (the token as it is): what Mailgun would send. `None` when the body is
/// not a JSON object with a `signature` object holding a string `token`.
pub(super) fn sign_body(key: &SigningKey, body: &[u8], now_unix: i64) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let signed = value.get_mut("signature")?.as_object_mut()?;
    let token = signed.get("token")?.as_str()?.to_owned();
    let timestamp = now_unix.to_string();
    let mac = hmac_sha256::compute(key.as_bytes(), &[timestamp.as_bytes(), token.as_bytes()]);
    signed.insert("timestamp".into(), timestamp.into());
    signed.insert("signature".into(), hex::encode(mac).into());
    serde_json::to_vec(&value).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers};

    // Published vector: mailgun/mailgun-php tests/Api/WebhookTest.php (testVerifyWebhookGood).
    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const TIMESTAMP: i64 = 1_403_645_220;
    const TOKEN: &str = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6";
    const SIGNATURE: &str = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33";

    fn body(timestamp: &str, token: &str, signature: &str) -> Vec<u8> {
        format!(
            r#"{{"signature":{{"timestamp":"{timestamp}","token":"{token}","signature":"{signature}"}},"event-data":{{"event":"delivered"}}}}"#
        )
        .into_bytes()
    }

    fn check(body: &[u8], now_unix: i64) -> Result<Verified, SignatureError> {
        let keys = [SigningKey::from_bytes(b"key-another"), SigningKey::from_bytes(KEY.as_bytes())];
        let headers = headers(&[]);
        crate::signature::verify(
            &Scheme::Mailgun,
            &VerifyRequest { headers: &headers, body, query: "", keys: &keys, tolerance_seconds: TOLERANCE, now_unix },
        )
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 1, signed_at: Some(TIMESTAMP) });

    #[test]
    fn the_published_vector_verifies() {
        assert_eq!(check(&body("1403645220", TOKEN, SIGNATURE), TIMESTAMP), OK);
        // The PHP SDK's bad case: another signature.
        let bad = body("1403645220", TOKEN, &SIGNATURE.replace("9cfc", "9cfd"));
        assert_eq!(check(&bad, TIMESTAMP), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn tampered_token_timestamp_wrong_key_stale_and_malformed_fail() {
        let fail = Err(SignatureError::NoMatchingSignature);
        assert_eq!(check(&body("1403645220", &TOKEN.replace('5', "6"), SIGNATURE), TIMESTAMP), fail);
        assert_eq!(check(&body("1403645221", TOKEN, SIGNATURE), TIMESTAMP), fail);
        let only_other = [SigningKey::from_bytes(b"key-another")];
        let (headers, good) = (headers(&[]), body("1403645220", TOKEN, SIGNATURE));
        let request = VerifyRequest {
            headers: &headers,
            body: &good,
            query: "",
            keys: &only_other,
            tolerance_seconds: TOLERANCE,
            now_unix: TIMESTAMP,
        };
        assert_eq!(crate::signature::verify(&Scheme::Mailgun, &request), fail);
        for now in [TIMESTAMP + 301, TIMESTAMP - 301] {
            let outside = check(&good, now);
            assert!(matches!(outside, Err(SignatureError::TimestampOutsideTolerance { .. })), "{outside:?}");
        }
        for malformed in [
            b"[]".to_vec(),
            b"{}".to_vec(),
            br#"{"signature":{"timestamp":1403645220,"token":"t","signature":"00"}}"#.to_vec(),
            body("-1", TOKEN, SIGNATURE),
            body("1403645220", TOKEN, "zz"),
            b"not json".to_vec(),
        ] {
            let refused = check(&malformed, TIMESTAMP);
            assert!(matches!(refused, Err(SignatureError::MalformedBody(_))), "{refused:?}");
        }
    }

    #[test]
    fn the_event_data_is_not_signed() {
        // Mailgun's design, pinned so that the README's warning stays true.
        let other = String::from_utf8(body("1403645220", TOKEN, SIGNATURE)).unwrap().replace("delivered", "failed");
        assert_eq!(check(other.as_bytes(), TIMESTAMP), OK);
        assert_eq!(read(other.as_bytes()).unwrap().event_data.unwrap().event.as_deref(), Some("failed"));
        assert_eq!(read(other.as_bytes()).unwrap().event_id(), TOKEN, "no event-data.id: the token");
    }

    #[test]
    fn a_signed_body_verifies() {
        let key = SigningKey::from_bytes(KEY.as_bytes());
        let signed = sign_body(&key, &body("0", TOKEN, ""), TIMESTAMP).unwrap();
        assert!(String::from_utf8_lossy(&signed).contains(SIGNATURE), "the vector again");
        assert_eq!(check(&signed, TIMESTAMP), OK);
        assert_eq!(sign_body(&key, b"{}", TIMESTAMP), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(ts in "[ -~]{0,12}", token in "[a-z0-9]{0,20}", sig in "[ -~]{0,70}",
                                        now in any::<i64>()) {
            let text = format!(r#"{{"signature":{{"timestamp":{ts:?},"token":"{token}","signature":{sig:?}}}}}"#);
            let _ = check(text.as_bytes(), now);
        }
    }
}
