use hookline_domain::idempotency::{self, RecordedError};
use hookline_ports::fakes::{
    FixedClock, MemoryEventStore, MemoryIdempotencyStore, MemoryLedger, MemoryQueue, MemoryVisibility, sample_envelope,
};
use hookline_ports::{ClaimOutcome, ClaimRequest, IdempotencyStore};

use super::*;

const NOW: i64 = 1_795_867_200_000;

struct World {
    store: MemoryIdempotencyStore,
    events: MemoryEventStore,
    ledger: MemoryLedger,
    main: MemoryQueue,
    dead_letters: MemoryQueue,
    visibility: MemoryVisibility,
}

impl World {
    fn new() -> Self {
        World {
            store: MemoryIdempotencyStore::new(),
            events: MemoryEventStore::new(),
            ledger: MemoryLedger::new(),
            main: MemoryQueue::new(),
            dead_letters: MemoryQueue::new(),
            visibility: MemoryVisibility::new(),
        }
    }

    fn reprocessor(&self) -> MemoryReprocessor {
        Reprocessor::new(
            self.store.clone(),
            self.events.clone(),
            self.ledger.clone(),
            self.main.clone(),
            self.dead_letters.clone(),
            self.visibility.clone(),
            FixedClock(NOW),
            ReplayPolicy::new(2, 30, 900),
        )
    }

    /// Leaves the event's idempotency record as a processor would: completed, or failed with `error`.
    async fn processed(&self, event_id: &str, error: Option<RecordedError>) {
        let ClaimOutcome::Claimed(claim) = self
            .store
            .claim(&ClaimRequest {
                event_id: event_id.into(),
                fingerprint: idempotency::fingerprint(b"{}"),
                now_millis: NOW,
                lock_expires_at_millis: NOW + 1,
                expires_at: NOW / 1000 + 3600,
            })
            .await
            .unwrap()
        else {
            panic!("claim")
        };
        match error {
            None => self.store.complete(&claim, NOW / 1000 + 3600).await.unwrap(),
            Some(error) => self.store.release(&claim, &error).await.unwrap(),
        }
    }
}

fn envelope(event_id: &str) -> String {
    sample_envelope(event_id, b"{}").to_json()
}

