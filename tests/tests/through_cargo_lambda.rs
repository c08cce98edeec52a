//! The ingest function as Lambda runs it: the built binary under `cargo lambda watch`
//! (started by `make test`), configured by the environment file the provisioning wrote,
//! talking to the emulator. The sample events are re-signed with the current time first,
//! since the timestamped schemes refuse old signatures.

use std::process::Command;

use hookline_cli::samples::{Manifest, generate};
use hookline_cli::signer::{SignRequest, signed_headers};
use hookline_domain::{Envelope, SourcesConfig};
use hookline_tests::{drain, repo_root, sdk_config};
use serde_json::Value;

/// Both tests read the stack's one main queue; they take turns.
static MAIN_QUEUE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn watch_port() -> String {
    std::env::var("HOOKLINE_WATCH_PORT")
        .expect("HOOKLINE_WATCH_PORT is not set: run this test with `make test`, which starts cargo lambda watch")
}

fn queue_url() -> String {
    std::env::var("HOOKLINE_QUEUE_URL").expect("HOOKLINE_QUEUE_URL is not set: run this test with `make test`")
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// `cargo lambda invoke ingest --data-file FILE` and the response it prints.
fn invoke(file: &std::path::Path) -> Value {
    let output = Command::new("cargo")
        .args(["lambda", "invoke", "ingest", "-A", "127.0.0.1", "-P", &watch_port(), "--data-file"])
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
async fn every_sample_answers_its_documented_status_through_cargo_lambda() {
    let _turn = MAIN_QUEUE.lock().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let queue = queue_url();
    // This test owns the provisioned main queue of the test stack.
    drain(&sqs, &queue).await;

    let root = repo_root();
    let manifest_path = root.join("events/ingest/manifest.json");
    let out = std::env::temp_dir().join(hookline_tests::unique_name("hookline-fresh-samples"));
    generate(&manifest_path, &root, &out, Some(now_unix())).unwrap();

    let manifest = Manifest::load(&manifest_path).unwrap();
    let mut accepted_ids = Vec::new();
    for sample in &manifest.samples {
        let response = invoke(&out.join(&sample.file));
        assert_eq!(response["statusCode"], sample.expect, "{}: {response}", sample.file);
        if sample.expect == 202 {
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            accepted_ids.push(body["event_id"].as_str().unwrap().to_owned());
        }
    }
    std::fs::remove_dir_all(&out).ok();

    let mut queued: Vec<String> =
        drain(&sqs, &queue).await.iter().map(|m| Envelope::from_json(&m.body).unwrap().event_id).collect();
    queued.sort();
    accepted_ids.sort();
    assert_eq!(queued, accepted_ids, "the queue holds exactly the accepted samples");
}

#[tokio::test]
async fn a_signed_curl_to_the_function_url_is_accepted_and_queued() {
    let _turn = MAIN_QUEUE.lock().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let root = repo_root();
    let config = SourcesConfig::from_json(&std::fs::read(root.join("infra/local/sources.json")).unwrap()).unwrap();
    let body = br#"{"type":"invoice.paid","data":{"invoice_id":"inv_curl"}}"#;
    let event_id = hookline_tests::unique_name("msg_curl");
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
    let url = format!("http://127.0.0.1:{}/lambda-url/ingest/webhooks/acme", watch_port());
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-X", "POST", "-w", "\n%{http_code}", &url, "--data-binary"])
        .arg(std::str::from_utf8(body).unwrap());
    for (name, value) in &headers {
        curl.arg("-H").arg(format!("{name}: {value}"));
    }
    let output = curl.output().expect("running curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (response, status) = text.rsplit_once('\n').unwrap();
    assert_eq!(status, "202", "{text}");
    let response: Value = serde_json::from_str(response).unwrap();
    assert_eq!(response["event_id"], format!("acme:{event_id}"));

    let found = drain(&sqs, &queue_url())
        .await
        .into_iter()
        .filter_map(|m| Envelope::from_json(&m.body).ok())
        .any(|e| e.event_id == format!("acme:{event_id}") && e.body == body);
    assert!(found, "the accepted webhook is not in the queue");
}
