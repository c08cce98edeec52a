//! The dead-letter path end to end, through the running local stack (`make test`): ingest,
//! main queue, processor, dead-letter queue, reprocess, ledger, parking queue, and the
//! operator's redrive. Failures are injected with payload markers (the test stack runs with
//! `HOOKLINE_FAULT_INJECTION=payload_markers`, MaxReceiveCount 2, a replay budget of 1 and
//! one-second delays). `acme` keeps the default destination (the events table alone, no
//! claim); the redrive tests use `acme-claimed` (the table and EventBridge, under a claim),
//! whose claim counts attempts across a redrive, which a marker needs to stop failing once an
//! operator sends the event back.

use std::process::Command;
use std::time::Duration;

use hookline_aws::DynamoLedger;
use hookline_domain::Envelope;
use hookline_domain::dead_letter::LedgerStatus;
use hookline_ports::{DeadLetterLedger, LedgerRecord};
use hookline_tests::stack::{eventually, item, post_signed, required, stored_event};
use hookline_tests::{queue_arn, sdk_config, unique_name};

/// These tests share the stack's dead-letter and parking queues: they take turns.
static QUEUES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LIMIT: Duration = Duration::from_secs(120);

struct Clients {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    ledger: DynamoLedger,
}

async fn clients() -> Clients {
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    Clients {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ledger: DynamoLedger::new(dynamodb.clone(), required("HOOKLINE_LEDGER_TABLE")),
        dynamodb,
    }
}

/// Sends a webhook that fails as `fault` says; returns its event id.
fn send_faulty(fault: &str) -> String {
    send_faulty_to("acme", fault)
}

/// [`send_faulty`] for another Standard Webhooks source.
fn send_faulty_to(source: &str, fault: &str) -> String {
    let sender_id = unique_name("msg_dead");
    let body = format!(r#"{{"type":"invoice.paid","hookline_fault":"{fault}"}}"#);
    let (status, response) = post_signed(source, body.as_bytes(), &sender_id);
    assert_eq!(status, 202, "{response}");
    format!("{source}:{sender_id}")
}

/// One receive of up to 10 messages, with `visibility_timeout`: the ids of those for
/// `event_id`, or `None` when the receive saw no message at all.
async fn receive_for(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event_id: &str,
    visibility_timeout: i32,
) -> Option<Vec<String>> {
    let messages = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_timeout)
        .send()
        .await
        .unwrap()
        .messages
        .filter(|messages| !messages.is_empty())?;
    Some(
        messages
            .into_iter()
            .filter(|m| Envelope::from_json(m.body().unwrap_or_default()).is_ok_and(|e| e.event_id == event_id))
            .map(|m| m.message_id.unwrap_or_default())
            .collect(),
    )
}

/// Whether a message for `event_id` is in the queue, looked at without hiding anything.
async fn queue_holds(sqs: &aws_sdk_sqs::Client, queue_url: &str, event_id: &str) -> bool {
    for _ in 0..5 {
        if receive_for(sqs, queue_url, event_id, 0).await.is_some_and(|ids| !ids.is_empty()) {
            return true;
        }
    }
    false
}

async fn ledger_with(clients: &Clients, event_id: &str, status: LedgerStatus) -> LedgerRecord {
    eventually(&format!("{event_id} in the ledger as {status:?}"), LIMIT, || async {
        clients.ledger.get(event_id).await.unwrap().filter(|r| r.latest.status == status)
    })
    .await
}

#[tokio::test]
async fn a_poison_webhook_ends_in_the_parking_queue_with_its_ledger_record() {
    let _turn = QUEUES.lock().await;
    let clients = clients().await;
    let event_id = send_faulty("poison");

    let record = ledger_with(&clients, &event_id, LedgerStatus::Parked).await;
    let failure = record.latest.failure.clone().expect("the failure is recorded");
    assert_eq!(failure.class, "InjectedPoison");
    assert_eq!(record.latest.source.as_deref(), Some("acme"));
    assert_eq!(Envelope::from_json(&record.latest.envelope).unwrap().event_id, event_id);
    assert_eq!(record.history.len(), 1, "{record:?}");
    assert_eq!(record.history[0].error_class.as_deref(), Some("InjectedPoison"));

    let parking = required("HOOKLINE_RESOURCE_PARKING_QUEUE");
    eventually("the poison message in the parking queue", LIMIT, || async {
        queue_holds(&clients.sqs, &parking, &event_id).await.then_some(())
    })
    .await;
    let events_table = required("HOOKLINE_EVENTS_TABLE");
    assert!(item(&clients.dynamodb, &events_table, &event_id).await.is_none(), "poison must have no effect");

    // What the operator sees.
    let listed = hookline(&["dlq", "list", "--status", "parked"]);
    assert!(listed.lines().any(|l| l.starts_with(&format!("{event_id}\tPARKED\tacme\t0\tInjectedPoison"))), "{listed}");
    let shown: serde_json::Value = serde_json::from_str(&hookline(&["dlq", "show", &event_id])).unwrap();
    assert_eq!(shown["last_error"]["class"], "InjectedPoison");
    let dry = hookline(&["dlq", "replay", &event_id, "--dry-run"]);
    assert!(dry.contains(&format!("would replay {event_id}")), "{dry}");
    assert_eq!(clients.ledger.get(&event_id).await.unwrap().unwrap().latest.status, LedgerStatus::Parked);
}