fn dead_letter(message_id: &str, body: String, attributes: &[(&str, &str)]) -> InboundRecord {
    InboundRecord {
        message_id: message_id.into(),
        receipt_handle: format!("rh-{message_id}"),
        body,
        receive_count: 1,
        attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

#[tokio::test]
async fn a_completed_event_is_dropped_without_a_ledger_entry() {
    let world = World::new();
    world.processed("stripe:evt_done", None).await;
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m", envelope("stripe:evt_done"), &[])]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::DroppedDuplicate]);
    assert!(outcomes[0].acknowledged());
    assert!(world.ledger.list(None).await.unwrap().is_empty());
    assert!(world.main.messages().is_empty());
}

/// An event of the events table alone takes no claim: the table holding it with the same
/// payload is what makes it done. Another payload under its id is not: that letter is settled
/// on its recorded failure.
#[tokio::test]
async fn an_event_already_in_the_events_table_is_dropped_and_a_reused_id_is_not() {
    use hookline_ports::EventStore;
    let world = World::new();
    world.events.store(&sample_envelope("stripe:evt_stored", b"{}"), 1).await.unwrap();
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m", envelope("stripe:evt_stored"), &[])]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::DroppedDuplicate]);
    assert!(world.ledger.list(None).await.unwrap().is_empty());

    let reused = sample_envelope("stripe:evt_stored", br#"{"other":1}"#).to_json();
    let attributes = [(ERROR_KIND, "permanent"), (ERROR_CLASS, "PayloadConflict"), (ERROR_MESSAGE, "m")];
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m2", reused, &attributes)]).await;
    assert!(matches!(outcomes[0], DeadLetterOutcome::Parked { .. }), "{outcomes:?}");

    // A table that does not answer defers the letter rather than guessing.
    world.events.fail(true);
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m3", envelope("stripe:evt_other"), &[])]).await;
    assert!(
        matches!(outcomes[0], DeadLetterOutcome::Deferred { cause: "events_table_unavailable", .. }),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_permanent_failure_is_parked_with_its_error_and_hurried_on() {
    let world = World::new();
    let record = dead_letter(
        "m",
        envelope("stripe:evt_poison"),
        &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison"), (ERROR_MESSAGE, "cannot parse amount")],
    );
    let outcomes = world.reprocessor().process_batch(&[record]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "permanent_failure" }]);
    assert!(!outcomes[0].acknowledged());
    let stored = world.ledger.get("stripe:evt_poison").await.unwrap().unwrap();
    assert_eq!(stored.latest.status, LedgerStatus::Parked);
    assert_eq!(stored.latest.source.as_deref(), Some("stripe"));
    assert_eq!(stored.latest.failure.unwrap().message, "cannot parse amount");
    assert_eq!(stored.history.len(), 1);
    assert_eq!(world.visibility.changes(), [("rh-m".to_owned(), 0)]);
}

#[tokio::test]
async fn a_transient_failure_is_replayed_with_a_delay_and_its_count_until_the_budget_is_spent() {
    let world = World::new();
    world
        .processed("stripe:evt_flaky", Some(RecordedError::new(FailureKind::Transient, "Outage", "503 upstream")))
        .await;
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m1", envelope("stripe:evt_flaky"), &[])]).await;
    let DeadLetterOutcome::Replayed { delay_seconds, replay_count: 1 } = outcomes[0] else { panic!("{outcomes:?}") };
    assert!(delay_seconds <= 30);
    let replayed = world.main.messages();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].delay_seconds, delay_seconds);
    assert!(replayed[0].attributes.contains(&(attribute::REPLAY_COUNT, "1".to_owned())));
    assert_eq!(Envelope::from_json(&replayed[0].body).unwrap().event_id, "stripe:evt_flaky");
    let stored = world.ledger.get("stripe:evt_flaky").await.unwrap().unwrap();
    assert_eq!((stored.latest.status, stored.latest.replay_count), (LedgerStatus::Replayed, 1));
    assert_eq!(stored.latest.failure.unwrap().class, "Outage");

    // Back in the dead-letter queue after its second replay: the budget (2) is spent.
    let again = dead_letter("m3", envelope("stripe:evt_flaky"), &[(attribute::REPLAY_COUNT, "2")]);
    let outcomes = world.reprocessor().process_batch(&[again]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "replay_budget_spent" }]);
    let stored = world.ledger.get("stripe:evt_flaky").await.unwrap().unwrap();
    assert_eq!(stored.history.len(), 2);
    assert_eq!(stored.latest.status, LedgerStatus::Parked);
}

#[tokio::test]
async fn a_malformed_message_is_recorded_under_its_message_id_and_parked() {
    let world = World::new();
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m9", "garbage".into(), &[])]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "malformed" }]);
    let stored = world.ledger.get("malformed:m9").await.unwrap().unwrap();
    assert_eq!(stored.latest.envelope, "garbage");
}

