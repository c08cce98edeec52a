//! For each dead letter: look up what happened to its event, record it, then drop, replay
//! or park it. The dead letters of a batch are handled concurrently, up to
//! [`MAX_CONCURRENT_DEAD_LETTERS`] at once: each costs four sequential round trips (store,
//! ledger read, ledger write, queue), and one after the other a batch of 10 would wait for 40.
//!
//! Each dead letter gets two looks: the dead-letter queue's redrive policy moves a letter to
//! the parking queue when it is received a third time (`maxReceiveCount` 2). So parking is
//! reporting the letter failed; its second look finds it PARKED by the same message and
//! reports it again. The second look is there for an invocation that died (a crash, a
//! timeout while AWS was slow): its letters come back and are settled then, instead of
//! being parked unsettled. A letter that cannot be settled now (the store, the ledger or the
//! main queue failing) is deferred instead of reported: a copy goes back to the dead-letter
//! queue with a delay, and the letter is acknowledged.

use futures_util::StreamExt;
// The attributes the processor puts on a message it dead-letters itself.
use hookline_domain::dead_letter::attribute::{
    ERROR_CLASS, ERROR_KIND, ERROR_MESSAGE, ORIGINAL_MESSAGE_ID, RECEIVE_COUNT,
};
use hookline_domain::dead_letter::{
    self, DeadLetterDecision, DeadLetterFacts, LedgerEntry, LedgerStatus, Parked, ReplayPolicy,
};
use hookline_domain::envelope::{Envelope, attribute};
use hookline_domain::idempotency::{FailureKind, IdempotencyRecord, RecordStatus, RecordedError};
use hookline_domain::{InboundRecord, QueueMessage};
use hookline_ports::{Clock, DeadLetterLedger, EventStore, IdempotencyStore, LedgerRecord, MessageVisibility, Queue};
use tracing::Instrument;

/// Dead letters of one batch handled at once. SQS hands the reprocess function at most 10
/// per batch (template.yaml), so a whole batch runs together. Two dead letters of the
/// same event can run side by side: each ledger write is conditioned on the version its
/// decision read, and the one that loses reads again and decides anew.
pub const MAX_CONCURRENT_DEAD_LETTERS: usize = 10;

/// Ledger reads and writes per dead letter before it is deferred: each lost race means
/// another copy of the event was recorded meanwhile.
const LEDGER_ATTEMPTS: usize = 3;

