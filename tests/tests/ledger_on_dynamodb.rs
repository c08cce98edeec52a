//! The dead-letter ledger's DynamoDB adapter against the emulator: what a dead letter seen
//! once, seen again, and followed by another leaves in the table, and how many requests
//! each sighting costs (counted by an SDK interceptor on every HTTP attempt).

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

async fn ledger() -> (DynamoLedger, RequestCounter) {
    let sdk = sdk_config().await;
    let table = create_event_table(&aws_sdk_dynamodb::Client::new(&sdk), "ledger").await;
    let counter = RequestCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(counter.clone()).build();
    (DynamoLedger::new(aws_sdk_dynamodb::Client::from_conf(config), table), counter)
}

fn sighting(message_id: &str, receive_count: u32, seen_at_millis: i64) -> LedgerEntry {
    LedgerEntry {
        event_id: "stripe:evt_ledger".into(),
        source: Some("stripe".into()),
        envelope: r#"{"version":1}"#.into(),
        message_id: message_id.into(),
        receive_count,
        attempts: 1,
        failure: Some(RecordedError::new(FailureKind::Permanent, "Poison", "cannot be processed")),
        status: LedgerStatus::Parked,
        replay_count: 0,
        seen_at_millis,
    }
}

#[tokio::test]
async fn each_dead_letter_is_one_history_entry_and_each_sighting_one_request() {
    let (ledger, requests) = ledger().await;

    // First sighting of a dead letter the processor sent (receive count 1): one append.
    ledger.record(&sighting("m-1", 1, 1_000)).await.unwrap();
    assert_eq!(requests.take(), 1);

    // The same message received again before the redrive policy parks it: one refresh each,
    // no new history entry, the latest fields updated.
    for (receive_count, at) in [(2, 2_000), (3, 3_000)] {
        ledger.record(&sighting("m-1", receive_count, at)).await.unwrap();
        assert_eq!(requests.take(), 1, "receive {receive_count}");
    }
    let record = ledger.get("stripe:evt_ledger").await.unwrap().unwrap();
    requests.take();
    assert_eq!(record.history.len(), 1);
    assert_eq!((record.latest.receive_count, record.latest.seen_at_millis), (3, 3_000));
    assert_eq!(record.first_seen_millis, 1_000);

    // A new dead letter of the same event, first seen at a high receive count (redriven from
    // the main queue, which keeps the count): appended, after one refresh that finds nothing.
    ledger.record(&sighting("m-2", 6, 6_000)).await.unwrap();
    assert_eq!(requests.take(), 2);
    ledger.record(&sighting("m-2", 7, 7_000)).await.unwrap();
    assert_eq!(requests.take(), 1);

    let record = ledger.get("stripe:evt_ledger").await.unwrap().unwrap();
    let seen: Vec<(&str, i64)> = record.history.iter().map(|s| (s.message_id.as_str(), s.seen_at_millis)).collect();
    assert_eq!(seen, [("m-1", 1_000), ("m-2", 6_000)]);
    assert_eq!((record.latest.message_id.as_str(), record.latest.receive_count), ("m-2", 7));
    assert_eq!(record.latest.failure.unwrap().class, "Poison");
}
