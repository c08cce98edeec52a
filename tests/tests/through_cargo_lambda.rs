//! The whole local pipeline as Lambda runs it: the functions under `cargo lambda watch` and
//! the local event source mapping (started by `make test`), configured by the env file the
//! provisioning wrote from template.yaml, talking to the emulator. A webhook goes in through
//! the ingest function and must come out as exactly one stored event.
//!
//! The sample events are re-signed with the current time first, since the timestamped
//! schemes refuse old signatures.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_cli::samples::{Manifest, generate};
use hookline_cli::signer::{SignRequest, signed_headers};
use hookline_domain::SourcesConfig;
use hookline_tests::{repo_root, sdk_config, unique_name};
use serde_json::Value;

fn required(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run this test with `make test`, which starts the local stack"))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

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

/// Waits (bounded) until the processor has stored `event_id`, and returns the item.
async fn stored_event(
    dynamodb: &aws_sdk_dynamodb::Client,
    event_id: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    let table = required("HOOKLINE_EVENTS_TABLE");
    let started = Instant::now();
    loop {
        let item = dynamodb
            .get_item()
            .table_name(&table)
            .key("event_id", AttributeValue::S(event_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item;
        if let Some(item) = item {
            return item;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{event_id} was accepted but never processed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
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

#[tokio::test]
async fn a_signed_curl_to_the_function_url_goes_all_the_way_to_one_stored_event() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let config =
        SourcesConfig::from_json(&std::fs::read(repo_root().join("infra/local/sources.json")).unwrap()).unwrap();
    let body = br#"{"type":"invoice.paid","data":{"invoice_id":"inv_curl"}}"#;
    let event_id = unique_name("msg_curl");
    let headers = signed_headers(
        &config,
        &SignRequest {
            source: "acme",
            body,
            content_type: "application/json",
            now_unix: now_unix(),
            key_index: 0,
            event_id: &event_id,
        },
    )
    .unwrap();
    let url = format!("{}/acme", required("HOOKLINE_INGEST_URL"));
    let post = || {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-X", "POST", "-w", "\n%{http_code}", &url, "--data-binary"])
            .arg(std::str::from_utf8(body).unwrap());
        for (name, value) in &headers {
            curl.arg("-H").arg(format!("{name}: {value}"));
        }
        let output = curl.output().expect("running curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // The sender retries the same delivery: still one event.
    for _ in 0..3 {
        let text = post();
        let (response, status) = text.rsplit_once('\n').unwrap();
        assert_eq!(status, "202", "{text}");
        let response: Value = serde_json::from_str(response).unwrap();
        assert_eq!(response["event_id"], format!("acme:{event_id}"));
    }
    let item = stored_event(&dynamodb, &format!("acme:{event_id}")).await;
    assert_eq!(item["body"].as_b().unwrap().as_ref(), body);
    assert_eq!(item["source"].as_s().unwrap(), "acme");
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
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let dead = hookline_tests::drain(&sqs, &required("HOOKLINE_DLQ_URL")).await;
    assert!(
        dead.iter().any(|m| m.body == r#"{"not":"an envelope"}"#
            && m.attributes.get("hookline.error_class").map(String::as_str) == Some("MalformedEnvelope")),
        "the malformed record is not in the dead-letter queue: {dead:?}"
    );
    // Duplicates of completed events are acknowledged without running the handler again.
    let response = invoke_function("processor", &events.join("duplicates-batch.json"));
    assert_eq!(failures(&response), 0, "{response}");
}
