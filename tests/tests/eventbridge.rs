//! The EventBridge destination on the local stack (started by `make test`): a rule routing
//! `hookline.*` sources to an SQS queue of this test's sees one event per accepted webhook,
//! with the documented source, detail type, time and detail; a duplicate and a retried
//! webhook add none; a source switched to EventBridge in the sources secret is routed there
//! within the sources TTL, without a restart; and when `PutEvents` fails some entries
//! (`FailedEntryCount`) or throttles a request (the emulator's fault script), only those
//! records are retried.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::Target;
use hookline_tests::stack::{post_signed, required, stored_event};
use hookline_tests::{create_queue, queue_arn, sdk_config, unique_name};
use serde_json::Value;

struct Bus {
    sqs: aws_sdk_sqs::Client,
    queue: String,
}

/// A rule on the stack's bus sending `hookline.<source>` events of `sources` to a new queue.
async fn bus_queue(sources: &[&str]) -> Bus {
    let sdk = sdk_config().await;
    let (sqs, events) = (aws_sdk_sqs::Client::new(&sdk), aws_sdk_eventbridge::Client::new(&sdk));
    let queue = create_queue(&sqs, "bus-events").await;
    let rule = unique_name("hookline-test");
    let pattern = serde_json::json!({"source": sources.iter().map(|s| format!("hookline.{s}")).collect::<Vec<_>>()});
    let bus = required("HOOKLINE_EVENT_BUS");
    events.put_rule().name(&rule).event_bus_name(&bus).event_pattern(pattern.to_string()).send().await.unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(Target::builder().id("queue").arn(queue_arn(&sqs, &queue).await).build().unwrap())
        .send()
        .await
        .unwrap();
    Bus { sqs, queue }
}

impl Bus {
    /// Every event on the queue so far, waiting up to `wait` for the first.
    async fn receive(&self, wait: Duration) -> Vec<Value> {
        let started = Instant::now();
        let mut events = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            for message in &messages {
                events.push(serde_json::from_str(message.body().unwrap()).unwrap());
                let handle = message.receipt_handle().unwrap();
                self.sqs.delete_message().queue_url(&self.queue).receipt_handle(handle).send().await.unwrap();
            }
            if messages.is_empty() && (!events.is_empty() || started.elapsed() > wait) {
                return events;
            }
        }
    }

    /// The events of `event_id`, once at least one arrived (up to `wait`), then for as long
    /// as more keep coming.
    async fn events_of(&self, event_id: &str, wait: Duration, seen: &mut Vec<Value>) -> Vec<Value> {
        let started = Instant::now();
        loop {
            seen.extend(self.receive(Duration::from_secs(1)).await);
            let found: Vec<Value> = seen.iter().filter(|e| e["detail"]["event_id"] == event_id).cloned().collect();
            if !found.is_empty() || started.elapsed() > wait {
                return found;
            }
        }
    }
}

