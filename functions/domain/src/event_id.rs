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

/// Whether `event_id` is one ingest could have made for `source`: `{source}:` and then 1-256
/// visible ASCII characters (a sender's id, or `sha256:` and a hex digest). Anything else
/// reached a queue from elsewhere than ingest.
pub fn is_event_id_of(source: &str, event_id: &str) -> bool {
    SourceName::parse(source).is_some()
        && event_id.strip_prefix(source).and_then(|rest| rest.strip_prefix(':')).is_some_and(is_usable)
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
    fn only_ids_ingest_could_make_belong_to_a_source() {
        let long = format!("github:{}", "x".repeat(MAX_SENDER_ID_BYTES + 1));
        assert!(is_event_id_of("github", "github:72d3162e"));
        assert!(is_event_id_of("github", EventId::derive(&source(), None, b"{}").0.as_str()));
        for (source, id) in [
            ("github", ""),
            ("github", "github:"),
            ("github", "stripe:evt_1"),
            ("github", "githubx:1"),
            ("github", "github:has space"),
            ("github", "github:é"),
            ("github", long.as_str()),
            ("GitHub", "GitHub:1"),
            ("", ":1"),
        ] {
            assert!(!is_event_id_of(source, id), "{source:?} {id:?}");
        }
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
