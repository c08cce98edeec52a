//! What every scheme shares: HMAC-SHA256 (or HMAC-SHA1) over the signed parts, the
//! constant-time search for a key that produced one of the received signatures, and the rules
//! for reading a header.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::AsHeaderName;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::{HmacAlgorithm, SignatureError, SigningKey, Verified};

/// Length of an HMAC-SHA256 tag in bytes.
pub(super) const MAC_LEN: usize = 32;

/// HMAC-SHA256 of the concatenation of `parts`. The parts are fed to the MAC one after the
/// other so that a large body is never copied just to prepend a timestamp to it.
pub(super) fn compute(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // HMAC hashes or pads keys of any length, so this constructor cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of the concatenation of `parts`.
pub(super) fn compute_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The MAC of `parts` under `algorithm`.
pub(super) fn compute_with(algorithm: HmacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match algorithm {
        HmacAlgorithm::Sha256 => compute(key, parts).to_vec(),
        HmacAlgorithm::Sha1 => compute_sha1(key, parts).to_vec(),
    }
}

/// Index of the first key in `keys` whose HMAC-SHA256 over `parts` equals one of
/// `candidates`; see [`find_matching_key_by`].
pub(super) fn find_matching_key<C: AsRef<[u8]>>(
    keys: &[SigningKey],
    parts: &[&[u8]],
    candidates: &[C],
) -> Option<usize> {
    find_matching_key_by(keys, candidates, |key| compute(key, parts))
}

/// Index of the first key in `keys` whose `mac` equals one of `candidates`.
///
/// Every key is tried against every candidate whatever matched before, and each comparison
/// is constant-time, so the time taken depends only on the sizes of the inputs (which the
/// sender already knows), never on how many bytes of a guess were right.
/// A candidate that is not exactly as long as the MAC never matches.
pub(super) fn find_matching_key_by<C: AsRef<[u8]>, M: AsRef<[u8]>>(
    keys: &[SigningKey],
    candidates: &[C],
    mac: impl Fn(&[u8]) -> M,
) -> Option<usize> {
    let mut found = Choice::from(0);
    let mut index = 0u64;
    for (i, key) in keys.iter().enumerate() {
        // A public key is not a secret: a MAC under it would be a MAC anyone can make.
        if !key.is_secret() {
            continue;
        }
        let expected = mac(key.as_bytes());
        let expected = expected.as_ref();
        let mut hit = Choice::from(0);
        for candidate in candidates {
            hit |= expected.ct_eq(candidate.as_ref());
        }
        // Keys are newest first: keep the earliest match so rotation reports the newest key.
        index.conditional_assign(&(i as u64), hit & !found);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

/// Index of the first key equal to `token` (GitLab's token, Meta's verify token), compared
/// through their SHA-256 by [`find_matching_key_by`]: in constant time, and without the
/// token's length showing either.
pub fn matching_token(keys: &[SigningKey], token: &[u8]) -> Option<usize> {
    find_matching_key_by(keys, &[Sha256::digest(token)], |key| Sha256::digest(key))
}

/// The value of a header that must appear exactly once, as visible ASCII.
///
/// `label` names the header in errors; it is separate from `name` because a configured
/// header name is not `'static`.
pub(super) fn single_header<'a, K: AsHeaderName>(
    headers: &'a HeaderMap,
    name: K,
    label: &'static str,
) -> Result<&'a str, SignatureError> {
    let mut values = headers.get_all(name).into_iter();
    let value = values.next().ok_or(SignatureError::MissingHeader(label))?;
    // Two copies of a signature header leave it ambiguous which one the sender meant; a
    // verifier that picked either could be steered by whoever added the second copy.
    if values.next().is_some() {
        return Err(SignatureError::DuplicateHeader(label));
    }
    value.to_str().map_err(|_| malformed(label, "not visible ASCII"))
}

pub(super) fn malformed(header: &'static str, reason: &'static str) -> SignatureError {
    SignatureError::MalformedHeader { header, reason }
}

/// The outcome once candidates are known: the matching key, or no match.
pub(super) fn match_candidates<C: AsRef<[u8]>>(
    keys: &[SigningKey],
    parts: &[&[u8]],
    candidates: &[C],
    signed_at: Option<i64>,
) -> Result<Verified, SignatureError> {
    find_matching_key(keys, parts, candidates)
        .map(|key_index| Verified { key_index, signed_at })
        .ok_or(SignatureError::NoMatchingSignature)
}

#[cfg(test)]
pub(super) mod test_support {
    //! Helpers the scheme tests share.

    use http::{HeaderMap, HeaderName, HeaderValue};

    use crate::signature::{Scheme, SignatureError, SigningKey, Verified, VerifyRequest};

    pub(crate) const TOLERANCE: u64 = 300;

    /// A header map holding `pairs` in order; a repeated name is appended, not replaced.
    pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    pub(crate) fn into_map(pairs: Vec<(HeaderName, HeaderValue)>) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, value);
        }
        map
    }

    pub(crate) fn verify_with(
        scheme: &Scheme,
        headers: &HeaderMap,
        body: &[u8],
        keys: &[SigningKey],
        now_unix: i64,
    ) -> Result<Verified, SignatureError> {
        crate::signature::verify(
            scheme,
            &VerifyRequest { headers, body, query: "", keys, tolerance_seconds: TOLERANCE, now_unix },
        )
    }

    /// Signs `body` at `now`, checks it verifies, then checks that flipping `bit` breaks it.
    pub(crate) fn assert_bit_flip_rejected(scheme: &Scheme, key: &SigningKey, body: &[u8], bit: usize) {
        let now = 1_700_000_000;
        let headers = into_map(crate::signature::sign(scheme, key, body, now, "msg_bitflip"));
        let keys = std::slice::from_ref(key);
        assert_eq!(verify_with(scheme, &headers, body, keys, now).map(|v| v.key_index), Ok(0));
        let mut tampered = body.to_vec();
        tampered[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(verify_with(scheme, &headers, &tampered, keys, now), Err(SignatureError::NoMatchingSignature));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secrets: &[&str]) -> Vec<SigningKey> {
        secrets.iter().map(|s| SigningKey::from_bytes(s.as_bytes())).collect()
    }

    #[test]
    fn parts_are_hashed_as_their_concatenation() {
        let joined = compute(b"k", &[b"one.two.three"]);
        assert_eq!(compute(b"k", &[b"one", b".", b"two.", b"", b"three"]), joined);
        assert_ne!(compute(b"other", &[b"one.two.three"]), joined);
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // RFC 4231 section 4.3: key "Jefe", data "what do ya want for nothing?".
        let mac = compute(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn rfc_2202_hmac_sha1_test_case_2() {
        // RFC 2202 section 3: key "Jefe", data "what do ya want for nothing?".
        let mac = compute_sha1(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert_eq!(compute_with(HmacAlgorithm::Sha1, b"Jefe", &[b"what do ya want for nothing?"]), mac.to_vec());
    }

    #[test]
    fn finds_the_key_that_matches_any_candidate() {
        let keys = keys(&["new", "old"]);
        let old_mac = compute(b"old", &[b"body"]);
        let junk = [0u8; MAC_LEN];
        assert_eq!(find_matching_key(&keys, &[b"body"], &[junk, old_mac]), Some(1));
        assert_eq!(find_matching_key(&keys, &[b"body"], &[old_mac, junk]), Some(1));
        assert_eq!(find_matching_key(&keys, &[b"body"], &[junk]), None);
        assert_eq!(find_matching_key::<[u8; MAC_LEN]>(&keys, &[b"body"], &[]), None);
        assert_eq!(find_matching_key(&[], &[b"body"], &[old_mac]), None);
    }

    #[test]
    fn the_newest_matching_key_wins() {
        let keys = keys(&["same", "same"]);
        let mac = compute(b"same", &[b"body"]);
        assert_eq!(find_matching_key(&keys, &[b"body"], &[mac]), Some(0));
    }

    #[test]
    fn candidates_of_the_wrong_length_never_match() {
        let keys = keys(&["k"]);
        let mac = compute(b"k", &[b"body"]);
        let truncated = &mac[..MAC_LEN - 1];
        let mut extended = mac.to_vec();
        extended.push(0);
        assert_eq!(find_matching_key(&keys, &[b"body"], &[truncated]), None);
        assert_eq!(find_matching_key(&keys, &[b"body"], &[extended.as_slice()]), None);
        assert_eq!(find_matching_key(&keys, &[b"body"], &[&b""[..]]), None);
    }

    #[test]
    fn single_header_rules() {
        let map = test_support::headers(&[("X-Sig", "abc"), ("x-dup", "1"), ("X-Dup", "2")]);
        assert_eq!(single_header(&map, "x-sig", "x-sig"), Ok("abc"));
        assert_eq!(single_header(&map, "X-SIG", "x-sig"), Ok("abc"));
        assert_eq!(single_header(&map, "x-dup", "x-dup"), Err(SignatureError::DuplicateHeader("x-dup")));
        assert_eq!(single_header(&map, "x-none", "x-none"), Err(SignatureError::MissingHeader("x-none")));

        let mut map = HeaderMap::new();
        map.insert("x-sig", http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(single_header(&map, "x-sig", "x-sig"), Err(malformed("x-sig", "not visible ASCII")));
    }
}
