//! The business-logic extension point: what Hookline runs, exactly once, for each event.

use std::future::Future;

use hookline_domain::Envelope;
use hookline_domain::idempotency::{FailureKind, RecordedError};

use crate::idempotency_store::Claim;

/// How a handler succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The effect is done; the processor marks the event COMPLETED next.
    Done,
    /// The handler wrote the COMPLETED marker itself, atomically with its effect (see
    /// `hookline_aws::DynamoEventsSink`): nothing is left to do.
    DoneAndCompleted,
}

/// A failed attempt. `Transient` is retried with backoff; `Permanent` goes straight to the
/// dead-letter queue, so no retries are wasted on poison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} handler failure {class}: {message}", kind.as_str())]
pub struct HandlerError {
    pub kind: FailureKind,
    pub class: String,
    pub message: String,
}

impl HandlerError {
    pub fn transient(class: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError { kind: FailureKind::Transient, class: class.into(), message: message.into() }
    }

    pub fn permanent(class: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError { kind: FailureKind::Permanent, class: class.into(), message: message.into() }
    }

    pub fn to_recorded(&self) -> RecordedError {
        RecordedError::new(self.kind, self.class.clone(), self.message.clone())
    }
}

/// Your code. Called only while `claim` is held; it may run again for the same event only
/// after it returned an error (or the invocation died), never after it succeeded.
///
/// Implementations should be idempotent with respect to their own external calls where they
/// can (pass `event.event_id` as the idempotency key to payment APIs, for instance): the
/// claim guarantees one *successful* run, and a crash between an external effect and the
/// COMPLETED marker can only be closed by the external system honouring that key, or by
/// writing the effect and the marker together as `DynamoEventsSink` does.
pub trait WebhookHandler: Send + Sync {
    fn handle(&self, event: &Envelope, claim: &Claim) -> impl Future<Output = Result<Handled, HandlerError>> + Send;
}
