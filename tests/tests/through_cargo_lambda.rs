//! The whole local pipeline as Lambda runs it: the functions on the local Lambda host and
//! the local event source mapping (started by `make test`), configured by the env file the
//! provisioning wrote from template.yaml, talking to the emulator. A webhook goes in through
//! the ingest function and must come out as exactly one stored event.
//!
//! The sample events are re-signed with the current time first, since the timestamped
//! schemes refuse old signatures.

use std::process::Command;

use hookline_cli::samples::{Manifest, generate};
use std::time::Duration;

use hookline_aws::DynamoLedger;
use hookline_domain::dead_letter::LedgerStatus;
use hookline_ports::DeadLetterLedger;
use hookline_tests::stack::{eventually, now_unix, post_signed, required, stored_event};
use hookline_tests::{repo_root, sdk_config, unique_name};
use serde_json::Value;

/// `cargo lambda invoke ingest --data-file FILE` and the response it prints.
fn invoke(file: &std::path::Path) -> Value {
    invoke_function("ingest", file)
}

/// `cargo lambda invoke FUNCTION --data-file FILE` and the response it prints.
fn invoke_function(function: &str, file: &std::path::Path) -> Value {
    let output = Command::new("cargo")
        .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", &required("HOOKLINE_WATCH_PORT"), "--data-file"])
        .arg(file)
        .output()
        .expect("running cargo lambda invoke");
    assert!(
        output.status.success(),
        "cargo lambda invoke {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{}: not a JSON response ({e}): {}", file.display(), String::from_utf8_lossy(&output.stdout))
    })
}

#[tokio::test]
async fn every_sample_answers_its_documented_status_and_accepted_ones_are_processed() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let root = repo_root();
    let manifest_path = root.join("events/ingest/manifest.json");
    let out = std::env::temp_dir().join(unique_name("hookline-fresh-samples"));
    generate(&manifest_path, &root, &out, Some(now_unix())).unwrap();

    let manifest = Manifest::load(&manifest_path).unwrap();
    let mut accepted = Vec::new();
    for sample in &manifest.samples {
        let response = invoke(&out.join(&sample.file));
        assert_eq!(response["statusCode"], sample.expect, "{}: {response}", sample.file);
        if let Some(expected) = &sample.expect_body {
            assert_eq!(response["body"].as_str(), Some(expected.as_str()), "{}: {response}", sample.file);
        }
        if sample.expect == 202 {
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            accepted.push(body["event_id"].as_str().unwrap().to_owned());
        }
    }
    std::fs::remove_dir_all(&out).ok();
    assert!(accepted.len() >= 7);
    for event_id in &accepted {
        let item = stored_event(&dynamodb, event_id).await;
        assert_eq!(item["event_id"].as_s().unwrap(), event_id);
    }
}

/// Payloads that are not HTTP API events, posted as they are to the runtime's Invoke API: the
/// function, under the real Lambda runtime, answers each with a 400 rather than failing the
/// invocation (which API Gateway would turn into a 500).
#[test]
fn unreadable_invocations_get_a_400_from_the_real_runtime() {
    let sample = std::fs::read_to_string(repo_root().join("events/ingest/stripe-valid.json")).unwrap();
    let mut wrong_types: Value = serde_json::from_str(&sample).unwrap();
    wrong_types["requestContext"]["http"] = serde_json::json!(["POST"]);
    wrong_types["headers"] = serde_json::json!({"x-a": 7});
    let payloads = [
        ("truncated", sample[..sample.len() / 2].to_owned()),
        ("wrong types", wrong_types.to_string()),
        ("not an object", "[1, 2]".to_owned()),
    ];
    let url = format!("http://127.0.0.1:{}/2015-03-31/functions/ingest/invocations", required("HOOKLINE_WATCH_PORT"));
    for (what, payload) in payloads {
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-X", "POST", "--data-binary", "@-", &url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut curl| {
                use std::io::Write;
                curl.stdin.take().unwrap().write_all(payload.as_bytes())?;
                curl.wait_with_output()
            })
            .expect("running curl");
        assert!(output.status.success(), "{what}: curl failed");
        let response: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&output.stdout)));
        assert_eq!(response["statusCode"], 400, "{what}: {response}");
        assert_eq!(response["body"], r#"{"error":"bad_request"}"#, "{what}");
    }
}

