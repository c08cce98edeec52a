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
}

/// What a handler whose effect is its own idempotency record found (see
/// [`WebhookHandler::records_itself`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The effect is written: the event is done.
    Stored,
    /// The event was already written with this payload: a duplicate, nothing was written.
    AlreadyStored,
    /// The event id was already written with another payload (`stored_fingerprint`, the
    /// SHA-256 of that body): nothing was written.
    Conflict { stored_fingerprint: String },
}

/// The delivery at hand, for a handler that runs without a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// This delivery's number among the event's deliveries (1 for the first): the message's
    /// receive count, plus the processor's `max_receive_count` for each replay of the event
    /// before this message (a replayed message was dead-lettered at its last delivery).
    pub attempt: u32,
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
/// COMPLETED marker can only be closed by the external system honouring that key, or by an
/// effect that is its own record, as `DynamoEventsSink`'s is ([`WebhookHandler::records_itself`]).
///
/// `event.event_type` is the provider's event type when the sender names one, and
/// `claim.attempt` counts the attempts at this event (1 for the first).
pub trait WebhookHandler: Send + Sync {
    fn handle(&self, event: &Envelope, claim: &Claim) -> impl Future<Output = Result<Handled, HandlerError>> + Send;

    /// Whether `event`'s effect is its own idempotency record: a single conditional write
    /// that stores the event only if its id is new and reports the payload already stored
    /// when not. The processor then takes no claim and marks nothing: it calls
    /// [`WebhookHandler::handle_unclaimed`] once per delivery, which costs one write instead of
    /// a claim, the effect and a completion. False by default.
    fn records_itself(&self, _event: &Envelope) -> bool {
        false
    }

    /// The effect of an event for which [`WebhookHandler::records_itself`] is true, without a
    /// claim: it must be a no-op for an event already stored.
    fn handle_unclaimed(
        &self,
        _event: &Envelope,
        _delivery: Delivery,
    ) -> impl Future<Output = Result<Recorded, HandlerError>> + Send {
        async {
            Err(HandlerError::permanent(
                "NotSelfRecording",
                "handle_unclaimed called on a handler that does not record itself",
            ))
        }
    }
}
