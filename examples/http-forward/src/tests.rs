use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use hookline_domain::InboundRecord;
use hookline_domain::idempotency::FailureKind;
use hookline_ports::fakes::{FixedClock, MemoryIdempotencyStore, MemoryQueue, MemoryVisibility, sample_envelope};
use hookline_processor::{Processor, ProcessorSettings, RecordOutcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// An API in memory: answers the scripted statuses in order (then 201), keeps every request.
#[derive(Clone, Default)]
struct FakeApi {
    answers: Arc<Mutex<VecDeque<Result<u16, ApiError>>>>,
    requests: Arc<Mutex<Vec<ApiRequest>>>,
}

impl FakeApi {
    fn answering(answers: impl IntoIterator<Item = Result<u16, ApiError>>) -> Self {
        let api = FakeApi::default();
        api.answers.lock().unwrap().extend(answers);
        api
    }

    fn requests(&self) -> Vec<ApiRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Api for FakeApi {
    async fn post(&self, request: &ApiRequest) -> Result<u16, ApiError> {
        self.requests.lock().unwrap().push(request.clone());
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(201))
    }
}

fn claim(attempt: u32) -> Claim {
    Claim { event_id: "stripe:evt_1".into(), token: "t".into(), attempt, expires_at: 0 }
}

#[tokio::test]
async fn the_event_id_is_the_idempotency_key_and_statuses_are_classified() {
    let api = FakeApi::answering([
        Ok(200),
        Ok(503),
        Ok(429),
        Ok(408),
        Ok(422),
        Ok(404),
        Err(ApiError::Timeout(Duration::from_secs(5))),
        Err(ApiError::Unreachable("refused".into())),
        Ok(302),
    ]);
    let handler = Forward::new(api.clone());
    let mut event = sample_envelope("stripe:evt_1", br#"{"id":"evt_1"}"#);
    event.event_type =
        hookline_domain::envelope::EventType::new("invoice.paid", hookline_domain::envelope::Origin::Signed);
    let mut answers = Vec::new();
    for attempt in 1..=9 {
        answers.push(handler.handle(&event, &claim(attempt)).await.map_err(|e| (e.kind, e.class)));
    }
    let transient = |class: &str| Err((FailureKind::Transient, class.to_owned()));
    let permanent = |class: &str| Err((FailureKind::Permanent, class.to_owned()));
    assert_eq!(
        answers,
        [
            Ok(Handled::Done),
            transient(class::UNAVAILABLE),
            transient(class::UNAVAILABLE),
            transient(class::UNAVAILABLE),
            permanent(class::REJECTED),
            permanent(class::REJECTED),
            transient(class::TIMEOUT),
            transient(class::UNREACHABLE),
            transient(class::UNAVAILABLE),
        ]
    );
    let requests = api.requests();
    assert!(requests.iter().all(|r| r.idempotency_key == "stripe:evt_1"));
    assert_eq!(requests[0].event_type.as_deref(), Some("invoice.paid"));
    assert_eq!(requests[0].body, br#"{"id":"evt_1"}"#);
    assert_eq!(requests.iter().map(|r| r.attempt).collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>());
}

type Forwarding = Processor<MemoryIdempotencyStore, Forward<FakeApi>, MemoryVisibility, MemoryQueue, FixedClock>;

fn processor(api: &FakeApi, dlq: &MemoryQueue) -> Forwarding {
    Processor::new(
        MemoryIdempotencyStore::new(),
        Forward::new(api.clone()),
        MemoryVisibility::new(),
        dlq.clone(),
        FixedClock(1_795_867_200_000),
        ProcessorSettings::default(),
    )
}

fn record(message_id: &str, event_id: &str, receive_count: u32) -> InboundRecord {
    InboundRecord {
        message_id: message_id.into(),
        receipt_handle: format!("rh-{message_id}"),
        body: sample_envelope(event_id, b"{}").to_json(),
        receive_count,
        attributes: BTreeMap::new(),
    }
}

/// Under the processor: a duplicate never reaches the API again, a 5xx is retried and then
/// succeeds, a 4xx is dead-lettered.
#[tokio::test]
async fn under_the_processor_each_event_reaches_the_api_once_per_successful_attempt() {
    const DEADLINE: i64 = 1_795_867_200_000 + 30_000;
    let (api, dlq) = (FakeApi::answering([Ok(500), Ok(400)]), MemoryQueue::new());
    let processor = processor(&api, &dlq);
    let first = processor.process_batch(vec![record("m1", "stripe:evt_a", 1)], DEADLINE).await;
    assert!(matches!(&first[0].outcome, RecordOutcome::Retry { class, .. } if class == class::UNAVAILABLE));
    let poison = processor.process_batch(vec![record("m2", "stripe:evt_b", 1)], DEADLINE).await;
    assert_eq!(poison[0].outcome, RecordOutcome::DeadLettered { class: class::REJECTED.into() });
    assert_eq!(dlq.messages().len(), 1);
    let retried = processor.process_batch(vec![record("m1", "stripe:evt_a", 2)], DEADLINE).await;
    assert_eq!(retried[0].outcome, RecordOutcome::Processed);
    let duplicate = processor.process_batch(vec![record("m3", "stripe:evt_a", 1)], DEADLINE).await;
    assert_eq!(duplicate[0].outcome, RecordOutcome::Duplicate);
    let keys: Vec<_> = api.requests().into_iter().map(|r| (r.idempotency_key, r.attempt)).collect();
    assert_eq!(keys, [("stripe:evt_a".into(), 1), ("stripe:evt_b".into(), 1), ("stripe:evt_a".into(), 2)]);
}

#[test]
fn the_configuration_is_checked_at_cold_start() {
    let config = |vars: &[(&str, &str)]| {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ForwardConfig::from_lookup(|name| vars.get(name).cloned())
    };
    let good = config(&[("FORWARD_URL", "https://api.example.com/hooks")]).unwrap();
    assert_eq!(good.timeout, Duration::from_secs(5));
    assert_eq!(config(&[]).unwrap_err(), ForwardConfigError::Url);
    assert_eq!(config(&[("FORWARD_URL", "ftp://x/y")]).unwrap_err(), ForwardConfigError::Url);
    assert_eq!(
        config(&[("FORWARD_URL", "http://x/"), ("FORWARD_TIMEOUT_MILLIS", "0")]).unwrap_err(),
        ForwardConfigError::Timeout
    );
}

/// One HTTP/1.1 exchange on a local socket: the request's head and body, answered `status`.
async fn serve_once(listener: tokio::net::TcpListener, status: &'static str) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket.read(&mut buffer).await.unwrap();
        seen.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&seen);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0usize);
            if seen.len() >= head_end + 4 + length {
                break;
            }
        }
    }
    socket
        .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    String::from_utf8(seen).unwrap()
}

