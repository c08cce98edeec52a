//! The bad-input corpus (`tests/bad_inputs/cases/*.json`) through the real ingest entry point
//! (`hookline_ingest::http::handle_invocation`, the invocation's bytes read as the runtime
//! reads them, HTTP API response out):
//! every case gets its documented status and public error code, a JSON error body that echoes
//! nothing of the input, and nothing reaches the queue — once with the in-memory queue, once
//! with the real SQS adapter against a fresh queue in the local emulator.
//!
//! Requests that need a valid signature are signed by the project's own signer
//! (`hookline_cli::signer`) with the test-only secrets of `tests/bad_inputs/sources.json`, at a
//! fixed time that the service's `FixedClock` also reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hookline_aws::{S3BodyStore, SqsQueue, s3_client};
use hookline_cli::apigw_event::{HttpRequest, http_api_event};
use hookline_cli::signer::{SignRequest, sign_request};
use hookline_domain::{Envelope, SourcesConfig};
use hookline_ingest::{IngestService, http};
use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};
use hookline_ports::{BodyStore, Queue};
use hookline_tests::{create_bucket, create_queue, depth, drain, repo_root, sdk_config};
use lambda_http::Body;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::{Value, json};

/// The signing time of every case; the service receives one second later.
const SIGNED_AT: i64 = 1_800_000_000;
/// Planted in the inputs of many cases; no response may contain it.
const CANARY: &str = "canary";

/// Every kind of bad input the corpus must keep covering.
const REQUIRED_CASES: &[&str] = &[
    "oversized-over-source-limit",
    "oversized-over-global-max",
    "oversized-through-base64",
    "truncated-after-signing",
    "truncated-json-signed",
    "encoding-utf16-bom",
    "encoding-latin1",
    "encoding-base64-flag-not-base64",
    "encoding-gzip-content-encoding",
    "header-crlf-in-value",
    "header-invalid-name",
    "header-embedded-second-signature",
    "headers-one-huge-forwarded",
    "headers-thousands-unsigned",
    "duplicate-signature-headers-github",
    "duplicate-signature-headers-stripe",
    "json-deep-nesting-in-object",
    "json-many-keys-wrong-secret",
    "json-huge-number",
    "json-huge-number-nested",
    "json-lone-surrogate-escape",
    "json-long-string-wrong-secret",
    "non-utf8-json-source",
    "empty-body",
    "wrong-method-get",
    "unknown-source",
    "wrong-content-type",
    "stale-timestamp",
    "future-timestamp",
    "missing-signature",
];

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/bad_inputs")
}

fn sources_json() -> String {
    std::fs::read_to_string(corpus_dir().join("sources.json")).unwrap()
}

fn sources() -> SourcesConfig {
    SourcesConfig::from_json(sources_json().as_bytes()).unwrap()
}

struct Case {
    name: String,
    spec: Value,
    status: u16,
    error: String,
}

fn cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("cases"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let spec: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: no description");
            let status = spec["expect"]["status"].as_u64().unwrap_or_else(|| panic!("{name}: no expect.status"));
            let error = spec["expect"]["error"].as_str().unwrap_or_else(|| panic!("{name}: no expect.error"));
            Case { name, status: u16::try_from(status).unwrap(), error: error.to_owned(), spec }
        })
        .collect()
}

