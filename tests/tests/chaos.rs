//! The chaos run: proof, under faults, that no webhook is lost and none takes effect twice.
//!
//! Started by `infra/local/chaos.sh` (reduced in `make test`, full with `make chaos`), which
//! runs a stack of its own: emulator, the three functions on the local Lambda host
//! (`infra/local/lambda_host.py`), the event source mappings. What happens:
//! - `HOOKLINE_CHAOS_EVENTS` distinct events across every source (one per signature scheme),
//!   about 5% failing transiently 1, 2 or 4 times (4 outlasts MaxReceiveCount 3: dead-lettered,
//!   then replayed), about 1% poison, about 24% delivered again (half of those at the same
//!   moment as the original, half later), about 4% replayed later with a fresh value in the
//!   scheme's unsigned delivery id header (GitHub's, Shopify's, GitLab's, Twilio's; the same
//!   request again for the other schemes), about 1% followed by a forged copy, and about 2%
//!   with bodies of 300 KiB to 1 MiB, which travel through the body bucket;
//! - at 30% of the sending the emulator is stopped (SIGSTOP: every AWS call hangs) for 8 s,
//!   during which ingest must answer 503 and the senders re-send; at 55% and 80% the processor
//!   is killed (SIGKILL) while it works on a batch, and at 45% a reprocess invocation if one
//!   holds dead letters within 30 s; the senders keep going throughout, held
//!   back only to keep the queue shallow (the emulator slows down with depth).
//!
//! Then, once the queues are quiet, it asserts: every genuine delivery was accepted and every
//! forged one refused with 401; every delivery of an event, replays included, got the same
//! event id; the events table holds exactly the distinct good events (the
//! effects); no event was processed twice (the processor's own per-record log lines); every
//! poison event is in the parking queue with a PARKED ledger record and no effect; the main and
//! dead-letter queues are empty (nothing in flight) and the parking queue holds nothing else
//! (nothing lost); the faults really happened (503s were answered, batches were interrupted);
//! and no configured secret appears in any log of the run. In the EventBridge mode (chaos.sh's
//! `HOOKLINE_CHAOS_EVENTBRIDGE`, on for half the sources by default) the events of those
//! sources also go to the bus, under a claim: a rule delivers them to a queue of the run's, and
//! every good event of them must be there (0 lost); copies of one (a kill or the outage between
//! a put and its COMPLETED marker) are counted and reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use futures_util::StreamExt;
use hookline_aws::DynamoLedger;
use hookline_domain::Envelope;
use hookline_domain::dead_letter::LedgerStatus;
use hookline_ports::DeadLetterLedger;
use hookline_tests::chaos::faults::{Emulator, function_pids, kill_busy};
use hookline_tests::chaos::logs::{
    configured_secrets, dead_letter_outcomes, failed_invocations, leaked, record_outcomes,
};
use hookline_tests::chaos::plan::{Delivery, PlannedEvent, SOURCES, counts, plan};
use hookline_tests::chaos::sender::{Delivered, Sender, SenderStats, senders_config};
use hookline_tests::chaos::summary::Summary;
use hookline_tests::stack::{now_unix, required};
use hookline_tests::{drain_messages, repo_root, sdk_config};

/// Requests in flight at once, from all senders together.
const SENDERS: usize = 8;
/// Held back while the main queue is deeper than this.
const MAX_QUEUE_DEPTH: u64 = 150;
const OUTAGE: Duration = Duration::from_secs(8);
/// Where, in the sequence of sends, each fault strikes.
const OUTAGE_AT: f64 = 0.30;
const KILLS_AT: [f64; 2] = [0.55, 0.80];
const REPROCESS_KILL_AT: f64 = 0.45;
/// A later duplicate goes out this many sends after its original.
const LATER_BY: f64 = 150.5;

/// A group of deliveries sent at the same moment.
struct Unit {
    event: usize,
    deliveries: Vec<Delivery>,
}