/// The attributes a deferred copy keeps: those of the envelope, the processor's and reprocess's.
const CARRIED_ATTRIBUTES: [&str; 9] = [
    attribute::SOURCE,
    attribute::EVENT_ID,
    attribute::SCHEME,
    attribute::REPLAY_COUNT,
    ERROR_KIND,
    ERROR_CLASS,
    ERROR_MESSAGE,
    RECEIVE_COUNT,
    ORIGINAL_MESSAGE_ID,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterOutcome {
    /// Its event already completed: acknowledged.
    DroppedDuplicate,
    /// Another copy of its event is parked: recorded as a sighting, acknowledged.
    DroppedParkedDuplicate,
    /// Sent back to the main queue: acknowledged.
    Replayed { delay_seconds: u32, replay_count: u32 },
    /// The parked copy, redriven by an operator: sent to the main queue at once, acknowledged.
    Redriven,
    /// Recorded as PARKED and reported failed: the redrive policy parks it after its second look.
    Parked { reason: &'static str },
    /// Its second look: the ledger holds it PARKED by this very message (its first look
    /// reported it). Reported failed again, so the redrive policy parks it at the next receive.
    StillParked,
    /// Something needed (the store, the ledger, the main queue) failed: a copy went back to
    /// the dead-letter queue after `delay_seconds`; acknowledged.
    Deferred { cause: &'static str, delay_seconds: u32 },
    /// It could not even be deferred: reported failed, so it is parked unsettled (nothing is
    /// lost; `hookline dlq` does not know it until it is redriven).
    Unsettled { cause: &'static str },
}

impl DeadLetterOutcome {
    pub fn acknowledged(&self) -> bool {
        !matches!(
            self,
            DeadLetterOutcome::Parked { .. } | DeadLetterOutcome::StillParked | DeadLetterOutcome::Unsettled { .. }
        )
    }
}

pub struct Reprocessor<S, E, L, Q, D, V, C> {
    store: S,
    /// The events table: an event of the events table alone is done when it holds it.
    events: E,
    ledger: L,
    main_queue: Q,
    dead_letter_queue: D,
    dead_letter_visibility: V,
    clock: C,
    policy: ReplayPolicy,
}

impl<S, E, L, Q, D, V, C> Reprocessor<S, E, L, Q, D, V, C>
where
    S: IdempotencyStore,
    E: EventStore,
    L: DeadLetterLedger,
    Q: Queue,
    D: Queue,
    V: MessageVisibility,
    C: Clock,
{
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: S,
        events: E,
        ledger: L,
        main_queue: Q,
        dead_letter_queue: D,
        dead_letter_visibility: V,
        clock: C,
        policy: ReplayPolicy,
    ) -> Self {
        Reprocessor { store, events, ledger, main_queue, dead_letter_queue, dead_letter_visibility, clock, policy }
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
                    let outcome = match self.settle(record).await {
                        Ok(outcome) => outcome,
                        Err(cause) => self.defer(record, cause).await,
                    };
                    tracing::info!(outcome = ?outcome, receive_count = record.receive_count, "dead letter");
                    outcome
                }
                .instrument(span)
            })
            .buffered(MAX_CONCURRENT_DEAD_LETTERS)
            .collect()
            .await
    }

    /// Decides, records and carries out the letter's fate; `Err` names what failed.
    async fn settle(&self, record: &InboundRecord) -> Result<DeadLetterOutcome, &'static str> {
        let envelope = Envelope::from_json(&record.body).ok();
        let event_id =
            envelope.as_ref().map_or_else(|| format!("malformed:{}", record.message_id), |e| e.event_id.clone());
        tracing::Span::current().record("event_id", event_id.as_str());
        let letter_id = record.attributes.get(ORIGINAL_MESSAGE_ID).unwrap_or(&record.message_id).clone();
        let letter_receive_count = record.attributes.get(RECEIVE_COUNT).and_then(|c| c.parse().ok()).unwrap_or(0);

        // A letter seen before (reported at its first look, or its invocation died) is
        // looked up in the ledger first: parked by this very message, it is reported again
        // with one read; otherwise that read serves the first decision below.
        let mut read_before = None;
        if record.receive_count > 1 {
            let previous = self.read_ledger(&event_id).await?;
            if previous
                .as_ref()
                .is_some_and(|r| r.latest.status == LedgerStatus::Parked && r.latest.message_id == record.message_id)
            {
                self.hurry_to_parking(record).await;
                return Ok(DeadLetterOutcome::StillParked);
            }
            read_before = Some(previous);
        }

        let stored = match &envelope {
            Some(envelope) => self.store.get(&envelope.event_id).await.map_err(|error| {
                tracing::warn!(%error, "idempotency record unreadable");
                "store_unavailable"
            })?,
            None => None,
        };
        if envelope.is_some() && stored.as_ref().is_some_and(|s| s.status == RecordStatus::Completed) {
            return Ok(DeadLetterOutcome::DroppedDuplicate);
        }
        let fingerprint = envelope.as_ref().map(Envelope::body_sha256_hex);
        // An event of the events table alone takes no claim: it is done when the table holds
        // it with this payload.
        if let Some(envelope) = envelope.as_ref().filter(|e| e.destinations.is_default() && stored.is_none()) {
            let held = self.events.stored_fingerprint(&envelope.event_id).await.map_err(|error| {
                tracing::warn!(%error, "events table unreadable");
                "events_table_unavailable"
            })?;
            if held.is_some() && held == fingerprint {
                return Ok(DeadLetterOutcome::DroppedDuplicate);
            }
        }
        // The idempotency record knows the latest attempt at this payload; a message's own
        // attributes may be those of an older one (a redriven letter keeps them). They are
        // trusted only when the record is about another payload (a PayloadConflict) or knows
        // no failure.
        let same_payload = |stored: &IdempotencyRecord| fingerprint.as_ref() == Some(&stored.fingerprint);
        let recorded = stored.as_ref().filter(|s| same_payload(s)).and_then(|s| s.last_error.clone());
        let failure = recorded
            .or_else(|| failure_from_attributes(record))
            .or_else(|| stored.as_ref().and_then(|s| s.last_error.clone()));
        let replay_count = record.attributes.get(attribute::REPLAY_COUNT).and_then(|c| c.parse().ok()).unwrap_or(0);

        for _ in 0..LEDGER_ATTEMPTS {
            let previous = match read_before.take() {
                Some(previous) => previous,
                None => self.read_ledger(&event_id).await?,
            };
            let facts = DeadLetterFacts {
                is_envelope: envelope.is_some(),
                completed: false,
                failure: failure.clone(),
                replay_count,
                parked: parked(previous.as_ref(), record, &letter_id, letter_receive_count, fingerprint.as_deref()),
            };
            let decision = dead_letter::decide(&facts, &self.policy, fastrand::f64());
            let (status, replays) = match &decision {
                DeadLetterDecision::DropCompleted => return Ok(DeadLetterOutcome::DroppedDuplicate),
                DeadLetterDecision::DropParkedDuplicate => (LedgerStatus::Duplicate, replay_count),
                DeadLetterDecision::Redriven => (LedgerStatus::Redriven, 0),
                DeadLetterDecision::Replay { replay_count: next, .. } => (LedgerStatus::Replayed, *next),
                DeadLetterDecision::Park { .. } => (LedgerStatus::Parked, replay_count),
            };
            let entry = LedgerEntry {
                event_id: event_id.clone(),
                source: envelope.as_ref().map(|e| e.source.clone()),
                envelope: record.body.clone(),
                message_id: record.message_id.clone(),
                letter_id: letter_id.clone(),
                receive_count: record.receive_count,
                letter_receive_count,
                attempts: stored.as_ref().map_or(0, |s| s.attempts),
                failure: failure.clone(),
                status,
                replay_count: replays,
                seen_at_millis: self.clock.now_unix_millis(),
            };
            let written = match self.ledger.record(&entry, previous.as_ref()).await {
                Ok(written) => written,
                // Refused for good (DynamoDB's ValidationException): the letter's fate does not
                // wait on a record that can never be written. It is carried out unrecorded; a
                // parked letter is then in the parking queue without its ledger record.
                Err(error) if !error.retryable => {
                    tracing::error!(%error, "the ledger refused the record; carrying out the decision unrecorded");
                    true
                }
                Err(error) => {
                    tracing::error!(%error, "ledger write failed");
                    return Err("ledger_unavailable");
                }
            };
            if !written {
                continue; // another copy was recorded meanwhile: decide again over it
            }
            return Ok(match decision {
                DeadLetterDecision::DropCompleted => unreachable!("returned above"),
                DeadLetterDecision::DropParkedDuplicate => DeadLetterOutcome::DroppedParkedDuplicate,
                DeadLetterDecision::Redriven => {
                    let envelope = envelope.as_ref().expect("only envelopes are redriven");
                    self.replay(envelope, &letter_id, 0, 0).await?;
                    DeadLetterOutcome::Redriven
                }
                DeadLetterDecision::Replay { delay_seconds, replay_count } => {
                    let envelope = envelope.as_ref().expect("only envelopes are replayed");
                    self.replay(envelope, &letter_id, delay_seconds, replay_count).await?;
                    DeadLetterOutcome::Replayed { delay_seconds, replay_count }
                }
                DeadLetterDecision::Park { reason } => {
                    self.hurry_to_parking(record).await;
                    DeadLetterOutcome::Parked { reason: reason.as_str() }
                }
            });
        }
        Err("ledger_contended")
    }

    async fn read_ledger(&self, event_id: &str) -> Result<Option<LedgerRecord>, &'static str> {
        self.ledger.get(event_id).await.map_err(|error| {
            tracing::warn!(%error, "ledger unreadable");
            "ledger_unavailable"
        })
    }

    /// Makes a letter about to be reported visible again at once, so that its next look (or
    /// its move to the parking queue) comes now rather than after the visibility timeout.
    async fn hurry_to_parking(&self, record: &InboundRecord) {
        if let Err(error) = self.dead_letter_visibility.delay(&record.receipt_handle, 0).await {
            tracing::warn!(error = %error.message, "could not hurry the dead letter to the parking queue");
        }
    }

    async fn replay(
        &self,
        envelope: &Envelope,
        letter_id: &str,
        delay_seconds: u32,
        replay_count: u32,
    ) -> Result<(), &'static str> {
        let mut message = envelope.to_queue_message();
        message.attributes.push((attribute::REPLAY_COUNT, replay_count.to_string()));
        message.attributes.push((ORIGINAL_MESSAGE_ID, letter_id.to_owned()));
        message.delay_seconds = delay_seconds;
        self.main_queue.send(message).await.map(|_| ()).map_err(|error| {
            tracing::error!(error = %error.message, "replay send failed");
            "replay_send_failed"
        })
    }

    /// A copy back to the dead-letter queue, later; the letter itself is then acknowledged.
    /// If even that fails the letter is reported failed, and so parked: kept, never lost.
    async fn defer(&self, record: &InboundRecord, cause: &'static str) -> DeadLetterOutcome {
        let delay_seconds = self.policy.backoff.delay(1, fastrand::f64()).min(dead_letter::MAX_DELAY_SECONDS);
        let attributes = CARRIED_ATTRIBUTES
            .iter()
            .filter_map(|name| record.attributes.get(*name).map(|value| (*name, value.clone())))
            .collect();
        let copy = QueueMessage { body: record.body.clone(), attributes, delay_seconds };
        match self.dead_letter_queue.send(copy).await {
            Ok(_) => DeadLetterOutcome::Deferred { cause, delay_seconds },
            Err(error) => {
                tracing::error!(error = %error.message, cause, "could not defer the dead letter; it is parked unsettled");
                DeadLetterOutcome::Unsettled { cause }
            }
        }
    }
}

