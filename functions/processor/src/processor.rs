//! The per-record flow, over the ports: parse, claim, handle, then complete, retry with
//! backoff, or dead-letter. Records of a batch run concurrently (bounded) and fail alone.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hookline_domain::backoff::Backoff;
use hookline_domain::dead_letter::attribute as dead_letter_attribute;
use hookline_domain::envelope::{Envelope, attribute};
use hookline_domain::idempotency::{self, ClaimConflict, FailureKind, RecordedError};
use hookline_domain::{InboundRecord, QueueMessage};
use hookline_ports::{
    Claim, ClaimOutcome, ClaimRequest, Clock, Delivery, Handled, IdempotencyStore, MessageVisibility, Queue, Recorded,
    WebhookHandler,
};
use tracing::Instrument;

use crate::outcome::RecordOutcome;

/// Error classes the processor itself gives.
pub mod class {
    pub const PAYLOAD_CONFLICT: &str = "PayloadConflict";
}

/// The longest a claim's lock can be held: Lambda's longest Timeout (15 minutes, which caps
/// every deadline) plus the lock's margin.
const MAX_LOCK_WAIT_SECONDS: u32 = 900 + (idempotency::LOCK_MARGIN_MILLIS / 1000) as u32;

/// Tunables, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ProcessorSettings {
    /// Records handled at once within a batch.
    pub max_concurrency: usize,
    pub backoff: Backoff,
    /// How long COMPLETED records count as duplicates.
    pub completed_ttl: Duration,
    /// No record is started with less than this left before the invocation's deadline.
    pub deadline_margin: Duration,
    /// Deliveries of a record that keeps failing transiently: at this receive count the
    /// processor dead-letters it itself instead of retrying it. The main queue's own redrive
    /// policy allows more, for records the processor never got to answer for (it crashed or
    /// timed out on each delivery).
    pub max_receive_count: u32,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        ProcessorSettings {
            max_concurrency: 10,
            backoff: Backoff::default(),
            completed_ttl: Duration::from_secs(idempotency::DEFAULT_COMPLETED_TTL_SECONDS),
            deadline_margin: Duration::from_secs(5),
            max_receive_count: 5,
        }
    }
}

pub struct Processor<S, H, V, D, C> {
    store: S,
    handler: H,
    visibility: V,
    dead_letters: D,
    clock: C,
    settings: ProcessorSettings,
}

/// One record's outcome, with the handler time it took (if the handler ran).
#[derive(Debug, Clone)]
pub struct RecordReport {
    pub message_id: String,
    pub outcome: RecordOutcome,
    pub handler_millis: Option<f64>,
}

