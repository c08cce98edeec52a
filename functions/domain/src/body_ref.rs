//! Bodies stored beside the queue (the claim-check pattern): the reference an envelope carries
//! in place of a body too large for one message, and the key such a body is stored under.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where every stored body's key starts: ingest may write only below it.
pub const BODY_KEY_PREFIX: &str = "bodies/";

/// A body stored in the body store, as an envelope carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyRef {
    pub bucket: String,
    pub key: String,
    /// The body's length in bytes.
    pub size: u64,
    /// The body's SHA-256, lower-case hex: checked on every read.
    pub sha256: String,
}

impl BodyRef {
    pub fn new(bucket: impl Into<String>, key: impl Into<String>, size: usize, sha256: &[u8; 32]) -> Self {
        BodyRef { bucket: bucket.into(), key: key.into(), size: size as u64, sha256: hex::encode(sha256) }
    }

    /// Whether it is a reference ingest makes: a bucket name, a key under [`BODY_KEY_PREFIX`]
    /// of at most 1,024 bytes (S3's limit), and a SHA-256 of 64 lower-case hex digits.
    pub fn is_well_formed(&self) -> bool {
        !self.bucket.is_empty()
            && self.bucket.len() <= 63
            && self.key.starts_with(BODY_KEY_PREFIX)
            && self.key.len() <= 1024
            && self.sha256.len() == 64
            && self.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// Whether `body` is the body this reference names: its size and SHA-256.
    pub fn matches(&self, body: &[u8]) -> bool {
        body.len() as u64 == self.size && crate::idempotency::fingerprint(body) == self.sha256
    }
}

/// The SHA-256 of `body`.
pub fn sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The key a body is stored under: `bodies/{source}/{SHA-256 of the event id}/{SHA-256 of the
/// body}`, both hex. Derived from the event id and the content, so a sender's retry of one
/// delivery writes the object it wrote before instead of another, and safe in a key whatever
/// characters the event id holds.
pub fn body_key(source: &str, event_id: &str, body_sha256: &[u8; 32]) -> String {
    format!("{BODY_KEY_PREFIX}{source}/{}/{}", hex::encode(Sha256::digest(event_id)), hex::encode(body_sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_derived_from_the_event_id_and_the_content() {
        let body = b"{}";
        let digest: [u8; 32] = Sha256::digest(body).into();
        let key = body_key("github", "github:sha256:ab/../x", &digest);
        assert!(key.starts_with("bodies/github/"), "{key}");
        assert!(key.ends_with("/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), "{key}");
        assert!(!key.contains(".."), "the event id is hashed: {key}");
        assert_eq!(key, body_key("github", "github:sha256:ab/../x", &digest));
        assert_ne!(key, body_key("github", "github:other", &digest));
    }

    #[test]
    fn a_reference_matches_only_its_own_body() {
        let body = vec![7u8; 1000];
        let reference =
            BodyRef { bucket: "b".into(), key: "k".into(), size: 1000, sha256: hex::encode(Sha256::digest(&body)) };
        assert!(reference.matches(&body));
        let mut changed = body.clone();
        changed[999] = 8;
        assert!(!reference.matches(&changed));
        assert!(!reference.matches(&body[..999]));
    }
}
