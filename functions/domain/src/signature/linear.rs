//! Linear: `Linear-Signature: <hex>`, HMAC-SHA256 over the body, whose `webhookTimestamp`
//! (milliseconds since the Unix epoch) must be within the tolerance
//! (<https://linear.app/developers/webhooks#securing-webhooks>).
//!
//! The timestamp is read only once the signature matched, so it is the sender's. Linear
//! publishes no fixed vector (its SDK's tests sign at run time); the vector below is computed
//! from the specification with Python's `hmac`.

use http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const SIGNATURE: &str = "linear-signature";

/// The one field of the body verification needs. serde refuses a body that gives it twice.
#[derive(Deserialize)]
struct Timestamped {
    #[serde(rename = "webhookTimestamp")]
    webhook_timestamp: i64,
}

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let signature = hex::decode(signature).map_err(|_| malformed(SIGNATURE, "signature is not hex"))?;
    let verified = hmac_sha256::match_candidates(request.keys, &[request.body], &[signature], None)?;
    let signed_at = serde_json::from_slice::<Timestamped>(request.body)
        .map_err(|_| SignatureError::MalformedBody("no webhookTimestamp"))?
        .webhook_timestamp
        .div_euclid(1000);
    timestamp::check_tolerance(signed_at, request.now_unix, request.tolerance_seconds)?;
    Ok(Verified { signed_at: Some(signed_at), ..verified })
}

pub(super) fn sign(key: &SigningKey, body: &[u8]) -> Vec<(HeaderName, HeaderValue)> {
    let mac = hmac_sha256::compute(key.as_bytes(), &[body]);
    vec![(HeaderName::from_static(SIGNATURE), HeaderValue::from_str(&hex::encode(mac)).expect("hex is a header value"))]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::Linear;
    // Computed from the specification (see the module documentation).
    const SECRET: &str = "lin_wh_hookline_local_secret";
    const BODY: &[u8] = br#"{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Hookline"},"createdAt":"2026-11-28T12:00:00.000Z","webhookTimestamp":1795867200000,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}"#;
    const EXPECTED: &str = "4e0a02a427a70b6c9847e2166585f30ce03816ad3ec1cb93534e9a6b4adf167b";
    const SIGNED_AT: i64 = 1_795_867_200;

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(signature: &str, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("Linear-Signature", signature)]), body, keys, now)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: Some(SIGNED_AT) });

    #[test]
    fn the_computed_vector_signs_and_verifies() {
        assert_eq!(into_map(sign(&key(SECRET), BODY))[SIGNATURE], EXPECTED);
        assert_eq!(check(EXPECTED, BODY, &[key(SECRET)], SIGNED_AT), OK);
        assert_eq!(check(&EXPECTED.to_uppercase(), BODY, &[key(SECRET)], SIGNED_AT), OK);
    }

    #[test]
    fn tampered_and_wrong_key_fail() {
        let tampered = String::from_utf8(BODY.to_vec()).unwrap().replace("create", "remove");
        assert_eq!(
            check(EXPECTED, tampered.as_bytes(), &[key(SECRET)], SIGNED_AT),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(check(EXPECTED, BODY, &[key("other")], SIGNED_AT), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn the_bodys_timestamp_bounds_a_replay() {
        let keys = [key(SECRET)];
        let tol = TOLERANCE as i64;
        assert_eq!(check(EXPECTED, BODY, &keys, SIGNED_AT + tol), OK);
        for now in [SIGNED_AT + tol + 1, SIGNED_AT - tol - 1] {
            assert_eq!(
                check(EXPECTED, BODY, &keys, now),
                Err(SignatureError::TimestampOutsideTolerance {
                    signed_at: SIGNED_AT,
                    now,
                    tolerance_seconds: TOLERANCE
                })
            );
        }
    }

    #[test]
    fn a_signed_body_without_one_timestamp_is_refused() {
        let k = key(SECRET);
        for body in [
            &br#"{"action":"create"}"#[..],
            br#"{"webhookTimestamp":"1795867200000"}"#,
            b"not json",
            br#"{"webhookTimestamp":1795867200000,"webhookTimestamp":1}"#,
        ] {
            let signature = into_map(sign(&k, body))[SIGNATURE].to_str().unwrap().to_owned();
            assert_eq!(
                check(&signature, body, std::slice::from_ref(&k), SIGNED_AT),
                Err(SignatureError::MalformedBody("no webhookTimestamp")),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(check("xyz", BODY, &[k], SIGNED_AT), Err(malformed(SIGNATURE, "signature is not hex")));
    }

    proptest! {
        #[test]
        fn flipping_any_body_bit_fails(bit in 0..BODY.len() * 8) {
            let mut tampered = BODY.to_vec();
            tampered[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(check(EXPECTED, &tampered, &[key(SECRET)], SIGNED_AT).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(sig in "[ -~]{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&sig, &body, &[key(SECRET)], SIGNED_AT);
        }
    }
}
