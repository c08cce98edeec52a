//! The dead-letter ledger's DynamoDB adapter against the emulator: what a dead letter seen
//! once, seen again, followed by a duplicate, or written over a stale read leaves in the
//! table, and how many requests each sighting costs (counted by an SDK interceptor on every
//! HTTP attempt).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_aws::DynamoLedger;
use hookline_domain::dead_letter::{LedgerEntry, LedgerStatus};
use hookline_domain::idempotency::{FailureKind, RecordedError};
use hookline_ports::DeadLetterLedger;
use hookline_tests::{create_event_table, sdk_config};

#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A ledger over a new table, its request counter, and a plain client and the table's name.
async fn ledger_and_table() -> (DynamoLedger, RequestCounter, aws_sdk_dynamodb::Client, String) {
    let sdk = sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = create_event_table(&client, "ledger").await;
    let counter = RequestCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(counter.clone()).build();
    (DynamoLedger::new(aws_sdk_dynamodb::Client::from_conf(config), table.clone()), counter, client, table)
}

async fn ledger() -> (DynamoLedger, RequestCounter) {
    let (ledger, counter, _, _) = ledger_and_table().await;
    (ledger, counter)
}

fn sighting(message_id: &str, receive_count: u32, seen_at_millis: i64) -> LedgerEntry {
    LedgerEntry {
        event_id: "stripe:evt_ledger".into(),
        source: Some("stripe".into()),
        envelope: r#"{"version":1}"#.into(),
        message_id: message_id.into(),
        letter_id: format!("letter-{message_id}"),
        receive_count,
        letter_receive_count: 1,
        attempts: 1,
        failure: Some(RecordedError::new(FailureKind::Permanent, "Poison", "cannot be processed")),
        status: LedgerStatus::Parked,
        replay_count: 0,
        seen_at_millis,
    }
}

/// Every write is one request, conditioned on the version read: a new dead letter appends
/// to the history, the same one seen again refreshes the entry, a duplicate only appends,
/// and a write over a version someone else replaced writes nothing.
#[tokio::test]
async fn each_sighting_is_one_request_written_only_over_the_version_read() {
    let (ledger, requests) = ledger().await;
    let read = |ledger: &DynamoLedger| {
        let ledger = ledger.clone();
        async move { ledger.get("stripe:evt_ledger").await.unwrap() }
    };

    assert!(ledger.record(&sighting("m-1", 1, 1_000), None).await.unwrap());
    assert_eq!(requests.take(), 1);
    let first = read(&ledger).await.unwrap();
    assert_eq!((first.version, first.history.len()), (1, 1));
    assert_eq!(first.latest.letter_receive_count, 1, "the delivery the letter was dead-lettered at");

    // The same message again (SQS delivered it twice): refreshed, no new history entry.
    requests.take();
    assert!(ledger.record(&sighting("m-1", 2, 2_000), Some(&first)).await.unwrap());
    assert_eq!(requests.take(), 1);
    let second = read(&ledger).await.unwrap();
    assert_eq!((second.version, second.history.len(), second.latest.receive_count), (2, 1, 2));
    assert_eq!(second.first_seen_millis, 1_000);

    // A write over the stale first read is refused, and changes nothing.
    assert!(!ledger.record(&sighting("m-9", 1, 9_000), Some(&first)).await.unwrap());
    assert!(!ledger.record(&sighting("m-9", 1, 9_000), None).await.unwrap(), "a record exists");
    assert_eq!(read(&ledger).await.unwrap(), second);

    // Another copy of the parked event: only the history grows; the parked copy stays latest.
    let duplicate = LedgerEntry { status: LedgerStatus::Duplicate, ..sighting("m-2", 1, 3_000) };
    requests.take();
    assert!(ledger.record(&duplicate, Some(&second)).await.unwrap());
    assert_eq!(requests.take(), 1);
    let third = read(&ledger).await.unwrap();
    let seen: Vec<_> = third.history.iter().map(|s| (s.message_id.as_str(), s.status)).collect();
    assert_eq!(seen, [("m-1", LedgerStatus::Parked), ("m-2", LedgerStatus::Duplicate)]);
    assert_eq!((third.latest.status, third.latest.letter_id.as_str()), (LedgerStatus::Parked, "letter-m-1"));
    assert_eq!(third.latest.seen_at_millis, 3_000);

    // An operator's mark is a new version too: a decision read before it is made again.
    ledger.mark("stripe:evt_ledger", LedgerStatus::Redriven).await.unwrap();
    assert!(!ledger.record(&sighting("m-3", 1, 4_000), Some(&third)).await.unwrap());
    let marked = read(&ledger).await.unwrap();
    assert!(ledger.record(&sighting("m-3", 1, 4_000), Some(&marked)).await.unwrap());
    let last = read(&ledger).await.unwrap();
    assert_eq!((last.latest.message_id.as_str(), last.history.len()), ("m-3", 3));
    assert_eq!(last.latest.failure.unwrap().class, "Poison");
}

/// A record written before versions existed has none; it reads as version 0, and the
/// first versioned write over it succeeds.
#[tokio::test]
async fn a_record_from_before_versions_is_written_over_as_version_zero() {
    let (ledger, _, client, table) = ledger_and_table().await;
    assert!(ledger.record(&sighting("m-1", 1, 1_000), None).await.unwrap());
    // As an item written by an older reprocess: no version attribute.
    client
        .update_item()
        .table_name(&table)
        .key("event_id", aws_sdk_dynamodb::types::AttributeValue::S("stripe:evt_ledger".into()))
        .update_expression("REMOVE version")
        .send()
        .await
        .unwrap();
    let old = ledger.get("stripe:evt_ledger").await.unwrap().unwrap();
    assert_eq!(old.version, 0);
    assert!(ledger.record(&sighting("m-2", 1, 2_000), Some(&old)).await.unwrap());
}

/// Every dead letter gets its record, whatever its size: an envelope over what a record holds
/// (an inline body from before the inline threshold, or a message from elsewhere) is kept as
/// its size and SHA-256, and the record stays readable and writable.
#[tokio::test]
async fn an_envelope_too_large_for_an_item_is_recorded_as_its_size_and_hash() {
    let (ledger, _) = ledger().await;
    let mut entry = sighting("m-large", 1, 1);
    entry.envelope = format!(r#"{{"version":3,"body":"{}"}}"#, "x".repeat(1_000_000));
    assert!(ledger.record(&entry, None).await.unwrap(), "written, not refused");
    let record = ledger.get(&entry.event_id).await.unwrap().unwrap();
    assert_eq!(record.latest.status, LedgerStatus::Parked);
    assert_eq!(record.latest.envelope, hookline_aws::dynamo_ledger::omitted_envelope(&entry.envelope));
    assert!(
        record.latest.envelope.contains(&format!(r#""bytes":{}"#, entry.envelope.len())),
        "{}",
        record.latest.envelope
    );
    let mut again = sighting("m-large-2", 1, 2);
    again.envelope = entry.envelope.clone();
    assert!(ledger.record(&again, Some(&record)).await.unwrap());
    // Just under the limit, the envelope itself is kept.
    let mut fits = sighting("m-fits", 1, 3);
    fits.event_id = "stripe:evt_fits".into();
    fits.envelope = "y".repeat(hookline_aws::dynamo_ledger::MAX_RECORDED_ENVELOPE_BYTES);
    assert!(ledger.record(&fits, None).await.unwrap());
    assert_eq!(ledger.get("stripe:evt_fits").await.unwrap().unwrap().latest.envelope, fits.envelope);
}