/// Bytes from a list of pieces: `{"text", "repeat"?}`, `{"hex"}`, `{"file"}` (relative to
/// `tests/bad_inputs/`) or `{"numbered": "..{}..", "count"}` (the index replaces `{}`).
fn bytes(pieces: &Value) -> Vec<u8> {
    if let Some(text) = pieces.as_str() {
        return text.as_bytes().to_vec();
    }
    if pieces.is_null() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for piece in pieces.as_array().unwrap_or_else(|| panic!("not a list of pieces: {pieces}")) {
        if let Some(text) = piece["text"].as_str() {
            let repeat = piece["repeat"].as_u64().unwrap_or(1) as usize;
            out.extend(text.as_bytes().repeat(repeat));
        } else if let Some(hex) = piece["hex"].as_str() {
            out.extend((0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()));
        } else if let Some(file) = piece["file"].as_str() {
            out.extend(std::fs::read(corpus_dir().join(file)).unwrap());
        } else if let Some(template) = piece["numbered"].as_str() {
            for i in 0..piece["count"].as_u64().unwrap() {
                out.extend(template.replace("{}", &i.to_string()).into_bytes());
            }
        } else {
            panic!("unknown piece {piece}");
        }
    }
    out
}

fn text(value: &Value) -> String {
    String::from_utf8(bytes(value)).unwrap()
}

/// The API Gateway HTTP API (payload 2.0) event of a case's request.
fn event(name: &str, request: &Value) -> Value {
    let source = request["source"].as_str().unwrap();
    let path = request["path"].as_str().map_or_else(|| format!("/webhooks/{source}"), str::to_owned);
    let body = bytes(&request["body"]);
    let content_type = request["content_type"].as_str().unwrap();
    let signed_at = SIGNED_AT + request["signed_at_offset"].as_i64().unwrap_or(0);
    let sign_with = |config: &SourcesConfig| {
        sign_request(
            config,
            &SignRequest {
                source,
                body: &body,
                content_type,
                now_unix: signed_at,
                key_index: 0,
                event_id: "evt_corpus_1",
            },
        )
        .unwrap()
        .headers
    };
    let mut headers = match request["signature"].as_str().unwrap_or("valid") {
        "valid" => sign_with(&sources()),
        "wrong_secret" => {
            let mut config: Value = serde_json::from_str(&sources_json()).unwrap();
            let secret = config["sources"][source]["secrets"][0].as_str().unwrap().to_owned();
            // Same shape as the real secret (Standard Webhooks keys must stay base64).
            let (prefix, rest) = secret.split_at(6);
            let wrong = format!("{prefix}{}", rest.replace(|c: char| c.is_ascii_lowercase(), "x"));
            assert_ne!(wrong, secret, "{name}");
            config["sources"][source]["secrets"] = json!([wrong]);
            sign_with(&SourcesConfig::from_json(config.to_string().as_bytes()).unwrap())
        }
        "none" => vec![("content-type".to_owned(), content_type.to_owned())],
        other => panic!("{name}: unknown signature {other:?}"),
    };
    if request["duplicate_signature_headers"].as_bool().unwrap_or(false) {
        let again: Vec<_> = headers.iter().filter(|(n, _)| n != "content-type").cloned().collect();
        assert!(!again.is_empty(), "{name}: nothing to duplicate");
        headers.extend(again);
    }
    if let Some(edit) = request["append_to_header"].as_array() {
        let (header, suffix) = (edit[0].as_str().unwrap(), edit[1].as_str().unwrap());
        let (_, value) = headers.iter_mut().find(|(n, _)| n == header).unwrap_or_else(|| panic!("{name}: no {header}"));
        value.push_str(suffix);
    }
    for pair in request["headers"].as_array().into_iter().flatten() {
        headers.push((pair[0].as_str().unwrap().to_owned(), text(&pair[1])));
    }
    if let Some(numbered) = request.get("numbered_headers") {
        let (header, value) = (numbered["name"].as_str().unwrap(), numbered["value"].as_str().unwrap());
        for i in 0..numbered["count"].as_u64().unwrap() {
            headers.push((header.replace("{}", &format!("{i:05}")), value.to_owned()));
        }
    }
    let sent = match request["truncate_after_signing"].as_u64() {
        Some(length) => &body[..length as usize],
        None => &body[..],
    };
    let mut event = http_api_event(&HttpRequest {
        method: request["method"].as_str().unwrap_or("POST"),
        path: &path,
        headers: &headers,
        body: sent,
        base64: request["base64"].as_bool().unwrap_or(false),
        query: "",
        time_epoch_millis: SIGNED_AT * 1000,
    });
    if let Some(parameter) = request["path_parameter"].as_str() {
        event["pathParameters"] = json!({ "source": parameter });
    }
    if let Some(raw) = request["event_body"].as_str() {
        event["body"] = json!(raw);
        event["isBase64Encoded"] = json!(request["event_body_base64"].as_bool().unwrap_or(false));
    }
    event
}

