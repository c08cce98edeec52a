//! The per-request log line: exactly one per request, with the fields an operator queries,
//! and never a secret or a byte of the payload.

use std::io::Write;
use std::sync::{Arc, Mutex};

use hookline_domain::SourcesConfig;
use hookline_ingest::{IngestService, http};
use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};
use serde_json::Value;

const MANIFEST: &str = include_str!("../../../events/ingest/manifest.json");
const SOURCES: &str = include_str!("../../../infra/local/sources.json");
const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/ingest");

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_json_line_per_request_without_secrets_or_payloads() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    let config = SourcesConfig::from_json(SOURCES.as_bytes()).unwrap();
    let queue = MemoryQueue::new();
    let service = IngestService::new(
        queue.clone(),
        MemoryBodyStore::new(),
        StaticSources(Arc::new(config)),
        FixedClock(manifest["signed_at"].as_i64().unwrap() * 1000 + 1000),
        "HooklineTest",
    );
    let samples = manifest["samples"].as_array().unwrap();
    for sample in samples {
        let text = std::fs::read_to_string(format!("{EVENTS_DIR}/{}", sample["file"].as_str().unwrap())).unwrap();
        http::handle_invocation(&service, http::Invocation::from_slice(text.as_bytes())).await.unwrap();
    }
    queue.fail(true);
    let text = std::fs::read_to_string(format!("{EVENTS_DIR}/stripe-valid.json")).unwrap();
    http::handle_invocation(&service, http::Invocation::from_slice(text.as_bytes())).await.unwrap();

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = output.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "webhook request").collect();
    assert_eq!(requests.len(), samples.len() + 1);
    for line in &requests {
        assert!(line["outcome"].is_string(), "{line}");
        assert!(line["latency_ms"].is_number(), "{line}");
        assert!(line["source"].is_string(), "{line}");
    }
    let rejected = requests.iter().filter(|l| l["outcome"] == "rejected").count();
    assert_eq!(rejected, samples.iter().filter(|s| s["expect"].as_u64().unwrap() >= 400).count());
    assert!(
        requests.iter().any(|l| l["reason"] == "unauthorized" && l["detail"].as_str().unwrap().contains("signature"))
    );
    assert!(requests.iter().any(|l| l["outcome"] == "unavailable" && l["reason"] == "enqueue_failed"));

    let sources: Value = serde_json::from_str(SOURCES).unwrap();
    for source in sources["sources"].as_object().unwrap().values() {
        for secret in source["secrets"].as_array().unwrap() {
            let secret = secret.as_str().unwrap();
            assert!(!output.contains(secret), "a secret reached the log");
            let bare = secret.trim_start_matches("whsec_");
            assert!(!output.contains(bare), "a secret reached the log");
        }
    }
    for fragment in ["ch_3PsampleHookline0001", "Keep it logically awesome", "IPod Nano", "shipment.delivered"] {
        assert!(!output.contains(fragment), "payload content {fragment:?} reached the log");
    }
}
