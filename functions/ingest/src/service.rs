//! The ingest flow: decide, enqueue durably, then tell the sender — and the operator.

use std::time::Instant;

use hookline_domain::body_ref::{self, body_key};
use hookline_domain::envelope::MAX_INLINE_MESSAGE_BYTES;
use hookline_domain::event_id::EventIdOrigin;
use hookline_domain::source::SourceName;
use hookline_domain::{
    Decision, Envelope, Handshake, IntakeBody, IntakeRequest, QueueMessage, Rejection, RequestBody, decide,
};
use hookline_observability::{MetricLine, Unit};
use hookline_ports::{BodyStore, BodyStoreError, Clock, Queue, SourcesProvider};
use http::{HeaderMap, Method};

/// A webhook request as the HTTP layer hands it over.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a Method,
    /// The `{source}` of `/webhooks/{source}`; `None` when the path is not of that form.
    pub source: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: RequestBody<'a>,
    /// The raw query string, empty when there is none.
    pub query: &'a str,
}

/// What happened to one request. Only `Accepted` and `Handshake` become 2xx.
#[derive(Debug)]
pub enum Outcome {
    /// Durably in the queue: SQS answered with `message_id`. `body_stored`: the body is in
    /// the body store and the message carries a reference to it.
    Accepted {
        event_id: String,
        message_id: String,
        body_stored: bool,
    },
    /// A sender's endpoint check (Slack, Zoom, Twitch), answered and not enqueued.
    Handshake(Handshake),
    Rejected(Rejection),
    /// The path is not `/webhooks/{source}`.
    RouteNotFound,
    /// The body or the message could not be stored (or configuration read): the sender must
    /// retry. `cause`: `config_unavailable`, `body_store_failed` or `enqueue_failed`.
    Unavailable {
        event_id: Option<String>,
        cause: &'static str,
    },
}

impl Outcome {
    /// A stable label for the request's log line.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Handshake(_) => "handshake",
            Outcome::Rejected(_) => "rejected",
            Outcome::RouteNotFound => "route_not_found",
            Outcome::Unavailable { .. } => "unavailable",
        }
    }
}

pub struct IngestService<Q, B, S, C> {
    queue: Q,
    bodies: B,
    sources: S,
    clock: C,
    inline_message_bytes: usize,
    metrics_namespace: String,
}

impl<Q: Queue, B: BodyStore, S: SourcesProvider, C: Clock> IngestService<Q, B, S, C> {
    /// A service that keeps messages up to [`MAX_INLINE_MESSAGE_BYTES`] inline and stores
    /// larger bodies in `bodies`.
    pub fn new(queue: Q, bodies: B, sources: S, clock: C, metrics_namespace: impl Into<String>) -> Self {
        IngestService {
            queue,
            bodies,
            sources,
            clock,
            inline_message_bytes: MAX_INLINE_MESSAGE_BYTES,
            metrics_namespace: metrics_namespace.into(),
        }
    }

    /// Messages larger than `bytes` (as SQS counts them) carry a reference to their stored
    /// body instead of the body.
    pub fn with_inline_message_bytes(mut self, bytes: usize) -> Self {
        self.inline_message_bytes = bytes;
        self
    }

    /// Handles one request and records it: one log line and one metric line per request.
    pub async fn handle(&self, request: InboundRequest<'_>) -> Outcome {
        let started = Instant::now();
        let now_unix_millis = self.clock.now_unix_millis();
        let outcome = self.process(&request, now_unix_millis).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.record(&request, &outcome, latency_ms, now_unix_millis);
        outcome
    }

