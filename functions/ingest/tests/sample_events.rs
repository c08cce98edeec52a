//! Every sample event in `events/ingest/` through the real handler, with in-memory ports:
//! each answers its documented status, and only accepted requests reach the queue.

use std::sync::Arc;

use hookline_domain::envelope::attribute;
use hookline_domain::{Envelope, SourcesConfig};
use hookline_ingest::{IngestService, http};
use hookline_ports::fakes::{FixedClock, MemoryQueue, StaticSources};
use serde_json::Value;

const MANIFEST: &str = include_str!("../../../events/ingest/manifest.json");
const SOURCES: &str = include_str!("../../../infra/local/sources.json");
const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/ingest");

type Service = IngestService<MemoryQueue, StaticSources, FixedClock>;

fn service(queue: &MemoryQueue) -> Service {
    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    // One second after the samples were signed.
    let now = manifest["signed_at"].as_i64().unwrap() * 1000 + 1000;
    let config = SourcesConfig::from_json(SOURCES.as_bytes()).unwrap();
    IngestService::new(queue.clone(), StaticSources(Arc::new(config)), FixedClock(now), "HooklineTest")
}

async fn invoke(service: &Service, file: &str) -> lambda_http::Response<lambda_http::Body> {
    let text = std::fs::read_to_string(format!("{EVENTS_DIR}/{file}")).unwrap();
    let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    http::handle(service, request).await.unwrap()
}

fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

#[tokio::test]
async fn every_sample_gets_its_documented_status_and_only_accepted_ones_are_enqueued() {
    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    let samples = manifest["samples"].as_array().unwrap();
    assert!(samples.len() >= 15);
    for sample in samples {
        let file = sample["file"].as_str().unwrap();
        let expected = sample["expect"].as_u64().unwrap() as u16;
        let queue = MemoryQueue::new();
        let response = invoke(&service(&queue), file).await;
        assert_eq!(response.status().as_u16(), expected, "{file}: {:?}", response.body());
        assert_eq!(response.headers()["content-type"], "application/json", "{file}");
        let body = body_json(&response);
        let messages = queue.messages();
        if expected == 202 {
            assert_eq!(messages.len(), 1, "{file}");
            let envelope = Envelope::from_json(&messages[0].body).unwrap();
            assert_eq!(body["event_id"], envelope.event_id.as_str(), "{file}");
            assert_eq!(body["status"], "accepted");
            assert_eq!(envelope.source, sample["source"].as_str().unwrap(), "{file}");
            let attributes: std::collections::HashMap<_, _> = messages[0].attributes.iter().cloned().collect();
            assert_eq!(attributes[attribute::SOURCE], envelope.source);
            assert_eq!(attributes[attribute::EVENT_ID], envelope.event_id);
            assert_eq!(attributes[attribute::SCHEME], envelope.scheme);
        } else {
            assert!(messages.is_empty(), "{file} was enqueued");
            if expected >= 400 {
                // One generic body per status; the reason stays in the log.
                assert_eq!(body.as_object().unwrap().len(), 1, "{file}: {body}");
                assert!(body["error"].is_string(), "{file}: {body}");
            }
        }
    }
}

#[tokio::test]
async fn the_envelope_keeps_the_body_byte_exact_also_when_api_gateway_base64_encodes_it() {
    let payload = std::fs::read(format!("{EVENTS_DIR}/payloads/stripe-charge-succeeded.json")).unwrap();
    for file in ["stripe-valid.json", "stripe-valid-base64.json"] {
        let queue = MemoryQueue::new();
        assert_eq!(invoke(&service(&queue), file).await.status(), 202);
        let envelope = Envelope::from_json(&queue.messages()[0].body).unwrap();
        assert_eq!(envelope.body, payload, "{file}");
        assert_eq!(envelope.event_id, "stripe:evt_3PsampleHookline0001");
        assert_eq!(envelope.received_at, "2026-11-28T12:00:01.000Z");
    }
}

#[tokio::test]
async fn all_signature_failures_look_the_same_to_the_sender() {
    let mut bodies = Vec::new();
    for file in [
        "reject-tampered-body.json",
        "reject-wrong-secret.json",
        "reject-stale-timestamp.json",
        "reject-missing-signature.json",
    ] {
        let response = invoke(&service(&MemoryQueue::new()), file).await;
        assert_eq!(response.status(), 401, "{file}");
        bodies.push(response.body().as_ref().to_vec());
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "401 bodies differ");
}

#[tokio::test]
async fn a_queue_failure_answers_503_with_retry_after_and_never_2xx() {
    let queue = MemoryQueue::new();
    queue.fail(true);
    let service = service(&queue);
    for file in ["stripe-valid.json", "github-valid.json", "generic-hmac-valid.json"] {
        let response = invoke(&service, file).await;
        assert_eq!(response.status(), 503, "{file}");
        assert_eq!(response.headers()["retry-after"], http::RETRY_AFTER_SECONDS.to_string());
        assert_eq!(body_json(&response), serde_json::json!({"error": "unavailable"}));
    }
    assert!(queue.messages().is_empty());
    queue.fail(false);
    assert_eq!(invoke(&service, "stripe-valid.json").await.status(), 202);
}

#[tokio::test]
async fn wrong_method_answers_with_allow_and_slack_gets_its_challenge() {
    let service = service(&MemoryQueue::new());
    let response = invoke(&service, "reject-wrong-method.json").await;
    assert_eq!(response.headers()["allow"], "POST");
    let response = invoke(&service, "slack-url-verification.json").await;
    assert_eq!(body_json(&response)["challenge"], "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
}