fn accepted_id(source: &str, body: &[u8]) -> String {
    let (status, response) = post_signed(source, body, "");
    assert_eq!(status, 202, "{response}");
    let response: Value = serde_json::from_str(&response).unwrap();
    response["event_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_event_per_accepted_webhook_with_the_documented_fields() {
    let bus = bus_queue(&["bus", "bus-both"]).await;
    let mut seen = Vec::new();
    let body = format!(r#"{{"order":"{}","amount":12}}"#, unique_name("o"));
    let event_id = accepted_id("bus", body.as_bytes());
    let events = bus.events_of(&event_id, Duration::from_secs(60), &mut seen).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["source"], "hookline.bus");
    assert_eq!(event["detail-type"], "webhook", "the generic scheme names no event type");
    let detail = &event["detail"];
    assert_eq!(detail["source"], "bus");
    assert_eq!(detail["scheme"], "hmac_sha256");
    assert_eq!(detail["body"]["amount"], 12, "a JSON body travels as JSON");
    let received_at = detail["received_at"].as_str().unwrap();
    assert_eq!(event["time"].as_str().unwrap(), format!("{}Z", &received_at[..19]), "Time is received_at");

    // The same webhook again (its duplicate) and a webhook failing once (fault injection):
    // neither adds an event beyond its one.
    assert_eq!(accepted_id("bus", body.as_bytes()), event_id);
    let flaky = format!(r#"{{"order":"{}","hookline_fault":"transient:1"}}"#, unique_name("o"));
    let flaky_id = accepted_id("bus", flaky.as_bytes());
    let flaky_events = bus.events_of(&flaky_id, Duration::from_secs(60), &mut seen).await;
    assert_eq!(flaky_events.len(), 1);
    // The duplicate was sent before the flaky webhook, which took a retry: a second event of
    // the first would have arrived by now, or arrives within these seconds.
    seen.extend(bus.receive(Duration::from_secs(3)).await);
    let count = |id: &str| seen.iter().filter(|e| e["detail"]["event_id"] == id).count();
    assert_eq!((count(&event_id), count(&flaky_id)), (1, 1), "{seen:?}");

    // Both destinations: the event is in the table and on the bus.
    let both_id = accepted_id("bus-both", format!(r#"{{"n":"{}"}}"#, unique_name("b")).as_bytes());
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let item = stored_event(&dynamodb, &both_id).await;
    assert_eq!(item["source"].as_s().unwrap(), "bus-both");
    assert_eq!(bus.events_of(&both_id, Duration::from_secs(60), &mut seen).await.len(), 1);
}

/// Puts the original sources document back when dropped.
struct Restore {
    secrets: aws_sdk_secretsmanager::Client,
    secret: String,
    original: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let (secrets, secret, original) = (self.secrets.clone(), self.secret.clone(), self.original.clone());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async move {
                secrets.put_secret_value().secret_id(secret).secret_string(original).send().await.unwrap();
            })
        })
        .join()
        .unwrap();
    }
}

