//! What happens to a dead letter: dropped as a duplicate, replayed later, or parked for an
//! operator. Every dead letter is also recorded in the ledger (see [`LedgerEntry`]), so
//! nothing is lost even after the queues' retention.

use crate::backoff::Backoff;
use crate::idempotency::{FailureKind, RecordedError};

/// Names of the attributes the processor adds to a message it dead-letters, beside the
/// originals; reprocess reads the failure back from them.
pub mod attribute {
    pub const ERROR_KIND: &str = "hookline.error_kind";
    pub const ERROR_CLASS: &str = "hookline.error_class";
    pub const ERROR_MESSAGE: &str = "hookline.error_message";
    pub const RECEIVE_COUNT: &str = "hookline.receive_count";
    /// The letter's identity: the main queue's message id of the delivery that was first
    /// dead-lettered. The processor keeps it when it dead-letters a message that already has
    /// one, and reprocess when it replays one, so that through replays and redrives reprocess
    /// can tell the copy it parked from another copy of the same event.
    pub const ORIGINAL_MESSAGE_ID: &str = "hookline.original_message_id";
}

/// SQS's largest `DelaySeconds`.
pub const MAX_DELAY_SECONDS: u32 = 900;

/// What the reprocess function knows about one dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterFacts {
    /// The message body is an envelope.
    pub is_envelope: bool,
    /// The event's idempotency record says COMPLETED.
    pub completed: bool,
    /// The most specific failure known: the processor's dead-letter attributes, else the
    /// idempotency record's last error. `None` when it died without one (crashes, timeouts,
    /// lock contention), which counts as transient.
    pub failure: Option<RecordedError>,
    /// Replays already made (the `hookline.replay_count` attribute).
    pub replay_count: u32,
    /// Whether the ledger holds this event as parked, and by which copy.
    pub parked: Parked,
}

/// What the ledger says of a dead letter's event, next to the letter itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parked {
    /// Not parked (never, or no longer: replayed or redriven since).
    #[default]
    No,
    /// Parked, and this letter is the parked copy: it left the parking queue, so an operator
    /// redrove it.
    ThisLetter,
    /// Parked, by another copy with the same payload (a duplicate delivery that failed the
    /// same way): that copy already waits for the operator.
    AnotherLetter,
}

/// Replay policy: how many times, and how far apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayPolicy {
    pub budget: u32,
    /// Delay ceilings grow from the base per replay, capped at [`MAX_DELAY_SECONDS`].
    pub backoff: Backoff,
}

impl Default for ReplayPolicy {
    fn default() -> Self {
        ReplayPolicy { budget: 3, backoff: Backoff::new(30, MAX_DELAY_SECONDS) }
    }
}

impl ReplayPolicy {
    pub fn new(budget: u32, base_seconds: u32, cap_seconds: u32) -> Self {
        ReplayPolicy { budget, backoff: Backoff::new(base_seconds, cap_seconds.min(MAX_DELAY_SECONDS)) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterDecision {
    /// Its effect already happened: acknowledge (a redelivered duplicate).
    DropCompleted,
    /// Another copy of the same event and payload is parked: record the sighting and
    /// acknowledge, so an operator sees one parked message per event.
    DropParkedDuplicate,
    /// The parked copy, sent back by an operator (the console's "Redrive to source queue"
    /// moves it from the parking queue to this one): replay it at once, with a fresh budget.
    Redriven,
    /// Send it back to the main queue after `delay_seconds`, as replay number `replay_count`.
    Replay { delay_seconds: u32, replay_count: u32 },
    /// Leave it for the parking queue and an operator.
    Park { reason: ParkReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkReason {
    Malformed,
    Permanent,
    ReplayBudgetSpent,
}

impl ParkReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ParkReason::Malformed => "malformed",
            ParkReason::Permanent => "permanent_failure",
            ParkReason::ReplayBudgetSpent => "replay_budget_spent",
        }
    }
}

/// Decides a dead letter's fate; `unit` is a uniform random number in `[0, 1)` for jitter.
pub fn decide(facts: &DeadLetterFacts, policy: &ReplayPolicy, unit: f64) -> DeadLetterDecision {
    if !facts.is_envelope {
        return DeadLetterDecision::Park { reason: ParkReason::Malformed };
    }
    if facts.completed {
        return DeadLetterDecision::DropCompleted;
    }
    match facts.parked {
        Parked::AnotherLetter => return DeadLetterDecision::DropParkedDuplicate,
        Parked::ThisLetter => return DeadLetterDecision::Redriven,
        Parked::No => {}
    }
    if facts.failure.as_ref().is_some_and(|f| f.kind == FailureKind::Permanent) {
        return DeadLetterDecision::Park { reason: ParkReason::Permanent };
    }
    if facts.replay_count >= policy.budget {
        return DeadLetterDecision::Park { reason: ParkReason::ReplayBudgetSpent };
    }
    let replay_count = facts.replay_count + 1;
    DeadLetterDecision::Replay {
        delay_seconds: policy.backoff.delay(replay_count, unit).min(MAX_DELAY_SECONDS),
        replay_count,
    }
}

/// Ledger status of a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerStatus {
    Replayed,
    Parked,
    /// Sent back by an operator (CLI replay, or the parked copy redriven to the dead-letter
    /// queue); processing decides what happens next.
    Redriven,
    /// A sighting only: another copy of an event already parked. The record keeps its status
    /// and its parked copy.
    Duplicate,
}

impl LedgerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Replayed => "REPLAYED",
            LedgerStatus::Parked => "PARKED",
            LedgerStatus::Redriven => "REDRIVEN",
            LedgerStatus::Duplicate => "DUPLICATE",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "REPLAYED" => Some(LedgerStatus::Replayed),
            "PARKED" => Some(LedgerStatus::Parked),
            "REDRIVEN" => Some(LedgerStatus::Redriven),
            "DUPLICATE" => Some(LedgerStatus::Duplicate),
            _ => None,
        }
    }
}

