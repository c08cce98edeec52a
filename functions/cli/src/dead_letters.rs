//! `hookline dlq list|show|replay`: what the dead-letter ledger knows, and sending parked
//! events back to the main queue after a fix. Generic over the ports, so the same code runs
//! against DynamoDB/SQS (AWS or the emulator) and against fakes in tests.

use std::borrow::Cow;
use std::fmt::Write as _;

use hookline_domain::Envelope;
use hookline_domain::dead_letter::LedgerStatus;
use hookline_domain::envelope::attribute;
use hookline_domain::instant::rfc3339_millis;
use hookline_ports::{BodyStore, BodyStoreError, DeadLetterLedger, IdempotencyStore, LedgerRecord, Queue};

/// `text` with every control character written as its Rust escape (`\t`, `\n`, `\u{1b}`):
/// event ids, sources and errors come from envelopes anyone able to send to a queue can write,
/// and must not drive the operator's terminal (an ESC sequence) or break the list's columns.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

/// One line per record: event id, status, source, replays, last error, first and last seen
/// (RFC 3339, UTC).
pub fn format_list(records: &[LedgerRecord]) -> String {
    let mut out = String::from("EVENT_ID\tSTATUS\tSOURCE\tREPLAYS\tLAST_ERROR\tFIRST_SEEN\tLAST_SEEN\n");
    for record in records {
        let latest = &record.latest;
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            printable(&latest.event_id),
            latest.status.as_str(),
            printable(latest.source.as_deref().unwrap_or("-")),
            latest.replay_count,
            printable(latest.failure.as_ref().map_or("-", |f| f.class.as_str())),
            rfc3339_millis(record.first_seen_millis),
            rfc3339_millis(latest.seen_at_millis),
        );
    }
    out
}

/// What became of a body that travels by reference, read back from the body store.
pub async fn stored_body_state<B: BodyStore>(bodies: &B, envelope: &Envelope) -> Option<&'static str> {
    let reference = envelope.stored_body.as_ref()?;
    Some(match bodies.get(reference).await {
        Ok(_) => "present",
        Err(BodyStoreError::Missing { .. }) => "missing (expired after the bucket's retention, or deleted)",
        Err(BodyStoreError::Corrupt { .. }) => "corrupt (not the body its reference names)",
        Err(BodyStoreError::Unavailable { .. }) => "unknown (the body store did not answer)",
    })
}