    async fn process(&self, request: &InboundRequest<'_>, now_unix_millis: i64) -> Outcome {
        let Some(source) = request.source else {
            return Outcome::RouteNotFound;
        };
        let config = match self.sources.current().await {
            Ok(config) => {
                if let Some(stale) = self.sources.stale_for() {
                    // Still within the maximum staleness, but a rotation is not taking effect.
                    stale_config_metric(&self.metrics_namespace, stale).emit(now_unix_millis);
                }
                config
            }
            Err(error) => {
                tracing::error!(%error, "sources configuration unavailable");
                return Outcome::Unavailable { event_id: None, cause: "config_unavailable" };
            }
        };
        let decision = decide(
            &config,
            &IntakeRequest {
                method: request.method,
                source,
                headers: request.headers,
                body: request.body,
                query: request.query,
                now_unix_millis,
            },
        );
        match decision {
            Err(rejection) => Outcome::Rejected(rejection),
            Ok(Decision::Handshake(handshake)) => Outcome::Handshake(handshake),
            Ok(Decision::Enqueue { envelope, event_id_origin }) => {
                if event_id_origin == EventIdOrigin::BodyHash {
                    tracing::debug!(event_id = %envelope.event_id, "no usable sender event id; using the body hash");
                }
                let (message, body_stored) = match self.queue_message(&envelope).await {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::error!(
                            event_id = %envelope.event_id,
                            retryable = error.retryable(),
                            %error,
                            "storing the body failed; answering 503 so the sender retries"
                        );
                        return Outcome::Unavailable { event_id: Some(envelope.event_id), cause: "body_store_failed" };
                    }
                };
                match self.queue.send(message).await {
                    Ok(message_id) => {
                        Outcome::Accepted { event_id: envelope.event_id, message_id: message_id.0, body_stored }
                    }
                    Err(error) => {
                        // A body stored for this message stays behind, unreferenced: harmless
                        // (no reader can reach it) until the bucket's lifecycle rule expires it,
                        // and the sender's retry writes the same key again.
                        tracing::error!(
                            event_id = %envelope.event_id,
                            retryable = error.retryable,
                            kind = error.kind,
                            error = %error.message,
                            "enqueue failed; answering 503 so the sender retries"
                        );
                        Outcome::Unavailable { event_id: Some(envelope.event_id), cause: "enqueue_failed" }
                    }
                }
            }
        }
    }

    /// The envelope as one message: inline while that stays within the inline threshold,
    /// otherwise with the body stored first and a reference to it in its place. Whether the
    /// body was stored comes with it.
    async fn queue_message(&self, envelope: &Envelope<IntakeBody<'_>>) -> Result<(QueueMessage, bool), BodyStoreError> {
        let body = envelope.body.as_ref();
        // Whatever its encoding, a message is at least as long as its body: a longer body is
        // stored without being written out inline first.
        if body.len() <= self.inline_message_bytes {
            let message = envelope.to_queue_message();
            if message.sqs_size() <= self.inline_message_bytes {
                return Ok((message, false));
            }
        }
        let sha256 = body_ref::sha256(body);
        let key = body_key(&envelope.source, &envelope.event_id, &sha256);
        let reference = self.bodies.put(&key, body.to_vec(), &sha256).await?;
        Ok((envelope.with_stored_body(reference).to_queue_message(), true))
    }

    /// Records an invocation event that could not be read as a request (answered 400
    /// `bad_request` by the HTTP edge): one log line and one metric line, like every request.
    pub fn record_invalid_event(&self, detail: &'static str) {
        let now_unix_millis = self.clock.now_unix_millis();
        tracing::info!(source = "-", outcome = "rejected", reason = "invalid_event", detail, "webhook request");
        MetricLine::new(&self.metrics_namespace)
            .dimension("Function", "ingest")
            .dimension("Reason", "invalid_event")
            .metric("Rejected", 1.0, Unit::Count)
            .emit(now_unix_millis);
    }

    fn record(&self, request: &InboundRequest<'_>, outcome: &Outcome, latency_ms: f64, now_unix_millis: i64) {
        // Only names that could be valid sources are logged: the path is caller-controlled.
        let source = request.source.and_then(SourceName::parse);
        let source = source.as_ref().map_or("-", SourceName::as_str);
        let (event_id, reason, detail) = match outcome {
            Outcome::Accepted { event_id, .. } => (Some(event_id.as_str()), None, None),
            Outcome::Rejected(rejection) => (None, Some(rejection.reason()), Some(rejection.to_string())),
            Outcome::Unavailable { event_id, cause } => (event_id.as_deref(), Some(*cause), None),
            Outcome::Handshake(_) | Outcome::RouteNotFound => (None, None, None),
        };
        let body_stored = matches!(outcome, Outcome::Accepted { body_stored: true, .. });
        tracing::info!(
            source,
            event_id,
            outcome = outcome.label(),
            body_stored,
            reason,
            detail,
            body_bytes = request.body.len(),
            latency_ms,
            "webhook request"
        );
        if let Some(line) = metric_line(&self.metrics_namespace, outcome, source, latency_ms) {
            line.emit(now_unix_millis);
        }
    }
}

/// The metric line for one request's outcome. Sources in dimensions are configured
/// sources only, so metric cardinality stays bounded.
/// How long the sources configuration in force has failed to refresh, on every request while it
/// does: the `SourcesConfigStale` alarm watches it.
pub fn stale_config_metric(namespace: &str, stale: std::time::Duration) -> MetricLine {
    MetricLine::new(namespace).dimension("Function", "ingest").metric(
        "SourcesConfigStaleSeconds",
        stale.as_secs_f64(),
        Unit::Seconds,
    )
}