/// Whether the ledger's record holds the event as parked, by this letter or by another copy
/// of the same payload. The very message recorded (SQS delivers a message more than once,
/// now and then) is not a redriven copy: a redrive makes a new message. A record parked for
/// another payload (a PayloadConflict) does not make this one a duplicate.
fn parked(
    previous: Option<&LedgerRecord>,
    letter: &InboundRecord,
    letter_id: &str,
    letter_receive_count: u32,
    fingerprint: Option<&str>,
) -> Parked {
    let Some(record) = previous.filter(|r| r.latest.status == LedgerStatus::Parked) else {
        return Parked::No;
    };
    if record.latest.message_id == letter.message_id {
        return Parked::No;
    }
    // The parked copy itself, redriven: the same letter, dead-lettered at the same delivery
    // (0: a record or a letter that does not say).
    let same_delivery = record.latest.letter_receive_count == 0
        || letter_receive_count == 0
        || record.latest.letter_receive_count == letter_receive_count;
    if record.latest.letter_id == letter_id && same_delivery {
        return Parked::ThisLetter;
    }
    let parked_fingerprint = Envelope::from_json(&record.latest.envelope).ok().map(|e| e.body_sha256_hex());
    if fingerprint.is_some() && parked_fingerprint.as_deref() == fingerprint {
        Parked::AnotherLetter
    } else {
        Parked::No
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

/// The reprocessor on the in-memory fakes, for tests.
#[cfg(test)]
pub(crate) type MemoryReprocessor = Reprocessor<
    hookline_ports::fakes::MemoryIdempotencyStore,
    hookline_ports::fakes::MemoryEventStore,
    hookline_ports::fakes::MemoryLedger,
    hookline_ports::fakes::MemoryQueue,
    hookline_ports::fakes::MemoryQueue,
    hookline_ports::fakes::MemoryVisibility,
    hookline_ports::fakes::FixedClock,
>;

#[cfg(test)]
mod tests;
