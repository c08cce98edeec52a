//! `hookline redrive` against the emulator: the client-side move (receive, send a copy, delete
//! the original) and the move task API, which the emulator does not have.
//!
//! Nothing here depends on how fast the machine is: the pacing runs on a sleep that records
//! what it was asked for and returns at once, an interruption is made at an exact request
//! (an HTTP client that never answers the n-th DeleteMessage), and waiting for messages to be
//! visible again is polling for the count, not a fixed sleep.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_async::test_util::{InstantSleep, instant_time_and_sleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Notify;

use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use hookline_cli::redrive::{RedriveArgs, execute, parse_args};
use hookline_cli::sqs_redrive::{RedriveError, RedriveOptions, SqsRedrive, StopReason};
use hookline_tests::stack::eventually;
use hookline_tests::{create_queue, depth, drain, queue_arn, sdk_config};

struct Queues {
    sqs: aws_sdk_sqs::Client,
    redrive: SqsRedrive,
    dlq: String,
    main: String,
}

async fn queues() -> Queues {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    Queues {
        redrive: SqsRedrive::new(sqs.clone()),
        dlq: create_queue(&sqs, "hookline-redrive-dlq").await,
        main: create_queue(&sqs, "hookline-redrive-main").await,
        sqs,
    }
}

impl Queues {
    /// Sends `count` numbered messages to the dead-letter queue; returns their bodies.
    async fn dead_letters(&self, count: usize) -> Vec<String> {
        let mut bodies = Vec::new();
        for i in 0..count {
            let body = format!(r#"{{"event_id":"stripe:evt_{i}"}}"#);
            self.sqs.send_message().queue_url(&self.dlq).message_body(&body).send().await.unwrap();
            bodies.push(body);
        }
        bodies
    }
}

fn string_attribute(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type(data_type).string_value(value).build().unwrap()
}

/// Every visible message of the queue with its full attributes (hidden for 60 s afterwards).
async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<(String, HashMap<String, MessageAttributeValue>)> {
    hookline_tests::drain_messages(sqs, queue_url)
        .await
        .into_iter()
        .map(|m| (m.body.unwrap(), m.message_attributes.unwrap_or_default()))
        .collect()
}

/// A redrive whose pacing sleeps are recorded and return at once.
fn instantly_paced(sqs: &aws_sdk_sqs::Client) -> (SqsRedrive, InstantSleep) {
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let redrive =
        SqsRedrive::with_pacing(sqs.clone(), SharedAsyncSleep::new(sleep.clone()), SharedTimeSource::new(time));
    (redrive, sleep)
}

/// The queue's visible messages (not those in flight or delayed).
async fn visible(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> u64 {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    output.attributes.unwrap_or_default()[&QueueAttributeName::ApproximateNumberOfMessages].parse().unwrap()
}

/// Waits (polling, up to a minute) until `count` messages of the queue are visible again.
async fn until_visible(sqs: &aws_sdk_sqs::Client, queue_url: &str, count: u64) {
    eventually("the received messages to be visible again", Duration::from_secs(60), || async {
        (visible(sqs, queue_url).await == count).then_some(())
    })
    .await;
}

/// The real HTTP client, except that the `hang_at`-th DeleteMessage is never answered: a
/// redrive stopped there has sent that message's copy and not yet deleted its original.
#[derive(Debug, Clone)]
struct HangsAtDelete {
    inner: SharedHttpClient,
    deletes: Arc<AtomicUsize>,
    hang_at: usize,
    reached: Arc<Notify>,
}

impl HttpClient for HangsAtDelete {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(HangsAtDeleteConnector {
            inner: self.inner.http_connector(settings, components),
            client: self.clone(),
        })
    }
}

#[derive(Debug)]
struct HangsAtDeleteConnector {
    inner: SharedHttpConnector,
    client: HangsAtDelete,
}

impl HttpConnector for HangsAtDeleteConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let delete = request.headers().get("x-amz-target") == Some("AmazonSQS.DeleteMessage");
        if delete && self.client.deletes.fetch_add(1, Ordering::SeqCst) + 1 == self.client.hang_at {
            self.client.reached.notify_one();
            return HttpConnectorFuture::new(std::future::pending());
        }
        self.inner.call(request)
    }
}