impl<S, H, V, D, C> Processor<S, H, V, D, C>
where
    S: IdempotencyStore,
    H: WebhookHandler,
    V: MessageVisibility,
    D: Queue,
    C: Clock,
{
    pub fn new(store: S, handler: H, visibility: V, dead_letters: D, clock: C, settings: ProcessorSettings) -> Self {
        Processor { store, handler, visibility, dead_letters, clock, settings }
    }

    /// The clock the processor runs on (the invocation reads its time from it too).
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Processes a batch that must be done by `deadline_millis` (Unix ms). Every record gets
    /// a report, in the order given.
    pub async fn process_batch(&self, records: Vec<InboundRecord>, deadline_millis: i64) -> Vec<RecordReport> {
        let concurrency = self.settings.max_concurrency.max(1);
        let mut reports: Vec<(usize, RecordReport)> = futures_util::stream::iter(records.into_iter().enumerate())
            .map(|(index, record)| {
                let span =
                    tracing::info_span!("record", message_id = %record.message_id, event_id = tracing::field::Empty);
                async move { (index, self.process_record(record, deadline_millis).await) }.instrument(span)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        reports.sort_by_key(|(index, _)| *index);
        reports.into_iter().map(|(_, report)| report).collect()
    }

    async fn process_record(&self, record: InboundRecord, deadline_millis: i64) -> RecordReport {
        let mut handler_millis = None;
        let outcome = self.outcome_of(&record, deadline_millis, &mut handler_millis).await;
        let (class, delay_seconds) = match &outcome {
            RecordOutcome::DeadLettered { class } => (Some(class.as_str()), None),
            RecordOutcome::Retry { class, delay_seconds } => (Some(class.as_str()), *delay_seconds),
            _ => (None, None),
        };
        tracing::info!(
            outcome = outcome.label(),
            class,
            delay_seconds,
            receive_count = record.receive_count,
            handler_ms = handler_millis,
            "record"
        );
        RecordReport { message_id: record.message_id, outcome, handler_millis }
    }

    async fn outcome_of(
        &self,
        record: &InboundRecord,
        deadline_millis: i64,
        handler_millis: &mut Option<f64>,
    ) -> RecordOutcome {
        let now = self.clock.now_unix_millis();
        if deadline_millis - now < self.settings.deadline_margin.as_millis() as i64 {
            return RecordOutcome::NotStarted;
        }
        let envelope = match Envelope::from_json(&record.body) {
            Ok(envelope) => envelope,
            Err(error) => {
                let error = RecordedError::new(FailureKind::Permanent, "MalformedEnvelope", error.to_string());
                return self.dead_letter(record, None, &error).await;
            }
        };
        tracing::Span::current().record("event_id", envelope.event_id.as_str());
        if self.handler.records_itself(&envelope) {
            return self.record_itself(record, &envelope, handler_millis).await;
        }

        let fingerprint = envelope.body_sha256_hex();
        let expires_at = now / 1000 + self.settings.completed_ttl.as_secs() as i64;
        let claim = self
            .store
            .claim(&ClaimRequest {
                event_id: envelope.event_id.clone(),
                fingerprint,
                now_millis: now,
                lock_expires_at_millis: idempotency::lock_expiry(deadline_millis),
                expires_at,
            })
            .await;
        let claim = match claim {
            Ok(ClaimOutcome::Claimed(claim)) => claim,
            Ok(ClaimOutcome::Conflict(ClaimConflict::AlreadyCompleted)) => return RecordOutcome::Duplicate,
            Ok(ClaimOutcome::Conflict(ClaimConflict::InProgress { lock_expires_at_millis })) => {
                // Another invocation holds the event: come back when its lock would expire.
                // Not a backoff, so not capped by the backoff cap: coming back sooner only
                // spends receives (towards the dead-letter queue) on a lock still held.
                let wait = ((lock_expires_at_millis - now).max(0) as u64).div_ceil(1000);
                let delay = wait.clamp(1, MAX_LOCK_WAIT_SECONDS.into()) as u32;
                let error = RecordedError::new(
                    FailureKind::Transient,
                    "InProgressElsewhere",
                    "another invocation holds the event",
                );
                return self.retry(record, Some(&envelope), &error, delay).await;
            }
            Ok(ClaimOutcome::Conflict(ClaimConflict::PayloadMismatch { stored_fingerprint, completed })) => {
                return self.payload_conflict(record, &envelope, &stored_fingerprint, Some(completed)).await;
            }
            Err(error) => {
                tracing::warn!(%error, retryable = error.retryable, "claim failed");
                let error = RecordedError::new(FailureKind::Transient, "StoreUnavailable", "could not claim the event");
                return self.backoff_retry(record, &envelope, &error).await;
            }
        };

        let started = Instant::now();
        let handled = self.handler.handle(&envelope, &claim).await;
        *handler_millis = Some(started.elapsed().as_secs_f64() * 1000.0);
        match handled {
            Ok(Handled::Done) => match self.store.complete(&claim, expires_at).await {
                Ok(()) => RecordOutcome::Processed,
                Err(error) => {
                    // The effect happened but is not marked: the lock keeps duplicates out
                    // until it expires. See WebhookHandler's documentation.
                    tracing::error!(%error, "effect done but COMPLETED not recorded");
                    let error = RecordedError::new(
                        FailureKind::Transient,
                        "CompleteFailed",
                        "effect done, COMPLETED not recorded",
                    );
                    self.backoff_retry(record, &envelope, &error).await
                }
            },
            Err(failure) => {
                let error = failure.to_recorded();
                self.release(&claim, &error).await;
                match failure.kind {
                    FailureKind::Transient => self.backoff_retry(record, &envelope, &error).await,
                    FailureKind::Permanent => self.dead_letter(record, Some(&envelope), &error).await,
                }
            }
        }
    }

    /// An event whose effect is its own record: one call, no claim, no completion.
    async fn record_itself(
        &self,
        record: &InboundRecord,
        envelope: &Envelope,
        handler_millis: &mut Option<f64>,
    ) -> RecordOutcome {
        // A replayed message was dead-lettered at its last delivery, so each replay before
        // this message stands for max_receive_count deliveries.
        let replays: u32 = record.attributes.get(attribute::REPLAY_COUNT).and_then(|c| c.parse().ok()).unwrap_or(0);
        let attempt = record.receive_count.saturating_add(replays.saturating_mul(self.settings.max_receive_count));
        let started = Instant::now();
        let recorded = self.handler.handle_unclaimed(envelope, Delivery { attempt }).await;
        *handler_millis = Some(started.elapsed().as_secs_f64() * 1000.0);
        match recorded {
            Ok(Recorded::Stored) => RecordOutcome::Processed,
            Ok(Recorded::AlreadyStored) => RecordOutcome::Duplicate,
            Ok(Recorded::Conflict { stored_fingerprint }) => {
                self.payload_conflict(record, envelope, &stored_fingerprint, None).await
            }
            Err(failure) => {
                let error = failure.to_recorded();
                match failure.kind {
                    FailureKind::Transient => self.backoff_retry(record, envelope, &error).await,
                    FailureKind::Permanent => self.dead_letter(record, Some(envelope), &error).await,
                }
            }
        }
    }

    /// The event id was seen with another payload: the sender reused it, or something other
    /// than ingest wrote the message. An operator decides, so it is dead-lettered.
    async fn payload_conflict(
        &self,
        record: &InboundRecord,
        envelope: &Envelope,
        stored_fingerprint: &str,
        stored_completed: Option<bool>,
    ) -> RecordOutcome {
        tracing::warn!(
            stored_fingerprint,
            stored_completed,
            "same event id, different payload: dead-lettering it for an operator"
        );
        let error = RecordedError::new(
            FailureKind::Permanent,
            class::PAYLOAD_CONFLICT,
            format!("event id already seen with a different payload (stored fingerprint {stored_fingerprint})"),
        );
        self.dead_letter(record, Some(envelope), &error).await
    }

    async fn release(&self, claim: &Claim, error: &RecordedError) {
        if let Err(store_error) = self.store.release(claim, error).await {
            // The lock then expires on its own; the next receive can claim it after that.
            tracing::warn!(error = %store_error, "could not release the claim");
        }
    }

    async fn backoff_retry(&self, record: &InboundRecord, envelope: &Envelope, error: &RecordedError) -> RecordOutcome {
        let delay = self.settings.backoff.delay(record.receive_count, fastrand::f64());
        self.retry(record, Some(envelope), error, delay).await
    }

    /// Retries the record after `delay` seconds, or dead-letters it if this was its last
    /// delivery ([`ProcessorSettings::max_receive_count`]).
    async fn retry(
        &self,
        record: &InboundRecord,
        envelope: Option<&Envelope>,
        error: &RecordedError,
        delay: u32,
    ) -> RecordOutcome {
        if record.receive_count >= self.settings.max_receive_count {
            return self.dead_letter(record, envelope, error).await;
        }
        self.delay_retry(record, &error.class, delay).await
    }

    async fn delay_retry(&self, record: &InboundRecord, class: &str, delay: u32) -> RecordOutcome {
        let delay_seconds = match self.visibility.delay(&record.receipt_handle, delay).await {
            Ok(()) => Some(delay),
            Err(error) => {
                tracing::warn!(error = %error.message, "could not set the retry delay; the queue's visibility timeout applies");
                None
            }
        };
        RecordOutcome::Retry { class: class.to_owned(), delay_seconds }
    }

    /// Sends the record to the dead-letter queue with its error and acknowledges it; if the
    /// send fails the record is retried instead, so nothing is lost. The letter keeps the
    /// record's identity ([`dead_letter_attribute::ORIGINAL_MESSAGE_ID`]) and replay count when
    /// it has them: reprocess tells its parked copy of an event, and its replays, by them.
    async fn dead_letter(
        &self,
        record: &InboundRecord,
        envelope: Option<&Envelope>,
        error: &RecordedError,
    ) -> RecordOutcome {
        let mut attributes = Vec::with_capacity(9);
        if let Some(envelope) = envelope {
            attributes.push((attribute::SOURCE, envelope.source.clone()));
            attributes.push((attribute::EVENT_ID, envelope.event_id.clone()));
            attributes.push((attribute::SCHEME, envelope.scheme.clone()));
        }
        attributes.extend([
            (dead_letter_attribute::ERROR_KIND, error.kind.as_str().to_owned()),
            (dead_letter_attribute::ERROR_CLASS, error.class.clone()),
            (
                dead_letter_attribute::ERROR_MESSAGE,
                if error.message.is_empty() { "-".into() } else { error.message.clone() },
            ),
            (dead_letter_attribute::RECEIVE_COUNT, record.receive_count.to_string()),
            (
                dead_letter_attribute::ORIGINAL_MESSAGE_ID,
                record.attributes.get(dead_letter_attribute::ORIGINAL_MESSAGE_ID).unwrap_or(&record.message_id).clone(),
            ),
        ]);
        if let Some(replays) = record.attributes.get(attribute::REPLAY_COUNT) {
            attributes.push((attribute::REPLAY_COUNT, replays.clone()));
        }
        let attributes = attributes.into_iter().map(|(name, value)| (name, sqs_attribute_text(value))).collect();
        let message = QueueMessage { body: record.body.clone(), attributes, delay_seconds: 0 };
        match self.dead_letters.send(message).await {
            Ok(_) => RecordOutcome::DeadLettered { class: error.class.clone() },
            Err(send_error) => {
                // Retried even past max_receive_count: the main queue's redrive policy is the
                // backstop then.
                tracing::error!(error = %send_error.message, "dead-letter send failed; retrying the record instead");
                let delay = self.settings.backoff.delay(record.receive_count, fastrand::f64());
                self.delay_retry(record, "DeadLetterSendFailed", delay).await
            }
        }
    }
}

/// SQS refuses a message whose attribute values hold characters outside its set (control
/// characters other than tab and line breaks, U+FFFE, U+FFFF), and error messages quote
/// whatever the record or the handler held: those characters become U+FFFD.
fn sqs_attribute_text(value: String) -> String {
    let accepted =
        |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if value.chars().all(accepted) {
        value
    } else {
        value.chars().map(|c| if accepted(c) { c } else { '\u{FFFD}' }).collect()
    }
}

#[cfg(test)]
mod tests;