fn service<Q: Queue, B: BodyStore>(queue: Q, bodies: B) -> IngestService<Q, B, StaticSources, FixedClock> {
    IngestService::new(
        queue,
        bodies,
        StaticSources(Arc::new(sources())),
        FixedClock(SIGNED_AT * 1000 + 1000),
        "HooklineTest",
    )
}

fn body_text(response: &ApiGatewayV2httpResponse) -> String {
    match &response.body {
        Some(Body::Text(text)) => text.clone(),
        other => panic!("not a text body: {other:?}"),
    }
}

/// Runs one case through the real entry point and checks everything but the queue.
async fn check_case<Q: Queue, B: BodyStore>(service: &IngestService<Q, B, StaticSources, FixedClock>, case: &Case) {
    let name = &case.name;
    let event = event(name, &case.spec["request"]);
    let response = invoke(service, &event).await;
    let body = body_text(&response);
    assert_eq!(response.status_code, i64::from(case.status), "{name}: {body}");
    assert!((400..500).contains(&case.status), "{name}: the corpus documents 4xx answers only");
    assert!(!response.is_base64_encoded, "{name}");
    assert_eq!(response.headers["content-type"], "application/json", "{name}");
    // Exactly `{"error": code}`: nothing of the input comes back.
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "error": case.error }), "{name}");
    for (header, value) in &response.headers {
        assert!(!value.as_bytes().windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "{name}: {header} echoes");
    }
    assert!(!body.contains(CANARY), "{name}");
    if case.status == 405 {
        assert_eq!(response.headers["allow"], "POST", "{name}");
    }
}

/// `event` as the runtime API hands it over, through the function's handler.
async fn invoke<Q: Queue, B: BodyStore>(
    service: &IngestService<Q, B, StaticSources, FixedClock>,
    event: &Value,
) -> ApiGatewayV2httpResponse {
    let payload = serde_json::to_vec(event).unwrap();
    http::handle_invocation(service, http::Invocation::from_slice(&payload)).await.unwrap()
}

#[test]
fn the_corpus_covers_every_required_kind_of_bad_input() {
    let names: BTreeSet<String> = cases().into_iter().map(|c| c.name).collect();
    let missing: Vec<_> = REQUIRED_CASES.iter().filter(|r| !names.contains(**r)).collect();
    assert!(missing.is_empty(), "missing cases: {missing:?}");
    assert!(Path::new(&corpus_dir().join("sources.json")).exists());
}

#[tokio::test]
async fn every_bad_input_gets_its_documented_4xx_and_nothing_is_enqueued() {
    let queue = MemoryQueue::new();
    let service = service(queue.clone(), MemoryBodyStore::new());
    let cases = cases();
    assert!(cases.len() >= REQUIRED_CASES.len());
    for case in &cases {
        check_case(&service, case).await;
        assert!(queue.messages().is_empty(), "{} was enqueued", case.name);
    }
}