/// Runs the `hookline` command with the stack's environment; returns its standard output.
fn hookline(args: &[&str]) -> String {
    let output = Command::new("cargo")
        .args(["run", "-q", "-p", "hookline-cli", "--"])
        .args(args)
        .output()
        .expect("running hookline");
    assert!(output.status.success(), "hookline {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_transient_failure_is_replayed_and_then_succeeds_exactly_once() {
    let _turn = QUEUES.lock().await;
    let clients = clients().await;
    // Attempts 1-2 fail on the main queue (MaxReceiveCount 2), it is dead-lettered and
    // replayed; attempt 3 fails again, attempt 4 succeeds.
    let event_id = send_faulty("transient:3");
    let stored = stored_event(&clients.dynamodb, &event_id).await;
    assert_eq!(stored["attempt"].as_n().unwrap(), "4");
    let record = clients.ledger.get(&event_id).await.unwrap().expect("the replay is in the ledger");
    assert_eq!((record.latest.status, record.latest.replay_count), (LedgerStatus::Replayed, 1));
    assert_eq!(record.latest.failure.unwrap().class, "InjectedOutage");
}

#[tokio::test]
async fn a_completed_duplicate_arriving_in_the_dead_letter_queue_is_dropped() {
    let _turn = QUEUES.lock().await;
    let clients = clients().await;
    let sender_id = unique_name("msg_dup");
    let body = br#"{"type":"invoice.paid"}"#;
    assert_eq!(post_signed("acme", body, &sender_id).0, 202);
    let event_id = format!("acme:{sender_id}");
    stored_event(&clients.dynamodb, &event_id).await;

    // The same event reaches the dead-letter queue (as a redelivered duplicate would).
    let envelope = Envelope {
        source: "acme".into(),
        event_id: event_id.clone(),
        scheme: "standard_webhooks".into(),
        received_at: "2026-11-28T12:00:00.000Z".into(),
        content_type: Some("application/json".into()),
        headers: Default::default(),
        signed_headers: Default::default(),
        event_type: None,
        body: body.to_vec(),
        stored_body: None,
        body_is_json: hookline_domain::envelope::is_embeddable_json(body),
        destinations: Default::default(),
    }
    .to_json();
    let dlq = required("HOOKLINE_DLQ_URL");
    clients.sqs.send_message().queue_url(&dlq).message_body(envelope).send().await.unwrap();

    eventually("the dead-letter queue to be empty again", LIMIT, || async {
        (hookline_tests::depth(&clients.sqs, &dlq).await == 0).then_some(())
    })
    .await;
    assert!(clients.ledger.get(&event_id).await.unwrap().is_none(), "a dropped duplicate is not a dead letter");
    assert!(!queue_holds(&clients.sqs, &required("HOOKLINE_RESOURCE_PARKING_QUEUE"), &event_id).await);
}

/// A transiently failing webhook parked, then (once its "outage" is over) sent back as an
/// operator would: `redrive` is the console's "Start DLQ redrive" or the CLI's move-task mode.
/// Either way the processor completes it once, and the ledger keeps every sighting.
async fn parked_then_redriven(redrive: impl AsyncFnOnce(&Clients, &str, &str)) -> LedgerRecord {
    let _turn = QUEUES.lock().await;
    let clients = clients().await;
    let event_id = send_faulty_to("acme-claimed", "transient:5");
    ledger_with(&clients, &event_id, LedgerStatus::Parked).await;
    let parking = required("HOOKLINE_RESOURCE_PARKING_QUEUE");
    eventually("the message in the parking queue", LIMIT, || async {
        queue_holds(&clients.sqs, &parking, &event_id).await.then_some(())
    })
    .await;

    redrive(&clients, &parking, &required("HOOKLINE_QUEUE_URL")).await;

    let stored = stored_event(&clients.dynamodb, &event_id).await;
    assert_eq!(stored["event_id"].as_s().unwrap(), &event_id);
    // The table is written first, under the claim; COMPLETED follows EventBridge's put.
    let table = required("HOOKLINE_IDEMPOTENCY_TABLE");
    let record = eventually("the claim to be COMPLETED", LIMIT, || async {
        item(&clients.dynamodb, &table, &event_id).await.filter(|r| r["status"].as_s().is_ok_and(|s| s == "COMPLETED"))
    })
    .await;
    assert_eq!(record["attempts"].as_n().unwrap(), "6", "processed once after the redrive");
    let ledger = clients.ledger.get(&event_id).await.unwrap().unwrap();
    assert!(ledger.history.len() >= 2, "every dead letter of the event recorded: {:?}", ledger.history);
    assert!(!queue_holds(&clients.sqs, &parking, &event_id).await, "nothing left parked");
    ledger
}

/// StartMessageMoveTask from `source` (to `destination`, or without one back to where each
/// message was dead-lettered from), waited for until COMPLETED.
async fn move_task(clients: &Clients, source: &str, destination: Option<&str>) {
    let source_arn = queue_arn(&clients.sqs, source).await;
    let destination_arn = match destination {
        Some(queue) => Some(queue_arn(&clients.sqs, queue).await),
        None => None,
    };
    let started = clients
        .sqs
        .start_message_move_task()
        .source_arn(&source_arn)
        .set_destination_arn(destination_arn)
        .send()
        .await
        .unwrap();
    assert!(started.task_handle.is_some());
    eventually("the move task to complete", LIMIT, || async {
        let tasks = clients.sqs.list_message_move_tasks().source_arn(&source_arn).send().await.unwrap();
        let status = tasks.results.unwrap_or_default().into_iter().next()?.status?;
        (status == "COMPLETED").then_some(())
    })
    .await;
}

/// The console's "Redrive to source queue" on the parking queue: the move task without a
/// destination brings the parked copy back to the dead-letter queue it was parked from;
/// reprocess knows it (its letter id) and replays it at once with a fresh budget.
#[tokio::test]
async fn the_consoles_redrive_to_source_sends_a_parked_event_back_through_reprocess_once() {
    let ledger = parked_then_redriven(async |clients: &Clients, parking: &str, _: &str| {
        move_task(clients, parking, None).await;
    })
    .await;
    let statuses: Vec<_> = ledger.history.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [LedgerStatus::Replayed, LedgerStatus::Parked, LedgerStatus::Redriven], "{ledger:?}");
    assert_eq!(ledger.latest.status, LedgerStatus::Redriven);
}

