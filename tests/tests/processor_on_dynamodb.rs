//! The processor with its real adapters (DynamoDB idempotency store and events table, SQS
//! visibility and dead-letter queue) against the emulator. The event bus is the in-memory
//! fake here: `eventbridge.rs` puts events on the emulator's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_aws::{DynamoEventsSink, DynamoIdempotencyStore, SqsQueue, SqsVisibility};
use hookline_domain::Envelope;
use hookline_domain::InboundRecord;
use hookline_domain::dead_letter::attribute as dead_letter_attribute;
use hookline_domain::envelope::{EventType, Origin};
use hookline_domain::idempotency::{self, RecordStatus};
use hookline_domain::{Destination, Destinations as Routes};
use hookline_ports::fakes::{FixedClock, MemoryEventBus, ScriptedHandler, sample_envelope};
use hookline_ports::{
    Claim, ClaimOutcome, ClaimRequest, Delivery, Handled, HandlerError, IdempotencyStore, Recorded, WebhookHandler,
};
use hookline_processor::{DefaultHandler, Processor, ProcessorSettings, RecordOutcome};
use hookline_tests::{create_event_table, create_queue, drain, item_count, sdk_config};

const NOW: i64 = 1_795_867_200_000;
const DEADLINE: i64 = NOW + 30_000;

/// Counts calls, then delegates: how many times did the effect's code run?
#[derive(Clone)]
struct Counting<H> {
    inner: H,
    calls: Arc<AtomicUsize>,
}

impl<H: WebhookHandler> WebhookHandler for Counting<H> {
    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.handle(event, claim).await
    }

    fn records_itself(&self, event: &Envelope) -> bool {
        self.inner.records_itself(event)
    }

    async fn handle_unclaimed(&self, event: &Envelope, delivery: Delivery) -> Result<Recorded, HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.handle_unclaimed(event, delivery).await
    }
}

type Sink = Counting<DefaultHandler<DynamoEventsSink, MemoryEventBus>>;

struct Stack {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    queue_url: String,
    dlq_url: String,
    store: DynamoIdempotencyStore,
    events_table: String,
}

async fn stack() -> Stack {
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoIdempotencyStore::new(dynamodb.clone(), create_event_table(&dynamodb, "hookline-idem").await);
    Stack {
        queue_url: create_queue(&sqs, "hookline-main").await,
        dlq_url: create_queue(&sqs, "hookline-dlq").await,
        events_table: create_event_table(&dynamodb, "hookline-events").await,
        store,
        sqs,
        dynamodb,
    }
}

impl Stack {
    fn sink(&self) -> Sink {
        self.sink_with(MemoryEventBus::new())
    }

    fn sink_with(&self, bus: MemoryEventBus) -> Sink {
        Counting {
            inner: DefaultHandler::new(DynamoEventsSink::new(self.dynamodb.clone(), &self.events_table), bus),
            calls: Arc::default(),
        }
    }

    fn processor<H: WebhookHandler>(
        &self,
        handler: H,
        now: i64,
    ) -> Processor<DynamoIdempotencyStore, H, SqsVisibility, SqsQueue, FixedClock> {
        Processor::new(
            self.store.clone(),
            handler,
            SqsVisibility::new(self.sqs.clone(), &self.queue_url),
            SqsQueue::new(self.sqs.clone(), &self.dlq_url),
            FixedClock(now),
            ProcessorSettings::default(),
        )
    }

    /// Sends an envelope to the main queue and receives it back as Lambda would get it.
    async fn deliver(&self, body: &str) -> InboundRecord {
        self.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await.unwrap();
        self.receive().await.expect("the message just sent")
    }

    async fn receive(&self) -> Option<InboundRecord> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let message = output.messages.unwrap_or_default().into_iter().next()?;
        let receive_count = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|c| c.parse().ok())
            .unwrap();
        Some(InboundRecord {
            message_id: message.message_id.unwrap(),
            receipt_handle: message.receipt_handle.unwrap(),
            body: message.body.unwrap(),
            receive_count,
            attributes: Default::default(),
        })
    }
}

fn envelope(event_id: &str, body: &str) -> String {
    sample_envelope(event_id, body.as_bytes()).to_json()
}

fn record(body: String) -> InboundRecord {
    InboundRecord {
        message_id: "m".into(),
        receipt_handle: "unused".into(),
        body,
        receive_count: 1,
        attributes: Default::default(),
    }
}