fn schedule(events: &[PlannedEvent]) -> Vec<Unit> {
    let mut keyed: Vec<(f64, Unit)> = Vec::new();
    for event in events {
        let (now, later): (Vec<Delivery>, Vec<Delivery>) =
            event.deliveries.iter().partition(|d| matches!(d, Delivery::Original | Delivery::Concurrent));
        keyed.push((event.index as f64, Unit { event: event.index, deliveries: now }));
        for (n, delivery) in later.into_iter().enumerate() {
            keyed.push((
                event.index as f64 + LATER_BY * (n + 1) as f64,
                Unit { event: event.index, deliveries: vec![delivery] },
            ));
        }
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    keyed.into_iter().map(|(_, unit)| unit).collect()
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    eventbridge: aws_sdk_eventbridge::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

/// The sources the run's sources document routes to EventBridge (chaos.sh's
/// `HOOKLINE_CHAOS_EVENTBRIDGE`), read from the stack's secret.
async fn eventbridge_sources(clients: &Clients) -> BTreeSet<String> {
    let secret = clients
        .secrets
        .get_secret_value()
        .secret_id(required("HOOKLINE_SOURCES_SECRET_ID"))
        .send()
        .await
        .expect("reading the sources secret");
    let document: serde_json::Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let routes = |config: &serde_json::Value| match &config["destination"] {
        serde_json::Value::String(one) => one == "eventbridge",
        serde_json::Value::Array(list) => list.iter().any(|d| d == "eventbridge"),
        _ => false,
    };
    document["sources"].as_object().unwrap().iter().filter(|(_, c)| routes(c)).map(|(n, _)| n.clone()).collect()
}

/// A queue receiving, through a rule on the stack's bus, every event of `sources`.
async fn bus_queue(clients: &Clients, sources: &BTreeSet<String>) -> String {
    let queue = hookline_tests::create_queue(&clients.sqs, "chaos-bus").await;
    let bus = required("HOOKLINE_EVENT_BUS");
    let pattern = serde_json::json!({"source": sources.iter().map(|s| format!("hookline.{s}")).collect::<Vec<_>>()});
    clients
        .eventbridge
        .put_rule()
        .name("chaos-bus-events")
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("creating the rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(hookline_tests::queue_arn(&clients.sqs, &queue).await)
        .build()
        .unwrap();
    clients
        .eventbridge
        .put_targets()
        .rule("chaos-bus-events")
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("adding the rule's target");
    queue
}

/// A queue's message counts by attribute (visible, in flight, delayed); `None` while the
/// emulator does not answer (it is stopped during the outage).
async fn queue_counts(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<HashMap<QueueAttributeName, u64>> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .ok()?
        .attributes?;
    Some(attributes.into_iter().filter_map(|(name, v)| Some((name, v.parse().ok()?))).collect())
}

/// Visible, in flight and delayed messages of a queue.
async fn queue_total(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<u64> {
    Some(queue_counts(sqs, url).await?.values().sum())
}

/// Every `event_id` in a table.
async fn table_keys(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<(String, HashMap<String, AttributeValue>)> {
    let mut keys = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .consistent_read(true)
            .send()
            .await
            .expect("scanning the table");
        for item in page.items() {
            keys.push((item["event_id"].as_s().unwrap().clone(), item.clone()));
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return keys,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "run by infra/local/chaos.sh: `make test` runs it reduced, `make chaos` at full size"]
async fn nothing_is_lost_and_nothing_takes_effect_twice_under_faults() {
    let started = Instant::now();
    let count: usize = required("HOOKLINE_CHAOS_EVENTS").parse().expect("HOOKLINE_CHAOS_EVENTS is a number");
    let run_id = now_unix().to_string();
    let events = Arc::new(plan(&run_id, now_unix(), count));
    let planned = counts(&events);
    let sdk = sdk_config().await;
    let clients = Arc::new(Clients {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        s3: hookline_aws::s3_client(&sdk),
        eventbridge: aws_sdk_eventbridge::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
    });
    let bus_sources = eventbridge_sources(&clients).await;
    let bus_queue = if bus_sources.is_empty() { None } else { Some(bus_queue(&clients, &bus_sources).await) };
    let main_queue = required("HOOKLINE_QUEUE_URL");
    let dead_letter_queue = required("HOOKLINE_DLQ_URL");
    let parking_queue = required("HOOKLINE_RESOURCE_PARKING_QUEUE");
    let emulator = Emulator::from_pid_file(required("HOOKLINE_CHAOS_MOTO_PID_FILE").as_ref());
    let sources_json = std::fs::read_to_string(repo_root().join("infra/local/sources.json")).unwrap();
    let sender = Arc::new(Sender {
        base_url: required("HOOKLINE_INGEST_URL"),
        config: senders_config(&sources_json),
        stats: SenderStats::default(),
        give_up_after: Duration::from_secs(180),
        request_timeout: Duration::from_secs(20),
        max_pause: Duration::from_secs(1),
    });
    // The processes to kill are this stack's, as its local Lambda host reports them.
    let host_url = format!("http://127.0.0.1:{}/", required("HOOKLINE_WATCH_PORT"));
    assert!(
        !function_pids("processor", &required("AWS_ENDPOINT_URL")).is_empty(),
        "the processor is not running: start the stack with chaos.sh"
    );
    println!("chaos: {count} events, run {run_id}: {planned:?}");

    // Backpressure: hold the senders while the main queue is deep.
    let held = Arc::new(AtomicBool::new(false));
    let sending = Arc::new(AtomicBool::new(true));
    let monitor = tokio::spawn({
        let (held, sending, clients, main_queue) = (held.clone(), sending.clone(), clients.clone(), main_queue.clone());
        async move {
            while sending.load(Ordering::Relaxed) {
                let counts = queue_counts(&clients.sqs, &main_queue).await;
                if let Some(depth) =
                    counts.and_then(|c| c.get(&QueueAttributeName::ApproximateNumberOfMessages).copied())
                {
                    held.store(depth > MAX_QUEUE_DEPTH, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });

    // The faults, struck at fixed points of the sending.
    let units = schedule(&events);
    let total_units = units.len();
    let dispatched = Arc::new(AtomicUsize::new(0));
    let kills = Arc::new(AtomicUsize::new(0));
    // Once the outage is over, kill a reprocess invocation too, if one holds dead letters
    // within 30 s (they come only now and then, so this is a chance, not a certainty): its
    // letters must be settled at their second look, not parked.
    let reprocess_kills = Arc::new(AtomicUsize::new(0));
    let reprocess_fault = tokio::spawn({
        let (dispatched, reprocess_kills, host_url) = (dispatched.clone(), reprocess_kills.clone(), host_url.clone());
        async move {
            while (dispatched.load(Ordering::Relaxed) as f64) < REPROCESS_KILL_AT * total_units as f64 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let killed = kill_busy(&host_url, "reprocess", Duration::from_secs(30)).await;
            println!("chaos: killed reprocess environment {killed:?} at {:?}", started.elapsed());
            reprocess_kills.fetch_add(usize::from(killed.is_some()), Ordering::Relaxed);
        }
    });

    let faults = tokio::spawn({
        let (dispatched, kills, sending) = (dispatched.clone(), kills.clone(), sending.clone());
        async move {
            let reached = |fraction: f64| dispatched.load(Ordering::Relaxed) as f64 >= fraction * total_units as f64;
            while !reached(OUTAGE_AT) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            println!("chaos: emulator stopped at {:?}", started.elapsed());
            emulator.stop();
            tokio::time::sleep(OUTAGE).await;
            emulator.resume();
            println!("chaos: emulator continued at {:?}", started.elapsed());
            for at in KILLS_AT {
                while !reached(at) && sending.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                // Kill a processor while it holds a batch, until one such batch dies with it
                // (the event source mapping logs the failed invocation).
                for _ in 0..5 {
                    let before = interrupted_so_far();
                    let killed = kill_busy(&host_url, "processor", Duration::from_secs(20)).await;
                    println!("chaos: killed processor environment {killed:?} at {:?}", started.elapsed());
                    kills.fetch_add(usize::from(killed.is_some()), Ordering::Relaxed);
                    let waited = Instant::now();
                    while interrupted_so_far() == before && waited.elapsed() < Duration::from_secs(20) {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    if interrupted_so_far() > before {
                        break;
                    }
                }
            }
        }
    });

    let results: Vec<(usize, Delivery, Delivered)> = futures_util::stream::iter(units)
        .map(|unit| {
            let (sender, events, held, dispatched) = (sender.clone(), events.clone(), held.clone(), dispatched.clone());
            async move {
                while held.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                dispatched.fetch_add(1, Ordering::Relaxed);
                let event = &events[unit.event];
                let sends = unit.deliveries.iter().map(|d| sender.deliver(event, *d));
                let answers = futures_util::future::join_all(sends).await;
                unit.deliveries.into_iter().zip(answers).map(|(d, a)| (unit.event, d, a)).collect::<Vec<_>>()
            }
        })
        .buffer_unordered(SENDERS)
        .flat_map(futures_util::stream::iter)
        .collect()
        .await;
    faults.await.expect("the fault schedule ran");
    reprocess_fault.await.expect("the reprocess kill ran");
    sending.store(false, Ordering::Relaxed);
    monitor.await.unwrap();
    let sent_in = started.elapsed();
    println!("chaos: all sent in {sent_in:?}; waiting for the queues to settle");

    // Settled: main and dead-letter queues empty twice in a row, a few seconds apart.
    let limit = Duration::from_secs(120 + count as u64 / 10);
    let settle_started = Instant::now();
    let mut quiet_checks = 0;
    while quiet_checks < 2 {
        assert!(settle_started.elapsed() < limit, "the queues did not settle within {limit:?}");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let main = queue_total(&clients.sqs, &main_queue).await;
        let dead = queue_total(&clients.sqs, &dead_letter_queue).await;
        quiet_checks = if main == Some(0) && dead == Some(0) { quiet_checks + 1 } else { 0 };
    }
    let settled_in = started.elapsed();

    // What was accepted, per event.
    let mut accepted_ids: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (index, delivery, delivered) in &results {
        match (delivery, delivered) {
            (Delivery::Forged, Delivered::Rejected { status: 401 }) => {}
            (Delivery::Forged, other) => problems.push(format!("forged copy of event {index}: {other:?}")),
            (_, Delivered::Accepted { event_id }) => {
                accepted_ids.entry(*index).or_default().insert(event_id.clone());
            }
            (_, other) => problems.push(format!("event {index} ({delivery:?}): {other:?}")),
        }
    }
    let event_id_of: HashMap<usize, String> = accepted_ids
        .iter()
        .map(|(index, ids)| {
            assert_eq!(ids.len(), 1, "every delivery of event {index} gets the same event id: {ids:?}");
            (*index, ids.iter().next().unwrap().clone())
        })
        .collect();
    let good: BTreeSet<String> =
        events.iter().filter(|e| e.is_good()).filter_map(|e| event_id_of.get(&e.index).cloned()).collect();
    let poison: BTreeSet<String> =
        events.iter().filter(|e| !e.is_good()).filter_map(|e| event_id_of.get(&e.index).cloned()).collect();

    // The effects, the idempotency records and the parked messages.
    let effects: BTreeSet<String> =
        table_keys(&clients.dynamodb, &required("HOOKLINE_EVENTS_TABLE")).await.into_iter().map(|(id, _)| id).collect();
    let idempotency = table_keys(&clients.dynamodb, &required("HOOKLINE_IDEMPOTENCY_TABLE")).await;
    let completed: BTreeSet<String> = idempotency
        .iter()
        .filter(|(_, item)| item.get("status").and_then(|s| s.as_s().ok()).is_some_and(|s| s == "COMPLETED"))
        .map(|(id, _)| id.clone())
        .collect();
    let stored_bodies = stored_body_count(&clients.s3, &required("HOOKLINE_BODY_BUCKET")).await;
    let parked_messages = drain_messages(&clients.sqs, &parking_queue).await;
    let parked: Vec<String> = parked_messages
        .iter()
        .map(|m| {
            Envelope::from_json(m.body().unwrap_or_default()).map(|e| e.event_id).unwrap_or_else(|e| format!("<{e}>"))
        })
        .collect();
    let parked_set: BTreeSet<String> = parked.iter().cloned().collect();
    // The bus: the events a rule delivered, per event id.
    let source_of = |event_id: &str| event_id.split(':').next().unwrap_or_default().to_owned();
    let on_bus = |id: &String| bus_sources.contains(&source_of(id));
    let mut bus_events: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(queue) = &bus_queue {
        for message in drain_messages(&clients.sqs, queue).await {
            let event: serde_json::Value = serde_json::from_str(message.body().unwrap_or_default()).unwrap();
            let id = event["detail"]["event_id"].as_str().unwrap_or("<no event id>").to_owned();
            if event["source"] != format!("hookline.{}", source_of(&id)) {
                problems.push(format!("bus event {id} has source {}", event["source"]));
            }
            *bus_events.entry(id).or_default() += 1;
        }
    }
    let bus_expected: BTreeSet<String> = good.iter().filter(|id| on_bus(id)).cloned().collect();
    let bus_delivered: BTreeSet<String> = bus_events.keys().cloned().collect();
    let bus_lost: Vec<&String> = bus_expected.difference(&bus_delivered).collect();
    let bus_unexpected: Vec<&String> = bus_delivered.difference(&bus_expected).collect();
    let bus_duplicates: usize = bus_events.values().map(|n| n - 1).sum();
    let claimed: BTreeSet<&String> = idempotency.iter().map(|(key, _)| key).collect();
    let claimed_table_only: Vec<&String> = good.iter().filter(|id| !on_bus(id) && claimed.contains(id)).collect();

    let ledger = DynamoLedger::new(clients.dynamodb.clone(), required("HOOKLINE_LEDGER_TABLE"));
    let mut poison_ledgered = 0;
    for event_id in &poison {
        match ledger.get(event_id).await.expect("reading the ledger") {
            Some(record)
                if record.latest.status == LedgerStatus::Parked
                    && record.latest.failure.as_ref().is_some_and(|f| f.class == "InjectedPoison") =>
            {
                poison_ledgered += 1
            }
            other => problems.push(format!("poison {event_id} has no PARKED ledger record: {other:?}")),
        }
    }

    // The logs of the run.
    let log_paths: Vec<String> = required("HOOKLINE_CHAOS_LOGS").split(':').map(str::to_owned).collect();
    let logs: Vec<(String, String)> = log_paths
        .iter()
        .map(|p| (p.clone(), std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading log {p}: {e}"))))
        .collect();
    let all_logs: String = logs.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n");
    let outcomes = record_outcomes(&all_logs);
    let dead_letters = dead_letter_outcomes(&all_logs);
    let interrupted = failed_invocations(&all_logs, "processor");
    let twice: Vec<(&String, &usize)> = outcomes.processed.iter().filter(|(_, n)| **n > 1).collect();
    let secrets = configured_secrets(&sources_json);

    let stats = &sender.stats;
    let accepted = stats.accepted.load(Ordering::Relaxed);
    let distinct_accepted = event_id_of.len();
    let mut summary = Summary::default();
    summary
        .row(
            "distinct events",
            planned.events,
            &format!("planned, across {n} sources / {n} signature schemes", n = SOURCES.len()),
        )
        .row("  good", planned.good, "must take effect exactly once")
        .row("  poison", planned.poison, "must be parked with a ledger record, no effect")
        .row("  transient", planned.transient, "fail 1, 2 or 4 times, then succeed")
        .row("deliveries planned", planned.events + planned.duplicates + planned.forged, "")
        .row("  duplicates", planned.duplicates, "redelivered copies")
        .row("  concurrent", planned.concurrent_duplicates, "sent at the same moment as the original")
        .row("  replayed", planned.replayed, "fresh unsigned delivery id, same signed bytes")
        .row("  forged", planned.forged, "body not what was signed")
        .row("  large", planned.large, "300 KiB to 1 MiB: through the body bucket")
        .row("HTTP requests sent", stats.requests.load(Ordering::Relaxed), "including re-sends")
        .row("accepted (202)", accepted, "")
        .row("rejected (4xx)", format!("{:?}", stats.rejected.lock().unwrap()), "by status")
        .row("503 answered", stats.unavailable.load(Ordering::Relaxed), "during the emulator outage; re-sent")
        .row("timed out (408)", stats.timed_out.load(Ordering::Relaxed), "invocation outlived its timeout; re-sent")
        .row("transport errors", stats.transport_errors.load(Ordering::Relaxed), "no answer; re-sent")
        .row("other statuses", format!("{:?}", stats.other.lock().unwrap()), "must be empty")
        .row("duplicates absorbed", accepted - distinct_accepted, "accepted copies that took no second effect")
        .row("processor: processed", outcomes.count("processed"), "effects committed (log lines)")
        .row("processor: duplicate", outcomes.count("duplicate"), "already completed: acknowledged, no effect")
        .row("processor: retries", outcomes.count("retry"), "transient failure or lock held: back off")
        .row("processor: not started", outcomes.count("not_started"), "deadline too close")
        .row("processor: dead-lettered", outcomes.count("dead_lettered"), "permanent failures")
        .row("reprocess outcomes", format!("{dead_letters:?}"), "dead letters replayed / parked")
        .row("processor kills", kills.load(Ordering::Relaxed), "SIGKILL mid-batch")
        .row(
            "reprocess kills",
            reprocess_kills.load(Ordering::Relaxed),
            "SIGKILL holding dead letters, if one did in time",
        )
        .row("interrupted batches", interrupted, "invocations that died (redelivered after the visibility timeout)")
        .row("emulator outage", format!("{OUTAGE:?}"), "SIGSTOP then SIGCONT")
        .row("parked", parked.len(), "messages in the parking queue")
        .row("effects", effects.len(), "items in the events table")
        .row("bodies stored", stored_bodies, "objects in the body bucket: one per large event")
        .row("effects twice", twice.len(), "events processed more than once: must be 0")
        .row("eventbridge sources", bus_sources.len(), "routed to the table and the bus (HOOKLINE_CHAOS_EVENTBRIDGE)")
        .row("  bus: expected", bus_expected.len(), "good events of those sources")
        .row("  bus: delivered", bus_delivered.len(), "distinct event ids a rule delivered from the bus")
        .row("  bus: duplicates", bus_duplicates, "extra copies (same event id): a kill between put and COMPLETED")
        .row("  bus: lost", bus_lost.len(), "expected, never delivered: must be 0")
        .row("secrets searched", format!("{} in {} logs", secrets.len(), logs.len()), "")
        .row("sending took", format!("{sent_in:.1?}"), "")
        .row("settled after", format!("{settled_in:.1?}"), "all queues quiet");
    println!("\n{summary}");

    assert!(problems.is_empty(), "{} problems, first ones: {:#?}", problems.len(), &problems[..problems.len().min(10)]);
    assert_eq!(distinct_accepted, planned.events, "every distinct event was accepted");
    assert!(stats.other.lock().unwrap().is_empty(), "no answer other than 202, 4xx or 503");
    assert_eq!(stats.rejected_total(), planned.forged, "only forged copies were refused");
    assert_eq!(effects.len(), good.len(), "effects = distinct good events");
    assert_eq!(effects, good, "the effects are exactly the good events");
    assert!(twice.is_empty(), "effects taken twice: {twice:?}");
    assert!(outcomes.processed.keys().all(|id| good.contains(id)), "only good events took effect");
    assert!(
        bus_expected.is_subset(&completed),
        "every good event routed to EventBridge (under a claim) has its idempotency record COMPLETED"
    );
    assert!(claimed_table_only.is_empty(), "the events table alone takes no claim: {claimed_table_only:?}");
    assert!(bus_lost.is_empty(), "events lost on the bus: {bus_lost:?}");
    assert!(bus_unexpected.is_empty(), "bus events of no good event of an EventBridge source: {bus_unexpected:?}");
    // Duplicates on the bus are reported, not refused: the run kills processors and stops the
    // emulator, and a put whose COMPLETED marker was lost is put again (README: Destinations).
    assert_eq!(stored_bodies, planned.large, "each large event's body stored once, under one key");
    assert_eq!(parked.len(), parked_set.len(), "each poison event parked once: {parked:?}");
    assert_eq!(parked_set, poison, "the parking queue holds exactly the poison events");
    assert_eq!(poison_ledgered, poison.len(), "every poison event has its PARKED ledger record");
    assert!(effects.is_disjoint(&poison), "poison took no effect");
    assert_eq!(queue_total(&clients.sqs, &main_queue).await, Some(0), "nothing left in the main queue");
    assert_eq!(queue_total(&clients.sqs, &dead_letter_queue).await, Some(0), "nothing left in the dead-letter queue");
    // The faults happened.
    assert!(
        stats.unavailable.load(Ordering::Relaxed) + stats.transport_errors.load(Ordering::Relaxed) > 0,
        "the outage was felt"
    );
    assert!(kills.load(Ordering::Relaxed) >= 2, "the processor was killed");
    assert!(interrupted >= 1, "a kill interrupted a batch");
    // The logs are the run's (they saw the records) and hold no secret.
    assert!(outcomes.count("processed") + outcomes.count("duplicate") >= good.len(), "the logs cover the run");
    for (path, text) in &logs {
        assert_eq!(leaked(text, &secrets), Vec::<&str>::new(), "secrets in {path}");
    }
}

/// Processor invocations that failed so far, per the event source mapping's log.
fn interrupted_so_far() -> usize {
    let log =
        required("HOOKLINE_CHAOS_LOGS").split(':').find(|p| p.contains("event-source-mapping")).map(str::to_owned);
    log.and_then(|path| std::fs::read_to_string(path).ok()).map_or(0, |text| failed_invocations(&text, "processor"))
}

/// Objects under `bodies/` in the body bucket.
async fn stored_body_count(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let mut count = 0;
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(hookline_domain::body_ref::BODY_KEY_PREFIX)
            .set_continuation_token(token)
            .send()
            .await
            .expect("listing the body bucket");
        count += page.contents().len();
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return count;
        }
    }
}