#[tokio::test]
async fn seeing_the_same_dead_letter_again_adds_no_history() {
    let world = World::new();
    let record = dead_letter("m", envelope("stripe:evt_p"), &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison")]);
    for _ in 0..3 {
        world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    }
    assert_eq!(world.ledger.get("stripe:evt_p").await.unwrap().unwrap().history.len(), 1);
}

/// The second look at a parked letter (its first look reported it): reported again after one
/// ledger read, without a second ledger write or a read of the idempotency store, and hurried
/// on again so that the redrive policy moves it to the parking queue at once.
#[tokio::test]
async fn a_parked_letter_seen_again_is_reported_again_after_one_ledger_read() {
    let world = World::new();
    let mut record = dead_letter("m", envelope("stripe:evt_p"), &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison")]);
    assert_eq!(
        world.reprocessor().process_batch(std::slice::from_ref(&record)).await,
        [DeadLetterOutcome::Parked { reason: "permanent_failure" }]
    );
    let version = world.ledger.get("stripe:evt_p").await.unwrap().unwrap().version;
    let store_requests = world.store.requests();
    record.receive_count = 2;
    let outcomes = world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    assert_eq!(outcomes, [DeadLetterOutcome::StillParked]);
    assert!(!outcomes[0].acknowledged());
    assert_eq!(world.ledger.get("stripe:evt_p").await.unwrap().unwrap().version, version, "no second write");
    assert_eq!(world.store.requests(), store_requests, "the idempotency store is not read");
    assert_eq!(world.visibility.changes(), [("rh-m".to_owned(), 0), ("rh-m".to_owned(), 0)]);
}

/// A reprocess invocation that died after replaying a letter (a crash, or a timeout while AWS
/// was slow) leaves the letter unacknowledged: it comes back for its second look and is
/// settled then (replayed again, which the processor's claim makes harmless, or dropped once
/// its event completed), never parked.
#[tokio::test]
async fn a_letter_whose_invocation_died_is_settled_at_its_second_look() {
    let world = World::new();
    let mut record =
        dead_letter("m", envelope("stripe:evt_flaky"), &[(ERROR_KIND, "transient"), (ERROR_CLASS, "Outage")]);
    let outcomes = world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    assert!(matches!(outcomes[0], DeadLetterOutcome::Replayed { replay_count: 1, .. }), "{outcomes:?}");
    record.receive_count = 2;
    let outcomes = world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    assert!(matches!(outcomes[0], DeadLetterOutcome::Replayed { replay_count: 1, .. }), "{outcomes:?}");
    assert_eq!(world.main.messages().len(), 2);
    world.processed("stripe:evt_flaky", None).await;
    let outcomes = world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    assert_eq!(outcomes, [DeadLetterOutcome::DroppedDuplicate]);
    assert_eq!(world.ledger.get("stripe:evt_flaky").await.unwrap().unwrap().latest.status, LedgerStatus::Replayed);
}

/// A ledger that refuses the record for good (an item over DynamoDB's size limit) does not hold
/// the letter back: a transient failure is still replayed and a permanent one still parked;
/// nothing is deferred to be refused again.
#[tokio::test]
async fn a_ledger_that_refuses_the_record_does_not_hold_the_decision_back() {
    let world = World::new();
    world.ledger.refuse_writes(true);
    let transient = dead_letter("m1", envelope("stripe:evt_t"), &[(ERROR_KIND, "transient"), (ERROR_CLASS, "Outage")]);
    let poison = dead_letter("m2", envelope("stripe:evt_p"), &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison")]);
    let outcomes = world.reprocessor().process_batch(&[transient, poison]).await;
    assert!(matches!(outcomes[0], DeadLetterOutcome::Replayed { replay_count: 1, .. }), "{outcomes:?}");
    assert_eq!(outcomes[1], DeadLetterOutcome::Parked { reason: "permanent_failure" });
    assert_eq!(world.main.messages().len(), 1);
    assert!(world.dead_letters.messages().is_empty(), "nothing deferred");
    assert!(world.ledger.get("stripe:evt_t").await.unwrap().is_none());
}

/// A reported failure parks a letter after its second look, so a replay that cannot be sent
/// is deferred (a copy, with its attributes, back to the dead-letter queue after a delay),
/// and only a copy that cannot be sent either is reported.
#[tokio::test]
async fn a_replay_that_cannot_be_sent_is_deferred_to_the_dead_letter_queue() {
    let world = World::new();
    world.main.fail(true);
    let attributes = [(ERROR_CLASS, "Timeout"), (ORIGINAL_MESSAGE_ID, "main-1"), ("unknown", "dropped")];
    let record = dead_letter("m", envelope("stripe:evt_x"), &attributes);
    let outcomes = world.reprocessor().process_batch(std::slice::from_ref(&record)).await;
    let [DeadLetterOutcome::Deferred { cause: "replay_send_failed", delay_seconds }] = outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert!(outcomes[0].acknowledged());
    let copies = world.dead_letters.messages();
    assert_eq!(copies.len(), 1);
    assert_eq!((copies[0].body.as_str(), copies[0].delay_seconds), (record.body.as_str(), delay_seconds));
    assert!(delay_seconds <= 30);
    assert_eq!(copies[0].attributes, [(ERROR_CLASS, "Timeout".to_owned()), (ORIGINAL_MESSAGE_ID, "main-1".to_owned())]);

    world.dead_letters.fail(true);
    let outcomes = world.reprocessor().process_batch(&[record]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Unsettled { cause: "replay_send_failed" }]);
    assert!(!outcomes[0].acknowledged());
}

#[tokio::test]
async fn an_unreadable_ledger_defers_the_dead_letter() {
    let world = World::new();
    world.ledger.fail(true);
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m", envelope("stripe:evt_x"), &[])]).await;
    assert!(matches!(outcomes[..], [DeadLetterOutcome::Deferred { cause: "ledger_unavailable", .. }]), "{outcomes:?}");
    assert_eq!(world.dead_letters.messages().len(), 1);
}

fn poison(message_id: &str, letter_id: &str) -> InboundRecord {
    dead_letter(
        message_id,
        envelope("stripe:evt_poison"),
        &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison"), (ORIGINAL_MESSAGE_ID, letter_id)],
    )
}

/// Two deliveries of one poison event make two dead letters; the first is parked, the second
/// only recorded (DUPLICATE) and acknowledged: one parked message per event.
#[tokio::test]
async fn a_second_copy_of_a_parked_event_is_recorded_and_dropped() {
    let world = World::new();
    let outcomes = world.reprocessor().process_batch(&[poison("d1", "main-1")]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "permanent_failure" }]);
    let outcomes = world.reprocessor().process_batch(&[poison("d2", "main-2")]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::DroppedParkedDuplicate]);
    assert!(outcomes[0].acknowledged());
    let stored = world.ledger.get("stripe:evt_poison").await.unwrap().unwrap();
    assert_eq!((stored.latest.status, stored.latest.letter_id.as_str()), (LedgerStatus::Parked, "main-1"));
    let statuses: Vec<_> = stored.history.iter().map(|s| (s.message_id.as_str(), s.status)).collect();
    assert_eq!(statuses, [("d1", LedgerStatus::Parked), ("d2", LedgerStatus::Duplicate)]);
    assert_eq!(world.visibility.changes(), [("rh-d1".to_owned(), 0)], "only the first is hurried to parking");
}