fn sorted(mut bodies: Vec<String>) -> Vec<String> {
    bodies.sort();
    bodies
}

fn options(rate_per_second: u32, max: Option<u64>) -> RedriveOptions {
    RedriveOptions { rate_per_second, max, ..RedriveOptions::default() }
}

fn cli(args: &[&str]) -> RedriveArgs {
    let args = parse_args(args).unwrap();
    args.validate().unwrap();
    args
}

#[tokio::test]
async fn client_mode_moves_every_message_with_its_body_and_attributes_and_empties_the_source() {
    let q = queues().await;
    let mut sent = Vec::new();
    for i in 0..23 {
        let body = format!(r#"{{"event_id":"stripe:evt_{i}","note":"ünïcode ✓"}}"#);
        let attributes = HashMap::from([
            ("hookline.source".to_owned(), string_attribute("String", "stripe")),
            ("hookline.event_id".to_owned(), string_attribute("String", &format!("stripe:evt_{i}"))),
            ("hookline.error_class".to_owned(), string_attribute("String.custom", "ScriptedPoison")),
            ("attempt".to_owned(), string_attribute("Number", &format!("{}.5", i))),
            (
                "raw".to_owned(),
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(vec![0, 1, 2, 255, i as u8]))
                    .build()
                    .unwrap(),
            ),
        ]);
        q.sqs
            .send_message()
            .queue_url(&q.dlq)
            .message_body(&body)
            .set_message_attributes(Some(attributes.clone()))
            .send()
            .await
            .unwrap();
        sent.push((body, attributes));
    }

    let report = q.redrive.move_messages(&q.dlq, &q.main, &options(1000, None)).await.unwrap();
    assert_eq!(report.moved, 23);
    assert!(report.failed_sends.is_empty() && report.failed_deletes.is_empty(), "{report:?}");
    assert_eq!(report.stopped, StopReason::Drained);
    assert_eq!(depth(&q.sqs, &q.dlq).await, 0);

    let mut moved = receive_all(&q.sqs, &q.main).await;
    moved.sort_by(|a, b| a.0.cmp(&b.0));
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(moved.len(), sent.len());
    for ((body, attributes), (sent_body, sent_attributes)) in moved.iter().zip(&sent) {
        assert_eq!(body, sent_body);
        assert_eq!(attributes.len(), sent_attributes.len(), "{attributes:?}");
        for (name, value) in sent_attributes {
            let got = &attributes[name];
            assert_eq!(got.data_type(), value.data_type(), "{name}");
            assert_eq!(got.string_value(), value.string_value(), "{name}");
            assert_eq!(got.binary_value(), value.binary_value(), "{name}");
        }
    }
}

#[tokio::test]
async fn a_redrive_stopped_by_max_moves_exactly_that_many_and_a_rerun_completes_the_move() {
    let q = queues().await;
    let bodies = q.dead_letters(23).await;

    let (redrive, sleep) = instantly_paced(&q.sqs);
    let report = redrive.move_messages(&q.dlq, &q.main, &options(20, Some(7))).await.unwrap();
    // 7 sends at 20/s: each after the first waits its 50 ms interval.
    assert_eq!(sleep.logs(), [Duration::from_millis(50); 6]);
    assert_eq!((report.moved, report.handled(), report.stopped), (7, 7, StopReason::MaxReached));
    assert_eq!(depth(&q.sqs, &q.main).await, 7);
    // Only what was moved was received: nothing else is hidden in the source.
    assert_eq!(depth(&q.sqs, &q.dlq).await, 16);

    let report = q.redrive.move_messages(&q.dlq, &q.main, &options(1000, None)).await.unwrap();
    assert_eq!((report.moved, report.stopped), (16, StopReason::Drained));
    assert_eq!(depth(&q.sqs, &q.dlq).await, 0);
    let moved = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(sorted(moved), sorted(bodies), "every message exactly once");
}

