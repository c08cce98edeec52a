//! An event bus (EventBridge): where events go for consumers that do not write Rust.

use std::future::Future;

/// One event as the bus takes it (an EventBridge `PutEvents` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    /// `hookline.<source>`.
    pub source: String,
    /// The provider's event type, or `webhook`.
    pub detail_type: String,
    /// When the webhook was received, Unix milliseconds (`None`: the bus's own time).
    pub time_millis: Option<i64>,
    /// A JSON object.
    pub detail: String,
}

/// Why the bus did not take an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Refused as invalid (too large, malformed detail, ...): sending it again cannot succeed.
    #[error("the event bus refused the event ({code}): {message}")]
    Refused { code: String, message: String },
    /// Not taken this time (throttled, an internal failure, no answer): worth retrying.
    #[error("the event bus did not take the event ({code}): {message}")]
    Failed { code: String, message: String },
}

impl PublishError {
    pub fn code(&self) -> &str {
        match self {
            PublishError::Refused { code, .. } | PublishError::Failed { code, .. } => code,
        }
    }
}

pub trait EventBus: Send + Sync {
    /// Puts each event on the bus, in one request. The answer has one result per event, in
    /// order: a request may succeed for some events and not others.
    fn publish(&self, events: &[BusEvent]) -> impl Future<Output = Vec<Result<(), PublishError>>> + Send;
}