pub fn metric_line(namespace: &str, outcome: &Outcome, source: &str, latency_ms: f64) -> Option<MetricLine> {
    let base = MetricLine::new(namespace).dimension("Function", "ingest");
    Some(match outcome {
        Outcome::Accepted { body_stored, .. } => base
            .dimension("Source", source)
            .metric("Accepted", 1.0, Unit::Count)
            .metric("BodiesStored", if *body_stored { 1.0 } else { 0.0 }, Unit::Count)
            .metric("IngestLatency", latency_ms, Unit::Milliseconds),
        Outcome::Rejected(rejection) => {
            base.dimension("Reason", rejection.reason()).metric("Rejected", 1.0, Unit::Count)
        }
        Outcome::RouteNotFound => base.dimension("Reason", "route_not_found").metric("Rejected", 1.0, Unit::Count),
        Outcome::Unavailable { cause, .. } => {
            let name = match *cause {
                "enqueue_failed" => "EnqueueFailed",
                "body_store_failed" => "BodyStoreFailed",
                _ => "ConfigUnavailable",
            };
            base.metric(name, 1.0, Unit::Count)
        }
        Outcome::Handshake(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hookline_domain::SourcesConfig;
    use hookline_domain::signature::sign;
    use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};

    use super::*;

    #[test]
    fn a_stale_configuration_is_a_metric_in_seconds() {
        let line = stale_config_metric("Hookline", std::time::Duration::from_secs(90)).render(0);
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["SourcesConfigStaleSeconds"], 90.0);
        assert_eq!(doc["Function"], "ingest");
        let metric = &doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0];
        assert_eq!(
            (metric["Name"].as_str(), metric["Unit"].as_str()),
            (Some("SourcesConfigStaleSeconds"), Some("Seconds"))
        );
    }

    const NOW: i64 = 1_800_000_000;

    fn test_config() -> SourcesConfig {
        SourcesConfig::from_json(
            br#"{"sources":{"stripe":{"scheme":"stripe","secrets":["whsec_test_only_secret"]},
                 "any":{"scheme":"github","secrets":["github-test-only-secret"],"content_types":["*"]}}}"#,
        )
        .unwrap()
    }

    /// The headers of `body` signed for `source` of [`test_config`], at `NOW`.
    fn signed_headers(source: &str, body: &[u8]) -> HeaderMap {
        let config = test_config();
        let configured = config.get(source).unwrap();
        sign(&configured.scheme, &configured.keys[0], body, NOW, "id").into_iter().collect()
    }

    fn service_over(
        queue: &MemoryQueue,
        store: &MemoryBodyStore,
        inline_message_bytes: usize,
    ) -> IngestService<MemoryQueue, MemoryBodyStore, StaticSources, FixedClock> {
        IngestService::new(
            queue.clone(),
            store.clone(),
            StaticSources(Arc::new(test_config())),
            FixedClock(NOW * 1000),
            "T",
        )
        .with_inline_message_bytes(inline_message_bytes)
    }

    async fn run(source: &str, content_type: &str, body: &[u8]) -> (Outcome, MemoryQueue) {
        let (outcome, queue, _) = run_with(source, content_type, body, &MemoryBodyStore::new(), 256 * 1024).await;
        (outcome, queue)
    }

    async fn run_with(
        source: &str,
        content_type: &str,
        body: &[u8],
        store: &MemoryBodyStore,
        inline_message_bytes: usize,
    ) -> (Outcome, MemoryQueue, MemoryBodyStore) {
        let mut headers = signed_headers(source, body);
        headers.insert("content-type", content_type.parse().unwrap());
        let queue = MemoryQueue::new();
        let service = service_over(&queue, store, inline_message_bytes);
        let request = InboundRequest {
            method: &Method::POST,
            source: Some(source),
            headers: &headers,
            body: body.into(),
            query: "",
        };
        (service.handle(request).await, queue, store.clone())
    }

    fn stored_reference(queue: &MemoryQueue) -> Option<hookline_domain::body_ref::BodyRef> {
        let messages = queue.messages();
        assert_eq!(messages.len(), 1);
        Envelope::from_json(&messages[0].body).unwrap().stored_body
    }

    #[tokio::test]
    async fn a_body_over_the_inline_threshold_is_stored_first_and_travels_as_its_reference() {
        let body = format!(r#"{{"id":"evt_big","type":"invoice.paid","data":"{}"}}"#, "x".repeat(300 * 1024));
        let store = MemoryBodyStore::new();
        let (outcome, queue, store) = run_with("stripe", "application/json", body.as_bytes(), &store, 256 * 1024).await;
        assert!(matches!(outcome, Outcome::Accepted { body_stored: true, .. }), "{outcome:?}");
        let reference = stored_reference(&queue).expect("a reference, not the body");
        assert!(queue.messages()[0].sqs_size() < 4096, "{}", queue.messages()[0].sqs_size());
        assert_eq!(store.keys(), std::slice::from_ref(&reference.key));
        let digest = body_ref::sha256(body.as_bytes());
        assert_eq!(reference.key, body_key("stripe", "stripe:evt_big", &digest));
        let fingerprint = hookline_domain::idempotency::fingerprint(body.as_bytes());
        assert_eq!((reference.size, reference.sha256.as_str()), (body.len() as u64, fingerprint.as_str()));
        assert_eq!(store.get(&reference).await.unwrap(), body.as_bytes(), "stored byte for byte");
    }

    #[tokio::test]
    async fn a_message_within_the_threshold_stays_inline_and_one_over_it_after_encoding_does_not() {
        let store = MemoryBodyStore::new();
        let (outcome, queue, store) = run_with("any", "application/octet-stream", &[0xff; 400], &store, 1024).await;
        assert!(matches!(outcome, Outcome::Accepted { body_stored: false, .. }), "{outcome:?}");
        assert_eq!(stored_reference(&queue), None);
        assert!(store.keys().is_empty());
        // 900 bytes are 1,200 in base64: over the threshold once encoded.
        let (outcome, queue, store) = run_with("any", "application/octet-stream", &[0xff; 900], &store, 1024).await;
        assert!(matches!(outcome, Outcome::Accepted { body_stored: true, .. }), "{outcome:?}");
        assert!(stored_reference(&queue).is_some());
        assert_eq!(store.keys().len(), 1);
    }

    #[tokio::test]
    async fn a_body_store_failure_is_503_and_nothing_is_enqueued() {
        let store = MemoryBodyStore::new();
        store.fail(true);
        let (outcome, queue, _) = run_with("any", "application/octet-stream", &[7; 4096], &store, 1024).await;
        assert!(
            matches!(outcome, Outcome::Unavailable { cause: "body_store_failed", event_id: Some(_) }),
            "{outcome:?}"
        );
        assert!(queue.messages().is_empty());
        let line = metric_line("T", &outcome, "any", 1.0).unwrap().render(0);
        assert!(line.contains(r#""BodyStoreFailed":1"#), "{line}");
    }

    #[tokio::test]
    async fn an_enqueue_failure_leaves_only_an_unreferenced_body_which_the_retry_writes_again() {
        let store = MemoryBodyStore::new();
        let body = vec![9u8; 4096];
        let headers = signed_headers("any", &body);
        let queue = MemoryQueue::new();
        let service = service_over(&queue, &store, 1024);
        let request = InboundRequest {
            method: &Method::POST,
            source: Some("any"),
            headers: &headers,
            body: body.as_slice().into(),
            query: "",
        };
        queue.fail(true);
        let outcome = service.handle(request).await;
        assert!(matches!(outcome, Outcome::Unavailable { cause: "enqueue_failed", .. }), "{outcome:?}");
        assert_eq!(store.keys().len(), 1, "the object stays, unreferenced, until the lifecycle rule expires it");
        queue.fail(false);
        let outcome = service.handle(request).await;
        assert!(matches!(outcome, Outcome::Accepted { body_stored: true, .. }), "{outcome:?}");
        assert_eq!(store.keys().len(), 1, "the retry writes the same key");
        assert_eq!(stored_reference(&queue).unwrap().key, store.keys()[0]);
    }

    /// Decided by the domain (`hookline_domain::json_body`); here: answered, never enqueued.
    #[tokio::test]
    async fn a_signed_json_body_that_is_not_utf8_is_malformed_json_and_not_enqueued() {
        for (source, content_type, body) in [
            ("stripe", "application/json", &b"{\"id\":\"evt_1\",\"name\":\"Jos\xe9\"}"[..]),
            ("stripe", "application/json; charset=iso-8859-1", b"{\"id\":\"evt_1\",\"name\":\"Jos\xe9\"}"),
            ("any", "application/vnd.x+json", b"{\"x\":\"\xff\xfe\"}"),
        ] {
            let (outcome, queue) = run(source, content_type, body).await;
            assert!(matches!(outcome, Outcome::Rejected(Rejection::MalformedJson)), "{content_type}: {outcome:?}");
            assert!(queue.messages().is_empty());
        }
    }

    #[tokio::test]
    async fn utf8_json_and_non_json_binary_bodies_are_still_accepted() {
        let (outcome, _) = run("stripe", "application/json", "{\"id\":\"evt_1\",\"name\":\"José\"}".as_bytes()).await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        let (outcome, queue) = run("any", "application/octet-stream", b"\xff\xfe\x00").await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        assert_eq!(queue.messages().len(), 1);
    }
}