#[tokio::test]
async fn a_redrive_cut_off_between_a_send_and_its_delete_loses_nothing_and_a_rerun_completes_the_move() {
    let q = queues().await;
    let bodies = q.dead_letters(15).await;
    let config = sdk_config().await;
    let hangs = HangsAtDelete {
        inner: config.http_client().expect("the SDK's HTTP client"),
        deletes: Arc::default(),
        hang_at: 5,
        reached: Arc::default(),
    };
    let cut_sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&config).http_client(hangs.clone()).build());
    let (redrive, _) = instantly_paced(&cut_sqs);
    let short_visibility = RedriveOptions { visibility_timeout_seconds: 2, ..options(10, None) };

    // As if the operator pressed Ctrl-C while the fifth original was being deleted: the
    // future is dropped there, its copy stored, the original not yet deleted.
    tokio::select! {
        report = redrive.move_messages(&q.dlq, &q.main, &short_visibility) => panic!("finished: {report:?}"),
        () = hangs.reached.notified() => {}
    }
    assert_eq!(depth(&q.sqs, &q.main).await, 5, "five copies sent");
    assert_eq!(depth(&q.sqs, &q.dlq).await, 11, "four originals deleted, the fifth not");

    // The messages received before the cut are visible again after their visibility timeout.
    until_visible(&q.sqs, &q.dlq, 11).await;
    let report = q.redrive.move_messages(&q.dlq, &q.main, &options(1000, None)).await.unwrap();
    assert_eq!((report.moved, report.stopped), (11, StopReason::Drained));
    assert_eq!(depth(&q.sqs, &q.dlq).await, 0);

    let mut moved: Vec<String> = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(moved.len(), 16, "the message cut between its send and its delete is there twice");
    moved.sort();
    moved.dedup();
    assert_eq!(moved, sorted(bodies), "every original is in the destination");
}