/// The adapter against a real socket: the headers it sends, the status it reads, and a
/// server that never answers turning into a timeout.
#[tokio::test]
async fn the_hyper_adapter_posts_the_event_with_its_key() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: http::Uri = format!("http://{}/hooks", listener.local_addr().unwrap()).parse().unwrap();
    let server = tokio::spawn(serve_once(listener, "202 Accepted"));
    let api = HyperApi::new(url, Duration::from_secs(5)).unwrap();
    let request = ApiRequest {
        idempotency_key: "stripe:evt_1".into(),
        event_type: Some("invoice.paid".into()),
        attempt: 2,
        content_type: Some("application/json".into()),
        body: br#"{"id":"evt_1"}"#.to_vec(),
    };
    assert_eq!(api.post(&request).await, Ok(202));
    let seen = server.await.unwrap().to_ascii_lowercase();
    assert!(seen.starts_with("post /hooks http/1.1\r\n"), "{seen}");
    for header in [
        "idempotency-key: stripe:evt_1",
        "x-hookline-attempt: 2",
        "x-hookline-event-type: invoice.paid",
        "content-type: application/json",
    ] {
        assert!(seen.contains(header), "{header} in {seen}");
    }
    assert!(seen.ends_with(r#"{"id":"evt_1"}"#), "{seen}");

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: http::Uri = format!("http://{}/hooks", silent.local_addr().unwrap()).parse().unwrap();
    let api = HyperApi::new(url, Duration::from_millis(200)).unwrap();
    assert_eq!(api.post(&request).await, Err(ApiError::Timeout(Duration::from_millis(200))));
    drop(silent);
}
