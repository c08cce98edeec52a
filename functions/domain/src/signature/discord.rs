//! Discord (webhook events and interactions): `X-Signature-Ed25519: <hex>`, an Ed25519
//! signature over `{X-Signature-Timestamp}{body}` under the application's public key
//! (<https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers>),
//! the timestamp Unix seconds within the tolerance.
//!
//! Discord publishes no vector (its libraries' tests sign with a fresh key pair on every
//! run); the tests sign with a fixed seed and check what `ed25519-dalek` and Python's
//! `cryptography` agree on. Signatures are checked with `verify_strict`, which refuses the
//! malleable and small-order forms a signer never produces.

use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let signature = single_header(request.headers, SIGNATURE, SIGNATURE)?;
    let timestamp = single_header(request.headers, TIMESTAMP, TIMESTAMP)?;
    let signed_at = timestamp::parse_within_tolerance(timestamp, TIMESTAMP, request)?;
    let signature = hex::decode(signature)
        .ok()
        .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
        .ok_or_else(|| malformed(SIGNATURE, "signature is not 64 hex-encoded bytes"))?;
    let message = [timestamp.as_bytes(), request.body].concat();
    request
        .keys
        .iter()
        .position(|key| {
            key.ed25519_verifying().is_some_and(|public| public.verify_strict(&message, &signature).is_ok())
        })
        .map(|key_index| Verified { key_index, signed_at: Some(signed_at) })
        .ok_or(SignatureError::NoMatchingSignature)
}