/// The processor died between dead-lettering a main-queue message and its batch response:
/// the message came back and was dead-lettered again, under the same identity but at a later
/// delivery. That is another copy of the parked event, not an operator's redrive of it.
#[tokio::test]
async fn the_same_message_dead_lettered_again_after_a_redelivery_is_not_a_redrive() {
    let world = World::new();
    let at = |message_id: &str, receive_count: &str| {
        let mut letter = poison(message_id, "main-1");
        letter.attributes.insert(RECEIVE_COUNT.into(), receive_count.into());
        letter
    };
    world.reprocessor().process_batch(&[at("d1", "1")]).await;
    let outcomes = world.reprocessor().process_batch(&[at("d2", "2")]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::DroppedParkedDuplicate]);
    assert!(world.main.messages().is_empty(), "nothing replayed");
    // The parked copy itself, moved back by an operator, keeps its delivery: replayed.
    let outcomes = world.reprocessor().process_batch(&[at("d1-moved", "1")]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Redriven]);
}

/// In one batch, side by side: the ledger's versions let only one of them park.
#[tokio::test]
async fn copies_of_a_poison_event_in_one_batch_park_once() {
    let world = World::new();
    let batch: Vec<_> = (0..5).map(|i| poison(&format!("d{i}"), &format!("main-{i}"))).collect();
    let outcomes = world.reprocessor().process_batch(&batch).await;
    let parked = outcomes.iter().filter(|o| matches!(o, DeadLetterOutcome::Parked { .. })).count();
    let dropped = outcomes.iter().filter(|o| **o == DeadLetterOutcome::DroppedParkedDuplicate).count();
    assert_eq!((parked, dropped), (1, 4), "{outcomes:?}");
    assert_eq!(world.ledger.get("stripe:evt_poison").await.unwrap().unwrap().history.len(), 5);
}

/// The console's "Redrive to source queue" on the parking queue moves the parked copy back
/// here as a new message with its attributes: it is replayed at once with a fresh budget,
/// whatever its failure, and keeps its identity.
#[tokio::test]
async fn the_parked_copy_redriven_to_the_dead_letter_queue_is_replayed() {
    let world = World::new();
    world.reprocessor().process_batch(&[poison("d1", "main-1")]).await;
    let mut redriven = poison("d1-moved", "main-1");
    redriven.attributes.insert(attribute::REPLAY_COUNT.into(), "2".into());
    let outcomes = world.reprocessor().process_batch(&[redriven]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Redriven]);
    let replayed = world.main.messages();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].delay_seconds, 0);
    assert!(replayed[0].attributes.contains(&(attribute::REPLAY_COUNT, "0".to_owned())));
    assert!(replayed[0].attributes.contains(&(ORIGINAL_MESSAGE_ID, "main-1".to_owned())));
    let stored = world.ledger.get("stripe:evt_poison").await.unwrap().unwrap();
    assert_eq!(stored.latest.status, LedgerStatus::Redriven);
    assert_eq!(stored.history.len(), 2);

    // It fails again: now it is parked again, as a new sighting.
    let outcomes = world.reprocessor().process_batch(&[poison("d3", "main-1")]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "permanent_failure" }]);
}

