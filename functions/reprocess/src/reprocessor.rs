//! For each dead letter: look up what happened to its event, record it, then drop, replay
//! or park it. The dead letters of a batch are handled concurrently, up to
//! [`MAX_CONCURRENT_DEAD_LETTERS`] at once: each costs three sequential round trips
//! (store, ledger, queue), and one after the other a batch of 10 would wait for 30.

use futures_util::StreamExt;
// The attributes the processor puts on a message it dead-letters itself.
use hookline_domain::dead_letter::attribute::{ERROR_CLASS, ERROR_KIND, ERROR_MESSAGE};
use hookline_domain::dead_letter::{
    self, DeadLetterDecision, DeadLetterFacts, LedgerEntry, LedgerStatus, ReplayPolicy,
};
use hookline_domain::envelope::{Envelope, attribute};
use hookline_domain::idempotency::{self, FailureKind, IdempotencyRecord, RecordStatus, RecordedError};
use hookline_domain::{InboundRecord, QueueMessage};
use hookline_ports::{Clock, DeadLetterLedger, IdempotencyStore, MessageVisibility, Queue};
use tracing::Instrument;

/// Dead letters of one batch handled at once. SQS hands the reprocess function at most 10
/// per batch (template.yaml), so a whole batch runs together. Two dead letters of the
/// same event can run side by side: each ledger write is one atomic UpdateItem, and each
/// replay decision depends only on its own message's attributes.
pub const MAX_CONCURRENT_DEAD_LETTERS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterOutcome {
    /// Its event already completed: acknowledged.
    DroppedDuplicate,
    /// Sent back to the main queue: acknowledged.
    Replayed { delay_seconds: u32, replay_count: u32 },
    /// Recorded as PARKED and reported failed, for the redrive policy to park it.
    Parked { reason: &'static str },
    /// Something needed (the store, the ledger, the main queue) failed: reported, retried.
    Retry { cause: &'static str },
}

impl DeadLetterOutcome {
    pub fn acknowledged(&self) -> bool {
        matches!(self, DeadLetterOutcome::DroppedDuplicate | DeadLetterOutcome::Replayed { .. })
    }
}

pub struct Reprocessor<S, L, Q, V, C> {
    store: S,
    ledger: L,
    main_queue: Q,
    dead_letter_visibility: V,
    clock: C,
    policy: ReplayPolicy,
}

impl<S, L, Q, V, C> Reprocessor<S, L, Q, V, C>
where
    S: IdempotencyStore,
    L: DeadLetterLedger,
    Q: Queue,
    V: MessageVisibility,
    C: Clock,
{
    pub fn new(store: S, ledger: L, main_queue: Q, dead_letter_visibility: V, clock: C, policy: ReplayPolicy) -> Self {
        Reprocessor { store, ledger, main_queue, dead_letter_visibility, clock, policy }
    }

    /// The clock the reprocessor runs on (the invocation reads its time from it too).
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Every record's outcome, in the order given.
    pub async fn process_batch(&self, records: &[InboundRecord]) -> Vec<DeadLetterOutcome> {
        futures_util::stream::iter(records)
            .map(|record| {
                let span = tracing::info_span!(
                    "dead_letter",
                    message_id = %record.message_id,
                    event_id = tracing::field::Empty
                );
                async move {
                    let outcome = self.process(record).await;
                    tracing::info!(outcome = ?outcome, receive_count = record.receive_count, "dead letter");
                    outcome
                }
                .instrument(span)
            })
            .buffered(MAX_CONCURRENT_DEAD_LETTERS)
            .collect()
            .await
    }

    async fn process(&self, record: &InboundRecord) -> DeadLetterOutcome {
        let envelope = Envelope::from_json(&record.body).ok();
        let event_id =
            envelope.as_ref().map_or_else(|| format!("malformed:{}", record.message_id), |e| e.event_id.clone());
        tracing::Span::current().record("event_id", event_id.as_str());

        let stored = match &envelope {
            Some(envelope) => match self.store.get(&envelope.event_id).await {
                Ok(stored) => stored,
                Err(error) => {
                    tracing::warn!(%error, "idempotency record unreadable");
                    return DeadLetterOutcome::Retry { cause: "store_unavailable" };
                }
            },
            None => None,
        };
        // The idempotency record knows the latest attempt at this payload; a message's own
        // attributes may be those of an older one (a redriven letter keeps them). They are
        // trusted only when the record is about another payload (a PayloadConflict) or knows
        // no failure.
        let same_payload = |stored: &IdempotencyRecord| {
            envelope.as_ref().is_some_and(|e| idempotency::fingerprint(&e.body) == stored.fingerprint)
        };
        let recorded = stored.as_ref().filter(|s| same_payload(s)).and_then(|s| s.last_error.clone());
        let failure = recorded
            .or_else(|| failure_from_attributes(record))
            .or_else(|| stored.as_ref().and_then(|s| s.last_error.clone()));
        let replay_count = record.attributes.get(attribute::REPLAY_COUNT).and_then(|c| c.parse().ok()).unwrap_or(0);
        let facts = DeadLetterFacts {
            is_envelope: envelope.is_some(),
            completed: stored.as_ref().is_some_and(|s| s.status == RecordStatus::Completed),
            failure: failure.clone(),
            replay_count,
        };
        let decision = dead_letter::decide(&facts, &self.policy, fastrand::f64());
        let (status, replays) = match &decision {
            DeadLetterDecision::DropCompleted => return DeadLetterOutcome::DroppedDuplicate,
            DeadLetterDecision::Replay { replay_count: next, .. } => (LedgerStatus::Replayed, *next),
            DeadLetterDecision::Park { .. } => (LedgerStatus::Parked, replay_count),
        };
        let entry = LedgerEntry {
            event_id,
            source: envelope.as_ref().map(|e| e.source.clone()),
            envelope: record.body.clone(),
            message_id: record.message_id.clone(),
            receive_count: record.receive_count,
            attempts: stored.as_ref().map_or(0, |s| s.attempts),
            failure,
            status,
            replay_count: replays,
            seen_at_millis: self.clock.now_unix_millis(),
        };
        if let Err(error) = self.ledger.record(&entry).await {
            tracing::error!(%error, "ledger write failed; the dead letter stays in the queue");
            return DeadLetterOutcome::Retry { cause: "ledger_unavailable" };
        }
        match decision {
            DeadLetterDecision::DropCompleted => unreachable!("returned above"),
            DeadLetterDecision::Replay { delay_seconds, replay_count } => {
                let envelope = envelope.expect("only envelopes are replayed");
                let mut message = envelope.to_queue_message();
                message.attributes.push((attribute::REPLAY_COUNT, replay_count.to_string()));
                message.delay_seconds = delay_seconds;
                self.replay(message, delay_seconds, replay_count).await
            }
            DeadLetterDecision::Park { reason } => {
                // Visible again at once, so the redrive policy's receive count is reached
                // quickly and the message moves on to the parking queue.
                if let Err(error) = self.dead_letter_visibility.delay(&record.receipt_handle, 0).await {
                    tracing::warn!(error = %error.message, "could not hurry the dead letter to the parking queue");
                }
                DeadLetterOutcome::Parked { reason: reason.as_str() }
            }
        }
    }

    async fn replay(&self, message: QueueMessage, delay_seconds: u32, replay_count: u32) -> DeadLetterOutcome {
        match self.main_queue.send(message).await {
            Ok(_) => DeadLetterOutcome::Replayed { delay_seconds, replay_count },
            Err(error) => {
                tracing::error!(error = %error.message, "replay send failed; the dead letter stays in the queue");
                DeadLetterOutcome::Retry { cause: "replay_send_failed" }
            }
        }
    }
}

fn failure_from_attributes(record: &InboundRecord) -> Option<RecordedError> {
    let class = record.attributes.get(ERROR_CLASS)?;
    let kind = match record.attributes.get(ERROR_KIND).map(String::as_str) {
        Some("permanent") => FailureKind::Permanent,
        _ => FailureKind::Transient,
    };
    Some(RecordedError::new(kind, class.clone(), record.attributes.get(ERROR_MESSAGE).cloned().unwrap_or_default()))
}

#[cfg(test)]
mod tests;
