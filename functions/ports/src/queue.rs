//! Sending envelopes to a queue.

use std::future::Future;

use hookline_domain::QueueMessage;

/// The id the queue gave a message it durably stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId(pub String);

/// A send that did not durably store the message. The caller must not acknowledge the
/// webhook; `retryable` says whether the same send may succeed later.
#[derive(Debug, thiserror::Error)]
#[error("queue send failed ({kind}): {message}")]
pub struct QueueError {
    pub retryable: bool,
    pub kind: &'static str,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A queue that stores messages durably before it answers.
pub trait Queue: Send + Sync {
    /// Returns only once the queue has durably stored the message. Takes the message, whose
    /// body can be most of a MiB, so that it moves into the request instead of being copied.
    fn send(&self, message: QueueMessage) -> impl Future<Output = Result<MessageId, QueueError>> + Send;
}