/// The events table's conditional write is the event's record: of 20 simultaneous deliveries
/// one stores the event and the others find it, with no idempotency record at all.
#[tokio::test]
async fn concurrent_deliveries_of_one_event_produce_exactly_one_effect() {
    let stack = stack().await;
    let sink = stack.sink();
    let processor = Arc::new(stack.processor(sink.clone(), NOW));
    let body = envelope("stripe:evt_concurrent", r#"{"id":"evt_concurrent"}"#);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (processor, body) = (processor.clone(), body.clone());
            tokio::spawn(async move { processor.process_batch(vec![record(body)], DEADLINE).await.remove(0).outcome })
        })
        .collect();
    let mut processed = 0;
    for task in tasks {
        match task.await.unwrap() {
            RecordOutcome::Processed => processed += 1,
            RecordOutcome::Duplicate => {}
            // The emulator answers some of 20 simultaneous requests with errors: retried.
            RecordOutcome::Retry { class, .. } if class == "EventsTableUnavailable" => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(processed, 1);
    assert_eq!(sink.calls.load(Ordering::SeqCst), 20, "one write per delivery");
    assert_eq!(item_count(&stack.dynamodb, &stack.events_table).await, 1);
    assert_eq!(stack.store.get("stripe:evt_concurrent").await.unwrap(), None, "no claim was taken");
}

#[tokio::test]
async fn the_sink_stores_signed_and_unsigned_metadata_apart() {
    let stack = stack().await;
    let mut event = sample_envelope("shopify:sha256:ab", br#"{"id":1}"#);
    event.headers.insert("x-shopify-topic".into(), "orders/paid".into());
    event.signed_headers.insert("webhook-timestamp".into(), "1795867200".into());
    event.event_type = EventType::new("orders/paid", Origin::Unsigned);
    let processor = stack.processor(stack.sink(), NOW);
    let reports = processor.process_batch(vec![record(event.to_json())], DEADLINE).await;
    assert_eq!(reports[0].outcome, RecordOutcome::Processed);
    let item = stack
        .dynamodb
        .get_item()
        .table_name(&stack.events_table)
        .key("event_id", AttributeValue::S(event.event_id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let text = |map: &AttributeValue, key: &str| map.as_m().unwrap()[key].as_s().unwrap().clone();
    assert_eq!(text(&item["headers"], "x-shopify-topic"), "orders/paid");
    assert_eq!(text(&item["signed_headers"], "webhook-timestamp"), "1795867200");
    assert_eq!(item["event_type"].as_s().unwrap(), "orders/paid");
    assert_eq!(item["event_type_origin"].as_s().unwrap(), "unsigned");
}

#[tokio::test]
async fn redeliveries_find_the_event_and_write_nothing() {
    let stack = stack().await;
    let sink = stack.sink();
    let body = envelope("stripe:evt_redelivered", "{}");
    let processor = stack.processor(sink.clone(), NOW);
    let mut outcomes = Vec::new();
    for receive_count in [2, 3, 4] {
        let delivered = InboundRecord { receive_count, ..record(body.clone()) };
        outcomes.push(processor.process_batch(vec![delivered], DEADLINE).await.remove(0).outcome);
    }
    assert_eq!(outcomes, [RecordOutcome::Processed, RecordOutcome::Duplicate, RecordOutcome::Duplicate]);
    assert_eq!(item_count(&stack.dynamodb, &stack.events_table).await, 1);
    let item = stack
        .dynamodb
        .get_item()
        .table_name(&stack.events_table)
        .key("event_id", AttributeValue::S("stripe:evt_redelivered".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["attempt"].as_n().unwrap(), "2", "the delivery that stored it");
    assert_eq!(stack.store.get("stripe:evt_redelivered").await.unwrap(), None);
}

/// The store's own answers, straight: stored, the same payload again, another payload.
#[tokio::test]
async fn the_events_table_tells_a_duplicate_from_a_payload_conflict() {
    use hookline_ports::EventStore;
    let stack = stack().await;
    let table = DynamoEventsSink::new(stack.dynamodb.clone(), &stack.events_table);
    let event = sample_envelope("stripe:evt_answers", br#"{"v":1}"#);
    assert_eq!(table.store(&event, 1).await, Ok(Recorded::Stored));
    assert_eq!(table.store(&event, 2).await, Ok(Recorded::AlreadyStored));
    let other = sample_envelope("stripe:evt_answers", br#"{"v":2}"#);
    assert_eq!(table.store(&other, 1).await, Ok(Recorded::Conflict { stored_fingerprint: event.body_sha256_hex() }));
}

#[tokio::test]
async fn a_crash_mid_processing_is_completed_by_the_next_receive_after_the_lock_expires() {
    let stack = stack().await;
    let bus = MemoryEventBus::new();
    let sink = stack.sink_with(bus.clone());
    // Both destinations: under a claim, the table first, then the bus.
    let mut event = sample_envelope("stripe:evt_crash", b"{}");
    event.destinations = Routes::from_list([Destination::EventsTable, Destination::EventBridge]).unwrap();
    let body = event.to_json();
    // The crashed invocation: it claimed, then died.
    let claimed = stack
        .store
        .claim(&ClaimRequest {
            event_id: "stripe:evt_crash".into(),
            fingerprint: idempotency::fingerprint(b"{}"),
            now_millis: NOW,
            lock_expires_at_millis: idempotency::lock_expiry(DEADLINE),
            expires_at: NOW / 1000 + 3600,
        })
        .await
        .unwrap();
    assert!(matches!(claimed, ClaimOutcome::Claimed(_)));

    let early =
        stack.processor(sink.clone(), NOW + 5_000).process_batch(vec![record(body.clone())], NOW + 35_000).await;
    assert!(matches!(&early[0].outcome, RecordOutcome::Retry { class, .. } if class == "InProgressElsewhere"));
    assert_eq!(sink.calls.load(Ordering::SeqCst), 0);

    let after = idempotency::lock_expiry(DEADLINE) + 1;
    let late = stack.processor(sink.clone(), after).process_batch(vec![record(body)], after + 30_000).await;
    assert_eq!(late[0].outcome, RecordOutcome::Processed);
    assert_eq!(sink.calls.load(Ordering::SeqCst), 1);
    let stored = stack.store.get("stripe:evt_crash").await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.status), (2, RecordStatus::Completed));
    assert_eq!(item_count(&stack.dynamodb, &stack.events_table).await, 1);
    assert_eq!(bus.events().len(), 1);
}

#[tokio::test]
async fn a_transient_failure_is_recorded_and_delayed_through_the_visibility_timeout() {
    let stack = stack().await;
    let handler = ScriptedHandler::new();
    handler.fail_transiently("stripe:evt_flaky", 1);
    let processor = stack.processor(handler.clone(), NOW);
    let delivered = stack.deliver(&envelope("stripe:evt_flaky", "{}")).await;
    assert_eq!(delivered.receive_count, 1);

    let reports = processor.process_batch(vec![delivered], DEADLINE).await;
    let RecordOutcome::Retry { class, delay_seconds: Some(delay) } = &reports[0].outcome else { panic!("{reports:?}") };
    assert_eq!(class, "ScriptedOutage");
    assert!(*delay <= 2, "first retry ceiling is the base: {delay}");
    let stored = stack.store.get("stripe:evt_flaky").await.unwrap().unwrap();
    assert_eq!(stored.status, RecordStatus::Failed);
    assert_eq!(stored.attempts, 1);
    let last_error = stored.last_error.unwrap();
    assert_eq!((last_error.class.as_str(), last_error.message.as_str()), ("ScriptedOutage", "downstream unavailable"));

    // Visible again after the delay: the retry claims it and succeeds, with a higher count.
    let retried = loop {
        if let Some(record) = stack.receive().await {
            break record;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(retried.receive_count, 2);
    let reports = processor.process_batch(vec![retried], DEADLINE).await;
    assert_eq!(reports[0].outcome, RecordOutcome::Processed);
    assert_eq!(handler.effects(), ["stripe:evt_flaky"]);
    assert_eq!(stack.store.get("stripe:evt_flaky").await.unwrap().unwrap().attempts, 2);
}

#[tokio::test]
async fn a_permanent_failure_lands_in_the_dead_letter_queue_with_its_error() {
    let stack = stack().await;
    let handler = ScriptedHandler::new();
    handler.fail_permanently("stripe:evt_poison");
    let reports =
        stack.processor(handler, NOW).process_batch(vec![record(envelope("stripe:evt_poison", "{}"))], DEADLINE).await;
    assert!(reports[0].outcome.acknowledged());
    let dead = drain(&stack.sqs, &stack.dlq_url).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(Envelope::from_json(&dead[0].body).unwrap().event_id, "stripe:evt_poison");
    assert_eq!(dead[0].attributes[dead_letter_attribute::ERROR_CLASS], "ScriptedPoison");
    assert_eq!(dead[0].attributes[dead_letter_attribute::ERROR_KIND], "permanent");
    assert_eq!(dead[0].attributes["hookline.event_id"], "stripe:evt_poison");
    assert_eq!(
        stack.store.get("stripe:evt_poison").await.unwrap().unwrap().last_error.unwrap().class,
        "ScriptedPoison"
    );
}

#[tokio::test]
async fn a_payload_conflict_is_detected_by_the_real_store() {
    let stack = stack().await;
    let sink = stack.sink();
    let processor = stack.processor(sink.clone(), NOW);
    processor.process_batch(vec![record(envelope("stripe:evt_same", "{\"v\":1}"))], DEADLINE).await;
    let reports = processor.process_batch(vec![record(envelope("stripe:evt_same", "{\"v\":2}"))], DEADLINE).await;
    assert_eq!(reports[0].outcome, RecordOutcome::DeadLettered { class: "PayloadConflict".into() });
    assert_eq!(item_count(&stack.dynamodb, &stack.events_table).await, 1);
    let dead = drain(&stack.sqs, &stack.dlq_url).await;
    assert_eq!(dead[0].attributes[dead_letter_attribute::ERROR_CLASS], "PayloadConflict");
}
