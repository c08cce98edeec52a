//! Every sample event in `events/ingest/` through the real handler, with in-memory ports:
//! each answers its documented status, and only accepted requests reach the queue.

use std::sync::Arc;

use hookline_domain::envelope::attribute;
use hookline_domain::{Envelope, SourcesConfig};
use hookline_ingest::{IngestService, http};
use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::Value;

const MANIFEST: &str = include_str!("../../../events/ingest/manifest.json");
const SOURCES: &str = include_str!("../../../infra/local/sources.json");
const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/ingest");

type Service = IngestService<MemoryQueue, MemoryBodyStore, StaticSources, FixedClock>;

fn service(queue: &MemoryQueue) -> Service {
    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    // One second after the samples were signed.
    let now = manifest["signed_at"].as_i64().unwrap() * 1000 + 1000;
    let config = SourcesConfig::from_json(SOURCES.as_bytes()).unwrap();
    IngestService::new(
        queue.clone(),
        MemoryBodyStore::new(),
        StaticSources(Arc::new(config)),
        FixedClock(now),
        "HooklineTest",
    )
}

/// The sample's bytes as the runtime API would hand them over, through the function's handler.
async fn invoke(service: &Service, file: &str) -> ApiGatewayV2httpResponse {
    let payload = std::fs::read(format!("{EVENTS_DIR}/{file}")).unwrap();
    http::handle_invocation(service, http::Invocation::from_slice(&payload)).await.unwrap()
}

fn body_text(response: &ApiGatewayV2httpResponse) -> &str {
    match &response.body {
        Some(lambda_http::Body::Text(text)) => text,
        other => panic!("not a text body: {other:?}"),
    }
}

fn body_json(response: &ApiGatewayV2httpResponse) -> Value {
    serde_json::from_str(body_text(response)).unwrap()
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
        assert_eq!(response.status_code, i64::from(expected), "{file}: {:?}", response.body);
        let messages = queue.messages();
        if expected == 204 {
            // Discord's PING: an empty answer.
            assert_eq!(response.body, None, "{file}");
            assert!(messages.is_empty(), "{file} was enqueued");
            continue;
        }
        if let Some(answer) = sample["expect_body"].as_str() {
            // A handshake: the provider reads the answer back as it is.
            assert_eq!(body_text(&response), answer, "{file}");
            assert!(messages.is_empty(), "{file} was enqueued");
            continue;
        }
        assert_eq!(response.headers["content-type"], "application/json", "{file}");
        let body = body_json(&response);
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
        assert_eq!(invoke(&service(&queue), file).await.status_code, 202);
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
        assert_eq!(response.status_code, 401, "{file}");
        bodies.push(body_text(&response).to_owned());
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
        assert_eq!(response.status_code, 503, "{file}");
        assert_eq!(response.headers["retry-after"], http::RETRY_AFTER_SECONDS.to_string());
        assert_eq!(body_json(&response), serde_json::json!({"error": "unavailable"}));
    }
    assert!(queue.messages().is_empty());
    queue.fail(false);
    assert_eq!(invoke(&service, "stripe-valid.json").await.status_code, 202);
}

#[tokio::test]
async fn wrong_method_answers_with_allow_and_slack_gets_its_challenge() {
    let service = service(&MemoryQueue::new());
    let response = invoke(&service, "reject-wrong-method.json").await;
    assert_eq!(response.headers["allow"], "POST");
    let response = invoke(&service, "slack-url-verification.json").await;
    assert_eq!(body_json(&response)["challenge"], "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
}