/// The console's "Redrive to a custom destination" (the main queue, as docs/runbook.md says):
/// StartMessageMoveTask from the parking queue to the main queue, against the emulator's move tasks.
#[tokio::test]
async fn the_consoles_redrive_to_the_main_queue_completes_a_parked_event_once() {
    parked_then_redriven(async |clients: &Clients, parking: &str, main: &str| {
        move_task(clients, parking, Some(main)).await;
    })
    .await;
}

/// Messages for `event_id` in the queue, each counted once: received with a short
/// visibility timeout until none is left to see.
async fn count_in_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str, event_id: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    while let Some(ids) = receive_for(sqs, queue_url, event_id, 3).await {
        seen.extend(ids);
    }
    seen.len()
}

/// The same poison webhook delivered twice makes two dead letters: one is parked, the other
/// recorded in the ledger as a duplicate sighting, so the operator sees one parked message.
#[tokio::test]
async fn a_poison_event_delivered_twice_is_parked_once_with_both_sightings() {
    let _turn = QUEUES.lock().await;
    let clients = clients().await;
    let sender_id = unique_name("msg_twice");
    let body = br#"{"type":"invoice.paid","hookline_fault":"poison"}"#;
    for _ in 0..2 {
        assert_eq!(post_signed("acme", body, &sender_id).0, 202);
    }
    let event_id = format!("acme:{sender_id}");
    let record = eventually("both dead letters in the ledger", LIMIT, || async {
        clients.ledger.get(&event_id).await.unwrap().filter(|r| r.history.len() == 2)
    })
    .await;
    let statuses: Vec<_> = record.history.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [LedgerStatus::Parked, LedgerStatus::Duplicate], "{record:?}");
    assert_eq!(record.latest.status, LedgerStatus::Parked);
    let parking = required("HOOKLINE_RESOURCE_PARKING_QUEUE");
    eventually("the parked copy in the parking queue", LIMIT, || async {
        queue_holds(&clients.sqs, &parking, &event_id).await.then_some(())
    })
    .await;
    assert_eq!(count_in_queue(&clients.sqs, &parking, &event_id).await, 1);
    assert_eq!(hookline_tests::depth(&clients.sqs, &required("HOOKLINE_DLQ_URL")).await, 0);
}

/// With the CLI's client mode (receive, send, delete), which works against any endpoint.
#[tokio::test]
async fn a_parked_message_redriven_with_the_cli_is_processed_exactly_once() {
    // Fails on attempts 1-4: two trips through the main queue spend the replay budget, so it
    // is parked; by the time the operator redrives it, the "outage" is over (attempt 6).
    parked_then_redriven(async |_: &Clients, parking: &str, main: &str| {
        let summary = hookline(&["redrive", "--mode", "client", "--from", parking, "--to", main]);
        assert!(summary.contains("moved"), "{summary}");
    })
    .await;
}

/// The same with the CLI: `hookline redrive --mode move-task --wait`.
#[tokio::test]
async fn the_clis_move_task_redrive_completes_a_parked_event_once() {
    parked_then_redriven(async |_: &Clients, parking: &str, main: &str| {
        let summary = hookline(&[
            "redrive",
            "--mode",
            "move-task",
            "--from",
            parking,
            "--to",
            main,
            "--wait",
            "--poll-interval",
            "1",
        ]);
        assert!(summary.contains("move task COMPLETED"), "{summary}");
    })
    .await;
}