/// A PayloadConflict's dead letter is another body: it is parked beside the first, not
/// dropped as its duplicate.
#[tokio::test]
async fn another_payload_under_a_parked_event_id_is_parked_too() {
    let world = World::new();
    world.reprocessor().process_batch(&[poison("d1", "main-1")]).await;
    let other = sample_envelope("stripe:evt_poison", b"{\"another\":\"body\"}").to_json();
    let conflict = dead_letter("d2", other, &[(ERROR_KIND, "permanent"), (ERROR_CLASS, "PayloadConflict")]);
    let outcomes = world.reprocessor().process_batch(&[conflict]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "permanent_failure" }]);
}

#[tokio::test]
async fn replays_carry_the_letter_identity_or_become_it() {
    let world = World::new();
    world.reprocessor().process_batch(&[dead_letter("d7", envelope("stripe:evt_t"), &[])]).await;
    assert!(world.main.messages()[0].attributes.contains(&(ORIGINAL_MESSAGE_ID, "d7".to_owned())));
}

#[tokio::test(start_paused = true)]
async fn the_dead_letters_of_a_batch_are_handled_together_and_reported_in_order() {
    const LATENCY: std::time::Duration = std::time::Duration::from_millis(100);
    let mut world = World::new();
    world.store = MemoryIdempotencyStore::with_latency(LATENCY);
    let mut records: Vec<InboundRecord> = (0..9)
        .map(|i| dead_letter(&format!("m{i}"), envelope(&format!("stripe:evt_{i}")), &[(ERROR_CLASS, "Timeout")]))
        .collect();
    // Never reads the store, so it finishes first: its outcome must still come back in place.
    records.insert(4, dead_letter("m-bad", "garbage".into(), &[]));

    let started = tokio::time::Instant::now();
    let outcomes = world.reprocessor().process_batch(&records).await;
    let elapsed = started.elapsed();

    assert_eq!(outcomes.len(), 10);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 4 {
            assert_eq!(*outcome, DeadLetterOutcome::Parked { reason: "malformed" });
        } else {
            assert!(matches!(outcome, DeadLetterOutcome::Replayed { replay_count: 1, .. }), "{i}: {outcome:?}");
        }
    }
    assert_eq!(world.main.messages().len(), 9);
    // Virtual time: one after the other, nine store reads would take 9 x LATENCY.
    assert!(elapsed < 2 * LATENCY, "the batch took {elapsed:?}");
}

/// A dead letter with an event id ingest never makes is recorded under its message id and
/// parked, never looked up or written under the forged id.
#[tokio::test]
async fn a_dead_letter_with_a_forged_event_id_is_parked_under_its_message_id() {
    let world = World::new();
    let mut forged = sample_envelope("stripe:evt_1", b"{}");
    forged.event_id = format!("stripe:{}", "x".repeat(3000));
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m3k", forged.to_json(), &[])]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "malformed" }]);
    assert!(world.ledger.get("malformed:m3k").await.unwrap().is_some());
    assert!(world.main.messages().is_empty(), "not replayed");
}

/// A redriven letter keeps the error attributes of its first failure; the idempotency record
/// knows the latest attempt at the same payload, and wins: a transient failure now is replayed,
/// not parked as the old permanent one.
#[tokio::test]
async fn the_idempotency_record_of_the_same_payload_outranks_stale_attributes() {
    let world = World::new();
    world.processed("stripe:evt_fixed", Some(RecordedError::new(FailureKind::Transient, "Outage", "503"))).await;
    let stale = [(ERROR_KIND, "permanent"), (ERROR_CLASS, "Poison")];
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m", envelope("stripe:evt_fixed"), &stale)]).await;
    assert!(matches!(outcomes[0], DeadLetterOutcome::Replayed { .. }), "{outcomes:?}");
}

/// A dead letter of another payload under the same id (a PayloadConflict) is judged by its own
/// attributes: the record is about the first payload.
#[tokio::test]
async fn a_payload_conflict_is_judged_by_its_own_attributes() {
    let world = World::new();
    world.processed("stripe:evt_reused", Some(RecordedError::new(FailureKind::Transient, "Outage", "503"))).await;
    let other = sample_envelope("stripe:evt_reused", b"{\"another\":\"body\"}").to_json();
    let attributes = [(ERROR_KIND, "permanent"), (ERROR_CLASS, "PayloadConflict")];
    let outcomes = world.reprocessor().process_batch(&[dead_letter("m", other, &attributes)]).await;
    assert_eq!(outcomes, [DeadLetterOutcome::Parked { reason: "permanent_failure" }]);
}