#[tokio::test]
async fn a_signed_curl_to_the_function_url_goes_all_the_way_to_one_stored_event() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let body = br#"{"type":"invoice.paid","data":{"invoice_id":"inv_curl"}}"#;
    let event_id = unique_name("msg_curl");
    // The sender retries the same delivery: still one event.
    for _ in 0..3 {
        let (status, response) = post_signed("acme", body, &event_id);
        assert_eq!(status, 202, "{response}");
        let response: Value = serde_json::from_str(&response).unwrap();
        assert_eq!(response["event_id"], format!("acme:{event_id}"));
    }
    let item = stored_event(&dynamodb, &format!("acme:{event_id}")).await;
    assert_eq!(item["body"].as_b().unwrap().as_ref(), body);
    assert_eq!(item["source"].as_s().unwrap(), "acme");
}

/// A captured GitHub delivery replayed with a fresh `X-GitHub-Delivery` (which the signature
/// does not cover): acknowledged, the same event, and the processor counts it a duplicate.
#[tokio::test]
async fn a_delivery_replayed_with_a_fresh_delivery_id_takes_effect_once() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let body = format!(r#"{{"action":"opened","number":{}}}"#, now_unix());
    let mut event_ids = Vec::new();
    for delivery in [unique_name("delivery-a"), unique_name("delivery-b")] {
        let (status, response) = post_signed("github", body.as_bytes(), &delivery);
        assert_eq!(status, 202, "{response}");
        let response: Value = serde_json::from_str(&response).unwrap();
        event_ids.push(response["event_id"].as_str().unwrap().to_owned());
        // Processed before the replay arrives, so the replay meets a COMPLETED record.
        stored_event(&dynamodb, &event_ids[0]).await;
    }
    assert_eq!(event_ids[0], event_ids[1], "the replay is the same event");
    assert!(event_ids[0].starts_with("github:sha256:"), "{}", event_ids[0]);
    let item = stored_event(&dynamodb, &event_ids[0]).await;
    assert_eq!(item["body"].as_b().unwrap().as_ref(), body.as_bytes());
    let log = required("HOOKLINE_FUNCTION_LOG");
    let duplicate = format!(r#""event_id":"{}""#, event_ids[0]);
    eventually("the replay counted as a duplicate in the processor's log", Duration::from_secs(60), || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().any(|line| line.contains(&duplicate) && line.contains(r#""outcome":"duplicate""#)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_processor_sample_batches_answer_as_documented() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let events = repo_root().join("events/processor");
    let failures = |response: &Value| response["batchItemFailures"].as_array().expect("a batch response").len();

    // A good batch: every record processed, none reported.
    let response = invoke_function("processor", &events.join("good-batch.json"));
    assert_eq!(failures(&response), 0, "{response}");
    for n in 1..=3 {
        stored_event(&dynamodb, &format!("stripe:evt_sample_{n}")).await;
    }
    // A malformed record fails alone: it is dead-lettered (so acknowledged), the others are fine.
    let response = invoke_function("processor", &events.join("malformed-record-batch.json"));
    assert_eq!(failures(&response), 0, "{response}");
    // The reprocess function picks it up from the dead-letter queue and parks it in the ledger.
    let ledger = DynamoLedger::new(dynamodb.clone(), required("HOOKLINE_LEDGER_TABLE"));
    let parked = eventually("the malformed record in the ledger", Duration::from_secs(60), || async {
        let records = ledger.list(Some(LedgerStatus::Parked)).await.unwrap();
        records.into_iter().find(|r| r.latest.envelope == r#"{"not":"an envelope"}"#)
    })
    .await;
    assert!(parked.latest.event_id.starts_with("malformed:"), "{parked:?}");
    assert_eq!(parked.latest.failure.as_ref().map(|f| f.class.as_str()), Some("MalformedEnvelope"));
    // Duplicates of completed events are acknowledged without running the handler again.
    let response = invoke_function("processor", &events.join("duplicates-batch.json"));
    assert_eq!(failures(&response), 0, "{response}");
}