/// Everything about one dead letter, as JSON (whose strings escape every control character),
/// times in RFC 3339, UTC. `stored_body`: what [`stored_body_state`] found, for an envelope
/// whose body travels by reference.
pub fn format_show(record: &LedgerRecord, stored_body: Option<&str>) -> String {
    let latest = &record.latest;
    let history: Vec<_> = record
        .history
        .iter()
        .map(|h| {
            serde_json::json!({
                "seen_at": rfc3339_millis(h.seen_at_millis),
                "message_id": h.message_id,
                "status": h.status.as_str(),
                "error_class": h.error_class,
                "error_message": h.error_message,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "event_id": latest.event_id,
        "status": latest.status.as_str(),
        "source": latest.source,
        "replay_count": latest.replay_count,
        "attempts": latest.attempts,
        "receive_count": latest.receive_count,
        "last_error": latest.failure.as_ref().map(|f| serde_json::json!({
            "kind": f.kind.as_str(), "class": f.class, "message": f.message,
        })),
        "first_seen": rfc3339_millis(record.first_seen_millis),
        "last_seen": rfc3339_millis(latest.seen_at_millis),
        "history": history,
        "stored_body": stored_body.and_then(|state| {
            let reference = Envelope::from_json(&latest.envelope).ok()?.stored_body?;
            Some(serde_json::json!({
                "bucket": reference.bucket, "key": reference.key, "size": reference.size,
                "sha256": reference.sha256, "state": state,
            }))
        }),
        "envelope": latest.envelope,
    }))
    .expect("JSON values always serialise")
}

/// What a replay did (or, in a dry run, would do).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: Vec<String>,
    pub skipped: Vec<(String, &'static str)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no dead letter {0} in the ledger")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] hookline_ports::StoreError),
    #[error("reading the stored body of {event_id} failed ({kind}): {message}")]
    BodyStore { event_id: String, kind: &'static str, message: String },
    #[error("sending {event_id} to the main queue failed: {source}")]
    Send {
        event_id: String,
        #[source]
        source: hookline_ports::QueueError,
    },
}

/// Sends parked events back to the main queue: one (`event_id`) or every parked one.
/// Each is sent before it is marked REDRIVEN, so an interruption never loses one (at worst
/// it is sent twice, which the processor's idempotency absorbs).
///
/// The ledger keeps the latest dead letter's envelope; when another body reused the event's
/// id (a PayloadConflict), that is not the payload the event was claimed with. Such an event
/// is skipped, not replayed: its idempotency record's fingerprint decides.
///
/// A body that travels by reference is read back first: one whose object is gone (expired
/// after the bucket's retention) or altered is skipped, since the processor could only park it
/// again.
pub async fn replay<L: DeadLetterLedger, Q: Queue, S: IdempotencyStore, B: BodyStore>(
    ledger: &L,
    main_queue: &Q,
    store: &S,
    bodies: &B,
    event_id: Option<&str>,
    dry_run: bool,
) -> Result<ReplayReport, ReplayError> {
    let records = match event_id {
        Some(id) => vec![ledger.get(id).await?.ok_or_else(|| ReplayError::NotFound(id.to_owned()))?],
        None => ledger.list(Some(LedgerStatus::Parked)).await?,
    };
    let mut report = ReplayReport::default();
    for record in records {
        let id = record.latest.event_id.clone();
        if record.latest.status != LedgerStatus::Parked {
            report.skipped.push((id, "not parked"));
            continue;
        }
        let Ok(envelope) = Envelope::from_json(&record.latest.envelope) else {
            let why = if record.latest.envelope.starts_with(r#"{"envelope_omitted":"#) {
                "its envelope was too large for the ledger record: redrive the parked message itself (`hookline redrive`)"
            } else {
                "not an envelope (malformed): inspect it with `dlq show`"
            };
            report.skipped.push((id, why));
            continue;
        };
        if let Some(reference) = &envelope.stored_body {
            match bodies.get(reference).await {
                Ok(_) => {}
                Err(BodyStoreError::Unavailable { kind, message }) => {
                    return Err(ReplayError::BodyStore { event_id: id, kind, message });
                }
                Err(_) => {
                    report.skipped.push((id, "its stored body is gone or altered: inspect it with `dlq show`"));
                    continue;
                }
            }
        }
        let claimed = store.get(&id).await?;
        if claimed.is_some_and(|claimed| claimed.fingerprint != envelope.body_sha256_hex()) {
            report.skipped.push((
                id,
                "the ledger's body is not the payload this event was claimed with (another body reused its id): \
                 inspect it with `dlq show`",
            ));
            continue;
        }
        if !dry_run {
            let mut message = envelope.to_queue_message();
            message.attributes.push((attribute::REPLAY_COUNT, record.latest.replay_count.to_string()));
            main_queue.send(message).await.map_err(|source| ReplayError::Send { event_id: id.clone(), source })?;
            ledger.mark(&id, LedgerStatus::Redriven).await?;
        }
        report.replayed.push(id);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use hookline_domain::dead_letter::LedgerEntry;
    use hookline_domain::idempotency::{FailureKind, RecordedError};
    use hookline_ports::fakes::{MemoryBodyStore, MemoryIdempotencyStore, MemoryLedger, MemoryQueue, sample_envelope};
    use hookline_ports::{ClaimOutcome, ClaimRequest};

    use super::*;

    fn entry(event_id: &str, status: LedgerStatus, envelope: String) -> LedgerEntry {
        LedgerEntry {
            event_id: event_id.into(),
            source: Some("stripe".into()),
            envelope,
            message_id: format!("m-{event_id}"),
            letter_id: format!("m-{event_id}"),
            receive_count: 3,
            letter_receive_count: 2,
            attempts: 5,
            failure: Some(RecordedError::new(FailureKind::Permanent, "Poison", "bad amount")),
            status,
            replay_count: 1,
            seen_at_millis: 1000,
        }
    }

    fn envelope(event_id: &str) -> String {
        sample_envelope(event_id, b"{}").to_json()
    }

    /// No idempotency records: nothing to compare the ledger's bodies with.
    fn store() -> MemoryIdempotencyStore {
        MemoryIdempotencyStore::new()
    }

    async fn ledger() -> MemoryLedger {
        let ledger = MemoryLedger::new();
        assert!(ledger.record(&entry("s:parked", LedgerStatus::Parked, envelope("s:parked")), None).await.unwrap());
        assert!(
            ledger.record(&entry("s:replayed", LedgerStatus::Replayed, envelope("s:replayed")), None).await.unwrap()
        );
        assert!(ledger.record(&entry("malformed:m1", LedgerStatus::Parked, "garbage".into()), None).await.unwrap());
        ledger
    }

    #[tokio::test]
    async fn replays_every_parked_envelope_and_marks_it() {
        let (ledger, queue) = (ledger().await, MemoryQueue::new());
        let report = replay(&ledger, &queue, &store(), &MemoryBodyStore::new(), None, false).await.unwrap();
        assert_eq!(report.replayed, ["s:parked"]);
        assert_eq!(report.skipped.len(), 1);
        let sent = queue.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(Envelope::from_json(&sent[0].body).unwrap().event_id, "s:parked");
        assert!(sent[0].attributes.contains(&(attribute::REPLAY_COUNT, "1".to_owned())));
        assert_eq!(ledger.get("s:parked").await.unwrap().unwrap().latest.status, LedgerStatus::Redriven);
        // Nothing parked is left to replay.
        assert!(
            replay(&ledger, &queue, &store(), &MemoryBodyStore::new(), None, false).await.unwrap().replayed.is_empty()
        );
    }

    #[tokio::test]
    async fn a_dry_run_sends_and_marks_nothing() {
        let (ledger, queue) = (ledger().await, MemoryQueue::new());
        let report = replay(&ledger, &queue, &store(), &MemoryBodyStore::new(), Some("s:parked"), true).await.unwrap();
        assert_eq!(report.replayed, ["s:parked"]);
        assert!(queue.messages().is_empty());
        assert_eq!(ledger.get("s:parked").await.unwrap().unwrap().latest.status, LedgerStatus::Parked);
    }

    #[tokio::test]
    async fn a_failed_send_leaves_the_event_parked() {
        let (ledger, queue) = (ledger().await, MemoryQueue::new());
        queue.fail(true);
        assert!(matches!(
            replay(&ledger, &queue, &store(), &MemoryBodyStore::new(), Some("s:parked"), false).await,
            Err(ReplayError::Send { .. })
        ));
        assert_eq!(ledger.get("s:parked").await.unwrap().unwrap().latest.status, LedgerStatus::Parked);
        assert!(matches!(
            replay(&ledger, &queue, &store(), &MemoryBodyStore::new(), Some("nope"), false).await,
            Err(ReplayError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn listing_and_showing_name_the_failure() {
        let ledger = ledger().await;
        let listed = format_list(&ledger.list(None).await.unwrap());
        assert_eq!(listed.lines().count(), 4);
        assert!(listed.contains("s:parked\tPARKED\tstripe\t1\tPoison"), "{listed}");
        let shown: serde_json::Value =
            serde_json::from_str(&format_show(&ledger.get("s:parked").await.unwrap().unwrap(), None)).unwrap();
        assert_eq!(shown["last_error"]["message"], "bad amount");
        assert_eq!(shown["history"].as_array().unwrap().len(), 1);
        assert_eq!(shown["first_seen"], "1970-01-01T00:00:01.000Z");
        assert_eq!(shown["history"][0]["seen_at"], "1970-01-01T00:00:01.000Z");
        assert!(listed.contains("\t1970-01-01T00:00:01.000Z\t1970-01-01T00:00:01.000Z\n"), "{listed}");
    }

    #[tokio::test]
    async fn a_forged_event_id_cannot_drive_the_terminal_or_break_the_columns() {
        let ledger = MemoryLedger::new();
        let forged = "s:\u{1b}]0;owned\u{7}\u{1b}[2J\tPARKED\nfake";
        assert!(ledger.record(&entry(forged, LedgerStatus::Parked, envelope(forged)), None).await.unwrap());
        let listed = format_list(&ledger.list(None).await.unwrap());
        assert!(!listed.chars().any(|c| c.is_control() && c != '\t' && c != '\n'), "{listed:?}");
        assert_eq!(listed.lines().count(), 2, "{listed:?}");
        assert_eq!(listed.lines().nth(1).unwrap().split('\t').count(), 7, "{listed:?}");
        assert!(listed.contains(r"s:\u{1b}]0;owned\u{7}\u{1b}[2J\tPARKED\nfake"), "{listed:?}");
        let shown = format_show(&ledger.get(forged).await.unwrap().unwrap(), None);
        assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "{shown:?}");
        assert_eq!(printable("plain"), Cow::Borrowed("plain"));
    }

    /// Another body reused the event's id and its dead letter is the ledger's latest: replay
    /// skips it rather than send a payload the event was never claimed with.
    #[tokio::test]
    async fn a_body_that_is_not_the_claimed_payload_is_not_replayed() {
        let (ledger, queue, store) = (ledger().await, MemoryQueue::new(), MemoryIdempotencyStore::new());
        let claim = ClaimRequest {
            event_id: "s:parked".into(),
            fingerprint: hookline_domain::idempotency::fingerprint(b"the first payload"),
            now_millis: 1,
            lock_expires_at_millis: 2,
            expires_at: 4_000_000_000,
        };
        assert!(matches!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed(_)));
        let report = replay(&ledger, &queue, &store, &MemoryBodyStore::new(), Some("s:parked"), false).await.unwrap();
        assert!(report.replayed.is_empty());
        assert!(report.skipped[0].1.contains("not the payload this event was claimed with"), "{report:?}");
        assert!(queue.messages().is_empty());
        assert_eq!(ledger.get("s:parked").await.unwrap().unwrap().latest.status, LedgerStatus::Parked);

        // The payload it was claimed with is replayed.
        let same = MemoryIdempotencyStore::new();
        let claim = ClaimRequest { fingerprint: hookline_domain::idempotency::fingerprint(b"{}"), ..claim };
        assert!(matches!(same.claim(&claim).await.unwrap(), ClaimOutcome::Claimed(_)));
        assert_eq!(
            replay(&ledger, &queue, &same, &MemoryBodyStore::new(), Some("s:parked"), false).await.unwrap().replayed,
            ["s:parked"]
        );
    }

    /// A parked event whose body travels by reference: shown with the state of its object,
    /// replayed while the object is there, skipped once it is gone.
    #[tokio::test]
    async fn a_stored_body_is_checked_before_it_is_shown_or_replayed() {
        use hookline_domain::body_ref::{body_key, sha256};
        let bodies = MemoryBodyStore::new();
        let body = vec![b'x'; 300_000];
        let digest = sha256(&body);
        let reference = bodies.put(&body_key("s", "s:large", &digest), body, &digest).await.unwrap();
        let mut envelope = sample_envelope("s:large", b"");
        envelope.stored_body = Some(reference.clone());
        let ledger = MemoryLedger::new();
        assert!(ledger.record(&entry("s:large", LedgerStatus::Parked, envelope.to_json()), None).await.unwrap());
        let record = ledger.get("s:large").await.unwrap().unwrap();
        let state = stored_body_state(&bodies, &envelope).await;
        let shown: serde_json::Value = serde_json::from_str(&format_show(&record, state)).unwrap();
        assert_eq!(shown["stored_body"]["state"], "present");
        assert_eq!(shown["stored_body"]["key"], reference.key.as_str());

        bodies.remove(&reference.key);
        assert!(stored_body_state(&bodies, &envelope).await.unwrap().starts_with("missing"));
        let queue = MemoryQueue::new();
        let report = replay(&ledger, &queue, &store(), &bodies, Some("s:large"), false).await.unwrap();
        assert!(report.skipped[0].1.contains("stored body is gone"), "{report:?}");
        assert!(queue.messages().is_empty());

        bodies.fail(true);
        assert!(matches!(
            replay(&ledger, &queue, &store(), &bodies, Some("s:large"), false).await,
            Err(ReplayError::BodyStore { .. })
        ));
    }

    #[tokio::test]
    async fn an_envelope_the_ledger_could_not_hold_is_sent_to_the_parking_queue_instead() {
        let ledger = MemoryLedger::new();
        let omitted = r#"{"envelope_omitted":{"reason":"r","bytes":1000000,"sha256":"00"}}"#;
        assert!(ledger.record(&entry("s:huge", LedgerStatus::Parked, omitted.into()), None).await.unwrap());
        let report =
            replay(&ledger, &MemoryQueue::new(), &store(), &MemoryBodyStore::new(), None, false).await.unwrap();
        assert!(report.skipped[0].1.contains("hookline redrive"), "{report:?}");
    }
}