/// One sighting of a dead letter, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The event id, or `malformed:<message id>` for a body that is not an envelope.
    pub event_id: String,
    pub source: Option<String>,
    /// The full message body (the envelope), so the event survives the queues' retention.
    pub envelope: String,
    /// The dead-letter queue's message id of this sighting.
    pub message_id: String,
    /// The letter's identity ([`attribute::ORIGINAL_MESSAGE_ID`], else the message id): of a
    /// parked record, the copy that waits in the parking queue.
    pub letter_id: String,
    /// SQS's receive count on the dead-letter queue.
    pub receive_count: u32,
    /// The main queue's receive count at which the processor dead-lettered this letter (its
    /// `hookline.receive_count` attribute; 0 when unknown). An operator's redrive of a parked
    /// copy keeps it; the same main-queue message dead-lettered again (the processor died
    /// between the dead-letter send and its batch response, so the message came back) has a
    /// higher one, so it is another copy of a parked event, not its redrive.
    pub letter_receive_count: u32,
    /// Attempts recorded in the idempotency record.
    pub attempts: u32,
    pub failure: Option<RecordedError>,
    pub status: LedgerStatus,
    pub replay_count: u32,
    pub seen_at_millis: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> DeadLetterFacts {
        DeadLetterFacts { is_envelope: true, completed: false, failure: None, replay_count: 0, parked: Parked::No }
    }

    #[test]
    fn completed_events_are_dropped_and_malformed_ones_parked() {
        let policy = ReplayPolicy::default();
        assert_eq!(
            decide(&DeadLetterFacts { completed: true, ..facts() }, &policy, 0.5),
            DeadLetterDecision::DropCompleted
        );
        assert_eq!(
            decide(&DeadLetterFacts { is_envelope: false, completed: true, ..facts() }, &policy, 0.5),
            DeadLetterDecision::Park { reason: ParkReason::Malformed }
        );
    }

    #[test]
    fn a_parked_event_is_parked_once_and_its_parked_copy_replayed_when_redriven() {
        let policy = ReplayPolicy::default();
        let permanent = Some(RecordedError::new(FailureKind::Permanent, "Poison", "no"));
        let spent = DeadLetterFacts { failure: permanent, replay_count: 3, ..facts() };
        assert_eq!(
            decide(&DeadLetterFacts { parked: Parked::AnotherLetter, ..spent.clone() }, &policy, 0.5),
            DeadLetterDecision::DropParkedDuplicate
        );
        // Whatever its failure and replays, the copy an operator sent back is replayed.
        assert_eq!(
            decide(&DeadLetterFacts { parked: Parked::ThisLetter, ..spent.clone() }, &policy, 0.5),
            DeadLetterDecision::Redriven
        );
        // A completed event is dropped as such, parked or not; a malformed body parked.
        assert_eq!(
            decide(&DeadLetterFacts { parked: Parked::ThisLetter, completed: true, ..spent.clone() }, &policy, 0.5),
            DeadLetterDecision::DropCompleted
        );
        assert_eq!(
            decide(&DeadLetterFacts { is_envelope: false, parked: Parked::AnotherLetter, ..spent }, &policy, 0.5),
            DeadLetterDecision::Park { reason: ParkReason::Malformed }
        );
    }

    #[test]
    fn permanent_failures_are_parked_at_once() {
        let failure = Some(RecordedError::new(FailureKind::Permanent, "Poison", "no"));
        assert_eq!(
            decide(&DeadLetterFacts { failure, ..facts() }, &ReplayPolicy::default(), 0.5),
            DeadLetterDecision::Park { reason: ParkReason::Permanent }
        );
    }

    #[test]
    fn transient_or_unknown_failures_are_replayed_until_the_budget_is_spent() {
        let policy = ReplayPolicy::new(2, 30, 900);
        let transient = Some(RecordedError::new(FailureKind::Transient, "Outage", "later"));
        for failure in [None, transient] {
            let first = decide(&DeadLetterFacts { failure: failure.clone(), ..facts() }, &policy, 0.999);
            assert_eq!(first, DeadLetterDecision::Replay { delay_seconds: 30, replay_count: 1 });
            let second =
                decide(&DeadLetterFacts { failure: failure.clone(), replay_count: 1, ..facts() }, &policy, 0.999);
            assert_eq!(second, DeadLetterDecision::Replay { delay_seconds: 60, replay_count: 2 });
            assert_eq!(
                decide(&DeadLetterFacts { failure, replay_count: 2, ..facts() }, &policy, 0.5),
                DeadLetterDecision::Park { reason: ParkReason::ReplayBudgetSpent }
            );
        }
    }

    #[test]
    fn delays_never_exceed_what_sqs_accepts() {
        let policy = ReplayPolicy::new(100, 600, 100_000);
        for replay_count in 0..50 {
            let DeadLetterDecision::Replay { delay_seconds, .. } =
                decide(&DeadLetterFacts { replay_count, ..facts() }, &policy, 0.999_999)
            else {
                panic!()
            };
            assert!(delay_seconds <= MAX_DELAY_SECONDS);
        }
        for status in [LedgerStatus::Replayed, LedgerStatus::Parked, LedgerStatus::Redriven, LedgerStatus::Duplicate] {
            assert_eq!(LedgerStatus::parse(status.as_str()), Some(status));
        }
    }
}
