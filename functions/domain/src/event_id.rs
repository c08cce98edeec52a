//! Event ids: the sender's own id for an event, namespaced by source. They become the
//! idempotency key, so a sender's retry of one event always maps to the same id.

use sha2::{Digest, Sha256};

use crate::source::SourceName;

/// Longest sender-supplied id kept as it is.
pub const MAX_SENDER_ID_BYTES: usize = 256;

/// `{source}:{sender id}`, or `{source}:sha256:{hex of the body}` when the sender gives no
/// usable id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

/// Where an event id came from, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIdOrigin {
    Sender,
    BodyHash,
}

impl EventId {
    /// Uses `sender_id` when it is 1-256 visible ASCII characters; otherwise hashes `body`.
    pub fn derive(source: &SourceName, sender_id: Option<&str>, body: &[u8]) -> (Self, EventIdOrigin) {
        match sender_id.map(str::trim).filter(|id| is_usable(id)) {
            Some(id) => (EventId(format!("{source}:{id}")), EventIdOrigin::Sender),
            None => {
                (EventId(format!("{source}:sha256:{}", hex::encode(Sha256::digest(body)))), EventIdOrigin::BodyHash)
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_usable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_SENDER_ID_BYTES && id.bytes().all(|b| b.is_ascii_graphic())
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceName {
        SourceName::parse("github").unwrap()
    }

    #[test]
    fn sender_ids_are_namespaced_by_source() {
        let (id, origin) = EventId::derive(&source(), Some(" 72d3162e-cc78-11e3 "), b"{}");
        assert_eq!(id.as_str(), "github:72d3162e-cc78-11e3");
        assert_eq!(origin, EventIdOrigin::Sender);
    }

    #[test]
    fn unusable_ids_fall_back_to_the_body_hash() {
        let long = "x".repeat(MAX_SENDER_ID_BYTES + 1);
        for bad in [None, Some(""), Some("has space"), Some("é"), Some(long.as_str())] {
            let (id, origin) = EventId::derive(&source(), bad, b"");
            assert_eq!(origin, EventIdOrigin::BodyHash);
            // SHA-256 of the empty string.
            assert_eq!(id.as_str(), "github:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        }
    }

    #[test]
    fn different_bodies_hash_to_different_ids() {
        let (a, _) = EventId::derive(&source(), None, b"a");
        let (b, _) = EventId::derive(&source(), None, b"b");
        assert_ne!(a, b);
    }
}
