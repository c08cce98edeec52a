//! The processor library's entry point (`hookline_processor::run_with`) driving a handler
//! of its own crate, `examples/http-forward`, as Lambda runs it: its binary on a local
//! Lambda host of this test's (the same `lambda_host.py` as the stack's), invoked with SQS
//! events of real messages, claiming in DynamoDB on the emulator, and POSTing to an HTTP
//! server of this test's.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookline_aws::DynamoIdempotencyStore;
use hookline_domain::dead_letter::attribute as dead_letter_attribute;
use hookline_domain::idempotency::RecordStatus;
use hookline_ports::IdempotencyStore;
use hookline_ports::fakes::sample_envelope;
use hookline_tests::stack::{eventually, required};
use hookline_tests::{create_event_table, create_queue, drain, repo_root, sdk_config};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP API: 201 for keys holding `evt_ok`, 503 for `evt_busy`, 400 for anything else;
/// keeps each request's `idempotency-key`.
async fn api(listener: tokio::net::TcpListener, seen: Arc<Mutex<Vec<String>>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else { return };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            let head = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break head;
                    }
                }
            };
            let key = head.lines().find_map(|l| l.strip_prefix("idempotency-key: ")).unwrap_or("").to_owned();
            let status = if key.contains("evt_ok") {
                "201 Created"
            } else if key.contains("evt_busy") {
                "503 Service Unavailable"
            } else {
                "400 Bad Request"
            };
            seen.lock().unwrap().push(key);
            let response = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

/// A local Lambda host running the example's binary; stopped when dropped.
struct Host {
    child: Child,
    port: u16,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_host(environment: Value) -> Host {
    let dir = std::env::temp_dir().join(format!("hookline-own-handler-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let functions = dir.join("functions.json");
    let common = json!({
        "AWS_ENDPOINT_URL": required("AWS_ENDPOINT_URL"),
        "AWS_REGION": required("AWS_REGION"),
        "AWS_ACCESS_KEY_ID": required("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": required("AWS_SECRET_ACCESS_KEY"),
    });
    let document = json!({"common_environment": common, "functions": [
        {"name": "http-forward", "timeout_seconds": 10, "memory_mb": 128, "environment": environment}
    ]});
    std::fs::write(&functions, serde_json::to_vec(&document).unwrap()).unwrap();
    let port = free_port();
    let root = repo_root();
    let child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/local/lambda_host.py"))
        .args(["--functions"])
        .arg(&functions)
        .args(["--port", &port.to_string(), "--max-environments", "1"])
        // The function's log lines (the host passes them through) beside the functions file.
        .stdout(std::fs::File::create(dir.join("host.log")).unwrap())
        .spawn()
        .expect("starting infra/local/lambda_host.py");
    let host = Host { child, port };
    eventually("the local Lambda host", Duration::from_secs(30), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;
    host
}

/// Invokes the function with the SQS event of `messages`, as the event source mapping does.
async fn invoke(host: &Host, queue_arn: &str, messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                               "SenderId": "test", "ApproximateFirstReceiveTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let url = format!("http://127.0.0.1:{}/2015-03-31/functions/http-forward/invocations", host.port);
    let event = serde_json::to_vec(&json!({"Records": records})).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "-X", "POST", "--max-time", "60", "--data-binary", "@-", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(&event)?;
                child.wait_with_output()
            })
            .unwrap()
    })
    .await
    .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not a batch response ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn failed_ids(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

// Multi-threaded: the test's API server answers while an invocation waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_runs_a_handler_of_its_own_crate_exactly_once_per_event() {
    let sdk = sdk_config().await;
    let (sqs, dynamodb) = (aws_sdk_sqs::Client::new(&sdk), aws_sdk_dynamodb::Client::new(&sdk));
    let (queue, dlq) = (create_queue(&sqs, "own-handler").await, create_queue(&sqs, "own-handler-dlq").await);
    let queue_arn = hookline_tests::queue_arn(&sqs, &queue).await;
    let table = create_event_table(&dynamodb, "own-handler-idem").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(api(listener, seen.clone()));
    let host = start_host(json!({
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "HOOKLINE_QUEUE_URL": queue,
        "HOOKLINE_DLQ_URL": dlq,
        "HOOKLINE_IDEMPOTENCY_TABLE": table,
        "HOOKLINE_BODY_BUCKET": required("HOOKLINE_BODY_BUCKET"),
        "HOOKLINE_FUNCTION_TIMEOUT_SECONDS": "10",
        "FORWARD_URL": api_url,
    }))
    .await;

    let suffix = hookline_tests::unique_name("run");
    let ids = ["evt_ok", "evt_busy", "evt_bad"].map(|kind| format!("acme:{kind}_{suffix}"));
    let mut messages = BTreeMap::new();
    for id in &ids {
        let body = sample_envelope(id, br#"{"hello":"world"}"#).to_json();
        sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
    }
    while messages.len() < ids.len() {
        let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.unwrap();
        for message in received.messages.unwrap_or_default() {
            let id = sample_id(message.body().unwrap());
            messages.insert(id, message);
        }
    }
    let batch: Vec<_> = ids.iter().map(|id| messages[id].clone()).collect();

    let response = invoke(&host, &queue_arn, &batch).await;
    assert_eq!(failed_ids(&response), [batch[1].message_id().unwrap()], "only the 503 comes back: {response}");
    let mut keys = seen.lock().unwrap().clone();
    keys.sort();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(keys, expected, "each event POSTed once, its id as the idempotency key");

    let store = DynamoIdempotencyStore::new(dynamodb.clone(), &table);
    let status = |id: &str| {
        let store = store.clone();
        let id = id.to_owned();
        async move { store.get(&id).await.unwrap().map(|r| (r.status, r.last_error.map(|e| e.class))) }
    };
    assert_eq!(status(&ids[0]).await, Some((RecordStatus::Completed, None)));
    assert_eq!(status(&ids[1]).await, Some((RecordStatus::Failed, Some("ApiUnavailable".into()))));
    let dead = drain(&sqs, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attributes[dead_letter_attribute::ERROR_CLASS], "ApiRejected");

    // The same delivery again: the completed event is a duplicate and reaches the API no more.
    let again = invoke(&host, &queue_arn, &batch[..1]).await;
    assert!(failed_ids(&again).is_empty(), "{again}");
    assert_eq!(seen.lock().unwrap().iter().filter(|k| **k == ids[0]).count(), 1);
}

fn sample_id(body: &str) -> String {
    hookline_domain::Envelope::from_json(body).unwrap().event_id
}
