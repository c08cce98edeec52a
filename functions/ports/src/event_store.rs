//! The events table: one item per event, written once.

use std::future::Future;

use hookline_domain::Envelope;

use crate::handler::Recorded;

/// Why an event could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("events table: {message}")]
pub struct EventStoreError {
    /// False when writing it again cannot succeed (the item is refused as invalid).
    pub retryable: bool,
    pub message: String,
}

pub trait EventStore: Send + Sync {
    /// Writes `event` if its id is new, in one conditional write that reads back, on a
    /// conflict, the stored payload's fingerprint: the write is its own idempotency record.
    /// `attempt` is stored beside it.
    fn store(&self, event: &Envelope, attempt: u32) -> impl Future<Output = Result<Recorded, EventStoreError>> + Send;

    /// The fingerprint (body SHA-256) of the event stored under `event_id`, if one is: the
    /// dead-letter path asks whether an event of the events table alone, which takes no claim,
    /// is already done.
    fn stored_fingerprint(
        &self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<String>, EventStoreError>> + Send;
}