/// Signs as Discord does, with an Ed25519 signing key; no headers for any other key.
pub(super) fn sign(key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
    use ed25519_dalek::Signer;
    let Some(signing) = key.ed25519_signing() else {
        return Vec::new();
    };
    let timestamp = now_unix.to_string();
    let signature = signing.sign(&[timestamp.as_bytes(), body].concat());
    vec![
        (HeaderName::from_static(SIGNATURE), HeaderValue::from_str(&hex::encode(signature.to_bytes())).expect("hex")),
        (HeaderName::from_static(TIMESTAMP), HeaderValue::from(now_unix)),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{TOLERANCE, headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::Discord;
    /// A fixed seed, so the vector is reproducible: python3 -c 'from cryptography.hazmat.
    /// primitives.asymmetric.ed25519 import Ed25519PrivateKey as K; k = K.from_private_bytes(
    /// b"hookline-discord-test-seed-32byte"); print(k.public_key().public_bytes_raw().hex(),
    /// k.sign(b"1795867200" + BODY).hex())'
    const SEED: &[u8; 32] = b"hookline-discord-test-seed-32byt";
    const TS: i64 = 1_795_867_200;
    const BODY: &[u8] = br#"{"version":1,"application_id":"1234567890","type":0}"#;

    /// What Python's `cryptography` signs (see SEED).
    const PYTHON_PUBLIC_KEY: &str = "809dd419a15603c7042e5932a451b4604860f0867f44f6c4a975137ec36dd1af";
    const PYTHON_SIGNATURE: &str = "84b6da550d8358ee0a10da0fb66f9a33a6ffb539215270a7ff19149efddb648c7747ffb17e8f2cc8e1f241644856b1bb03b9c58019a8f93cd1a893db1f963904";

    #[test]
    fn the_computed_vector_signs_and_verifies() {
        let map = into_map(sign(&signer(), BODY, TS));
        assert_eq!(map[SIGNATURE], PYTHON_SIGNATURE);
        assert_eq!(map[TIMESTAMP], "1795867200");
        let public = SigningKey::from_config(&SCHEME, PYTHON_PUBLIC_KEY).unwrap();
        let map = headers(&[("X-Signature-Ed25519", PYTHON_SIGNATURE), ("X-Signature-Timestamp", "1795867200")]);
        assert_eq!(check(&map, BODY, &[public], TS), OK);
    }

    fn signer() -> SigningKey {
        SigningKey::ed25519_from_seed(SEED)
    }

    fn public() -> SigningKey {
        let hex = hex::encode(signer().ed25519_verifying().unwrap().as_bytes());
        SigningKey::from_config(&SCHEME, &hex).unwrap()
    }

    fn check(map: &http::HeaderMap, body: &[u8], keys: &[SigningKey], now: i64) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, map, body, keys, now)
    }

    const OK: Result<Verified, SignatureError> = Ok(Verified { key_index: 0, signed_at: Some(TS) });

    #[test]
    fn a_signature_verifies_under_the_public_key_only() {
        let map = into_map(sign(&signer(), BODY, TS));
        assert_eq!(check(&map, BODY, &[public()], TS), OK);
        let other = SigningKey::ed25519_from_seed(&[7; 32]).ed25519_verifying().unwrap();
        let other = SigningKey::from_config(&SCHEME, &hex::encode(other.as_bytes())).unwrap();
        assert_eq!(check(&map, BODY, std::slice::from_ref(&other), TS), Err(SignatureError::NoMatchingSignature));
        assert_eq!(check(&map, BODY, &[other, public()], TS).map(|v| v.key_index), Ok(1));
        // An HMAC secret is never a verifying key.
        assert_eq!(check(&map, BODY, &[SigningKey::from_bytes(*SEED)], TS), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn tampered_body_timestamp_or_signature_fail() {
        let map = into_map(sign(&signer(), BODY, TS));
        assert_eq!(
            check(&map, br#"{"version":1,"type":1}"#, &[public()], TS),
            Err(SignatureError::NoMatchingSignature)
        );
        let mut later = map.clone();
        later.insert(TIMESTAMP, HeaderValue::from(TS + 1));
        assert_eq!(check(&later, BODY, &[public()], TS), Err(SignatureError::NoMatchingSignature));
        let mut flipped = map[SIGNATURE].to_str().unwrap().to_owned();
        flipped.replace_range(0..1, if flipped.starts_with('0') { "1" } else { "0" });
        let mut bad = map.clone();
        bad.insert(SIGNATURE, HeaderValue::from_str(&flipped).unwrap());
        assert_eq!(check(&bad, BODY, &[public()], TS), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn stale_future_and_malformed() {
        let map = into_map(sign(&signer(), BODY, TS));
        let tol = TOLERANCE as i64;
        assert_eq!(check(&map, BODY, &[public()], TS + tol), OK);
        for now in [TS + tol + 1, TS - tol - 1] {
            assert!(matches!(
                check(&map, BODY, &[public()], now),
                Err(SignatureError::TimestampOutsideTolerance { .. })
            ));
        }
        for bad in ["", "zz", "abcd", &"ab".repeat(65)] {
            let mut map = map.clone();
            map.insert(SIGNATURE, HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                check(&map, BODY, &[public()], TS),
                Err(malformed(SIGNATURE, "signature is not 64 hex-encoded bytes")),
                "{bad:?}"
            );
        }
        let only = headers(&[("X-Signature-Ed25519", "00")]);
        assert_eq!(check(&only, BODY, &[public()], TS), Err(SignatureError::MissingHeader(TIMESTAMP)));
    }

    #[test]
    fn public_keys_of_the_wrong_form_are_refused() {
        use crate::signature::KeyError;
        for bad in ["", "zz", "00", &"00".repeat(33), &"00".repeat(32)] {
            assert!(SigningKey::from_config(&SCHEME, bad).is_err(), "{bad:?}");
        }
        // The all-zero key is a small-order point: refused as weak.
        assert_eq!(SigningKey::from_config(&SCHEME, &"00".repeat(32)), Err(KeyError::NotEd25519PublicKey));
        assert!(sign(&public(), BODY, TS).is_empty(), "a public key cannot sign");
    }

    proptest! {
        #[test]
        fn flipping_any_body_bit_fails(bit in 0..BODY.len() * 8) {
            let map = into_map(sign(&signer(), BODY, TS));
            let mut tampered = BODY.to_vec();
            tampered[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(check(&map, &tampered, &[public()], TS), Err(SignatureError::NoMatchingSignature));
        }

        #[test]
        fn arbitrary_headers_never_panic(sig in "[ -~]{0,140}", ts in "[ -~]{0,20}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let map = headers(&[("X-Signature-Ed25519", &sig), ("X-Signature-Timestamp", &ts)]);
            let _ = check(&map, &body, &[public()], TS);
        }
    }
}