#[tokio::test]
async fn failed_sends_leave_their_messages_in_the_source_and_a_rerun_moves_them() {
    let q = queues().await;
    // The destination refuses messages over 1 KiB; every third dead letter is bigger.
    q.sqs
        .set_queue_attributes()
        .queue_url(&q.main)
        .attributes(QueueAttributeName::MaximumMessageSize, "1024")
        .send()
        .await
        .unwrap();
    let mut bodies = Vec::new();
    for i in 0..9 {
        let padding = if i % 3 == 0 { "x".repeat(2_000) } else { String::new() };
        let body = format!(r#"{{"event_id":"stripe:evt_{i}","padding":"{padding}"}}"#);
        q.sqs.send_message().queue_url(&q.dlq).message_body(&body).send().await.unwrap();
        bodies.push(body);
    }

    let visibility = RedriveOptions { visibility_timeout_seconds: 5, ..options(1000, None) };
    let report = q.redrive.move_messages(&q.dlq, &q.main, &visibility).await.unwrap();
    assert_eq!((report.moved, report.failed_sends.len(), report.stopped), (6, 3, StopReason::Drained));
    assert!(report.failed_sends[0].error.contains("InvalidParameterValue"), "{:?}", report.failed_sends);
    assert_eq!(depth(&q.sqs, &q.dlq).await, 3, "the failed ones are still in the source");
    let in_destination: Vec<String> = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(in_destination.len(), 6);

    // The operator raises the destination's limit; once the failed ones are visible again, a
    // rerun moves them.
    q.sqs
        .set_queue_attributes()
        .queue_url(&q.main)
        .attributes(QueueAttributeName::MaximumMessageSize, "262144")
        .send()
        .await
        .unwrap();
    until_visible(&q.sqs, &q.dlq, 3).await;
    let report = q.redrive.move_messages(&q.dlq, &q.main, &visibility).await.unwrap();
    assert_eq!((report.moved, report.failed_sends.len()), (3, 0));
    assert_eq!(depth(&q.sqs, &q.dlq).await, 0);
    let rest: Vec<String> = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(sorted(in_destination.into_iter().chain(rest).collect()), sorted(bodies));
}

#[tokio::test]
async fn a_destination_that_refuses_every_send_stops_the_run_after_one_batch() {
    let q = queues().await;
    q.sqs
        .set_queue_attributes()
        .queue_url(&q.main)
        .attributes(QueueAttributeName::MaximumMessageSize, "1024")
        .send()
        .await
        .unwrap();
    for i in 0..25 {
        let body = format!(r#"{{"event_id":"stripe:evt_{i}","padding":"{}"}}"#, "x".repeat(2_000));
        q.sqs.send_message().queue_url(&q.dlq).message_body(&body).send().await.unwrap();
    }
    let report = q.redrive.move_messages(&q.dlq, &q.main, &options(1000, None)).await.unwrap();
    assert_eq!((report.moved, report.failed_sends.len(), report.stopped), (0, 10, StopReason::SendsFailing));
    assert_eq!(depth(&q.sqs, &q.dlq).await, 25);
    assert_eq!(depth(&q.sqs, &q.main).await, 0);
}

#[tokio::test]
async fn a_missing_or_identical_queue_is_refused_before_anything_moves() {
    let q = queues().await;
    q.dead_letters(3).await;
    let missing = format!("{}-missing", q.main);
    let error = q.redrive.move_messages(&q.dlq, &missing, &options(50, None)).await.unwrap_err();
    assert!(matches!(&error, RedriveError::QueueAttributes { queue_url, .. } if *queue_url == missing), "{error}");
    assert!(std::error::Error::source(&error).is_some(), "the SDK error is kept");
    let error = q.redrive.move_messages(&q.dlq, &q.dlq, &options(50, None)).await.unwrap_err();
    assert!(matches!(error, RedriveError::SameQueue { .. }), "{error}");
    let error = q.redrive.move_messages(&q.dlq, &q.main, &options(0, None)).await.unwrap_err();
    assert!(matches!(error, RedriveError::InvalidOptions(_)), "{error}");
    // Nothing was received: all three are still visible and move now.
    let report = q.redrive.move_messages(&q.dlq, &q.main, &options(1000, None)).await.unwrap();
    assert_eq!(report.moved, 3);
}

/// The move-task mode against the emulator's message move tasks (infra/local/moto_move_tasks.py):
/// SQS refuses a source that is no queue's dead-letter queue, and moves a real one's messages.
#[tokio::test]
async fn move_task_mode_moves_a_dead_letter_queue_and_refuses_any_other_source() {
    let q = queues().await;
    let bodies = q.dead_letters(3).await;
    // Not yet anyone's dead-letter queue: SQS refuses it, and nothing moves.
    let error = q.redrive.start_move_task(&q.dlq, &q.main, 50).await.unwrap_err();
    assert!(matches!(&error, RedriveError::MoveTask { operation: "StartMessageMoveTask", .. }), "{error:?}");
    assert!(error.to_string().contains("Dead Letter Queue"), "{error}");
    assert_eq!(depth(&q.sqs, &q.dlq).await, 3, "nothing moved");

    // Once the main queue names it as its dead-letter queue, the command moves everything.
    let redrive_policy =
        format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":5}}"#, queue_arn(&q.sqs, &q.dlq).await);
    q.sqs
        .set_queue_attributes()
        .queue_url(&q.main)
        .attributes(QueueAttributeName::RedrivePolicy, redrive_policy)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    let args = cli(&["--from", &q.dlq, "--to", &q.main, "--mode", "move-task", "--wait", "--poll-interval", "1"]);
    execute(&args, &q.redrive, &mut out).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("move task COMPLETED: moved 3"), "{printed}");
    assert_eq!(depth(&q.sqs, &q.dlq).await, 0);
    let moved = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(sorted(moved), sorted(bodies), "every message exactly once");
    let status = q.redrive.move_task_status(&queue_arn(&q.sqs, &q.dlq).await).await.unwrap().unwrap();
    assert_eq!((status.status.as_str(), status.approximate_moved), ("COMPLETED", 3));
}

#[tokio::test]
async fn the_command_prints_a_summary_and_a_dry_run_only_counts() {
    let q = queues().await;
    let bodies = q.dead_letters(5).await;

    let mut out = Vec::new();
    execute(&cli(&["--from", &q.dlq, "--to", &q.main, "--dry-run", "--max", "3"]), &q.redrive, &mut out).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.starts_with("dry run: would move about 3 message(s)"), "{printed}");
    assert_eq!((depth(&q.sqs, &q.dlq).await, depth(&q.sqs, &q.main).await), (5, 0));

    let mut out = Vec::new();
    execute(&cli(&["--from", &q.dlq, "--to", &q.main, "--rate", "200"]), &q.redrive, &mut out).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "moved 5, failed sends 0 (source drained)\n");
    let moved = drain(&q.sqs, &q.main).await.into_iter().map(|m| m.body).collect();
    assert_eq!(sorted(moved), sorted(bodies));
}