/// Bodies at each limit and one byte over it: the source's `max_body_bytes` (partner's 64 KiB,
/// and the ceiling, 6,291,456, for `bulk`) accepts exactly its size and refuses one byte more;
/// the inline threshold (256 KiB of message) keeps a body just under it inline and stores one
/// over it, both accepted.
#[tokio::test]
async fn bodies_just_under_and_just_over_each_limit() {
    let json_of = |size: usize| {
        let pad = size - r#"{"id":"evt_limit","pad":""}"#.len();
        format!(r#"{{"id":"evt_limit","pad":"{}"}}"#, "a".repeat(pad))
    };
    for (source, limit) in [("partner", 65_536), ("bulk", 6_291_456)] {
        for (size, status) in [(limit, 202), (limit + 1, 413)] {
            let (queue, bodies) = (MemoryQueue::new(), MemoryBodyStore::new());
            let request = json!({"source": source, "content_type": "application/json", "body": json_of(size)});
            let response = invoke(&service(queue.clone(), bodies.clone()), &event(source, &request)).await;
            assert_eq!(response.status_code, status, "{source}, {size} bytes: {}", body_text(&response));
            assert_eq!(queue.messages().len(), usize::from(status == 202), "{source}, {size} bytes");
            let stored = usize::from(status == 202 && size > 256 * 1024);
            assert_eq!(bodies.keys().len(), stored, "{source}, {size} bytes");
        }
    }
    // Around the inline threshold: the message is the body plus its envelope and attributes.
    for (size, stored) in [(250 * 1024, false), (256 * 1024, true)] {
        let (queue, bodies) = (MemoryQueue::new(), MemoryBodyStore::new());
        let request = json!({"source": "bulk", "content_type": "application/json", "body": json_of(size)});
        let response = invoke(&service(queue.clone(), bodies.clone()), &event("bulk", &request)).await;
        assert_eq!(response.status_code, 202, "{size} bytes");
        let message = &queue.messages()[0];
        assert_eq!(Envelope::from_json(&message.body).unwrap().stored_body.is_some(), stored, "{size} bytes");
        assert!(message.sqs_size() <= 256 * 1024, "{size} bytes: {}", message.sqs_size());
        assert_eq!(bodies.keys().len(), usize::from(stored));
    }
}

/// The harness itself: the same builder with nothing wrong gets 202 and one message for
/// every source the corpus uses, so its 401s come from the cases' defects, not from a
/// broken signer, and the empty-queue assertions would see an enqueue.
#[tokio::test]
async fn the_harness_signs_correctly_so_a_clean_request_is_accepted() {
    for source in ["stripe", "github", "acme", "partner", "bulk"] {
        let queue = MemoryQueue::new();
        let request = json!({"source": source, "content_type": "application/json", "body": "{\"id\":\"evt_ok\"}"});
        let response = invoke(&service(queue.clone(), MemoryBodyStore::new()), &event(source, &request)).await;
        assert_eq!(response.status_code, 202, "{source}: {}", body_text(&response));
        let messages = queue.messages();
        assert_eq!(messages.len(), 1, "{source}");
        assert_eq!(Envelope::from_json(&messages[0].body).unwrap().body, b"{\"id\":\"evt_ok\"}");
    }
}

/// The same corpus with the real SQS and S3 adapters, a fresh queue and bucket in the local
/// emulator.
#[tokio::test]
async fn every_bad_input_leaves_a_real_sqs_queue_empty() {
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = create_queue(&sqs, "hookline-bad-inputs").await;
    let s3 = s3_client(&sdk);
    let bucket = create_bucket(&s3, "hookline-bad-inputs").await;
    let service = service(SqsQueue::new(sqs.clone(), &queue_url), S3BodyStore::new(s3.clone(), &bucket));
    for case in &cases() {
        check_case(&service, case).await;
        assert_eq!(depth(&sqs, &queue_url).await, 0, "{} was enqueued", case.name);
    }
    assert!(drain(&sqs, &queue_url).await.is_empty());
    let objects = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(objects.key_count(), Some(0), "no bad input stored a body");
    // The queue and the adapter work: a clean request lands in it.
    let request = json!({"source": "stripe", "content_type": "application/json", "body": "{\"id\":\"evt_ok\"}"});
    let response = invoke(&service, &event("control", &request)).await;
    assert_eq!(response.status_code, 202);
    assert_eq!(depth(&sqs, &queue_url).await, 1);
}