#[tokio::test]
async fn a_source_switched_in_the_secret_is_routed_within_the_ttl() {
    let bus = bus_queue(&["bus-switch"]).await;
    let sdk = sdk_config().await;
    let (secrets, dynamodb) = (aws_sdk_secretsmanager::Client::new(&sdk), aws_sdk_dynamodb::Client::new(&sdk));
    let secret = required("HOOKLINE_SOURCES_SECRET_ID");
    let ttl = Duration::from_secs(required("HOOKLINE_SOURCES_TTL_SECONDS").parse().unwrap());

    let before = accepted_id("bus-switch", format!(r#"{{"n":"{}"}}"#, unique_name("s")).as_bytes());
    stored_event(&dynamodb, &before).await;

    let original = secrets.get_secret_value().secret_id(&secret).send().await.unwrap().secret_string.unwrap();
    let _restore = Restore { secrets: secrets.clone(), secret: secret.clone(), original: original.clone() };
    let mut document: Value = serde_json::from_str(&original).unwrap();
    document["sources"]["bus-switch"]["destination"] = "eventbridge".into();
    secrets.put_secret_value().secret_id(&secret).secret_string(document.to_string()).send().await.unwrap();
    let switched = Instant::now();

    // Webhooks accepted from now on: every one accepted after the TTL goes to the bus.
    let mut sent = BTreeMap::new();
    let mut seen = Vec::new();
    let routed_after = loop {
        assert!(switched.elapsed() < ttl + Duration::from_secs(60), "no bus-switch event reached the bus");
        let id = accepted_id("bus-switch", format!(r#"{{"n":"{}"}}"#, unique_name("s")).as_bytes());
        sent.insert(id, switched.elapsed());
        seen.extend(bus.receive(Duration::from_millis(500)).await);
        if let Some(at) = seen.iter().filter_map(|e| e["detail"]["event_id"].as_str()).find_map(|id| sent.get(id)) {
            break *at;
        }
    };
    assert!(routed_after <= ttl + Duration::from_secs(2), "routed {routed_after:?} after the switch (TTL {ttl:?})");
    // And one accepted a TTL after the switch certainly is.
    tokio::time::sleep((ttl + Duration::from_secs(1)).saturating_sub(switched.elapsed())).await;
    let late = accepted_id("bus-switch", format!(r#"{{"n":"{}"}}"#, unique_name("s")).as_bytes());
    assert_eq!(bus.events_of(&late, Duration::from_secs(60), &mut seen).await.len(), 1);
}

/// Scripts the emulator's `PutEvents` failures (infra/local/moto_server.py); returns its
/// answer (the script, and how many entries and requests it failed so far).
fn fault_script(script: &Value) -> Value {
    let url = format!("{}/_hookline/eventbridge-faults", required("AWS_ENDPOINT_URL"));
    let output = std::process::Command::new("curl")
        .args(["-sS", "-f", "-X", "POST", "--data-binary", &script.to_string(), &url])
        .output()
        .expect("running curl");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The fault script's state: what it failed so far.
fn fault_script_state() -> Value {
    let url = format!("{}/_hookline/eventbridge-faults", required("AWS_ENDPOINT_URL"));
    let output = std::process::Command::new("curl").args(["-sS", "-f", &url]).output().expect("running curl");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Clears the fault script when dropped.
struct ClearFaults;

impl Drop for ClearFaults {
    fn drop(&mut self) {
        fault_script(&serde_json::json!({}));
    }
}

/// `PutEvents` answers one entry as failed (`FailedEntryCount`, `ThrottlingException`) and
/// throttles every attempt of another one's request: those two records are retried, each
/// event ends up on the bus once, and the record that did not fail is not retried.
#[tokio::test]
async fn only_the_records_whose_entries_failed_are_retried() {
    use hookline_aws::DynamoIdempotencyStore;
    use hookline_ports::IdempotencyStore;

    let bus = bus_queue(&["bus"]).await;
    let run = unique_name("faults");
    let marker = |name: &str| format!("{run}-{name}");
    let _clear = ClearFaults;
    fault_script(&serde_json::json!({
        "entries": [{"detail_contains": marker("entry"), "error_code": "ThrottlingException", "times": 1}],
        // More than the SDK's 3 attempts: the processor's own retry is what gets it through.
        "requests": [{"detail_contains": marker("request"), "error_code": "ThrottlingException", "times": 3}],
    }));
    let ids: Vec<String> = ["entry", "request", "fine"]
        .iter()
        .map(|name| accepted_id("bus", format!(r#"{{"order":"{}"}}"#, marker(name)).as_bytes()))
        .collect();
    let mut seen = Vec::new();
    for id in &ids {
        assert_eq!(bus.events_of(id, Duration::from_secs(90), &mut seen).await.len(), 1, "{id}");
    }
    let spent = fault_script_state();
    assert!(
        spent["entries_failed"].as_u64() >= Some(1) && spent["requests_failed"].as_u64() >= Some(3),
        "the faults happened: {spent}"
    );
    seen.extend(bus.receive(Duration::from_secs(2)).await);
    for id in &ids {
        assert_eq!(seen.iter().filter(|e| e["detail"]["event_id"] == id.as_str()).count(), 1, "{id} once");
    }
    let store = DynamoIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config().await),
        required("HOOKLINE_IDEMPOTENCY_TABLE"),
    );
    let mut attempts = Vec::new();
    for id in &ids {
        attempts.push(store.get(id).await.unwrap().expect("claimed").attempts);
    }
    assert!(attempts[0] >= 2 && attempts[1] >= 2, "the failed records were retried: {attempts:?}");
    assert_eq!(attempts[2], 1, "the record whose entry was taken ran once: {attempts:?}");
}
