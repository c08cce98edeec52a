//! The ingest flow: decide, enqueue durably, then tell the sender — and the operator.

use std::time::Instant;

use hookline_domain::event_id::EventIdOrigin;
use hookline_domain::source::SourceName;
use hookline_domain::{Decision, Handshake, IntakeRequest, Rejection, RequestBody, decide};
use hookline_observability::{MetricLine, Unit};
use hookline_ports::{Clock, Queue, SourcesProvider};
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
    /// Durably in the queue: SQS answered with `message_id`.
    Accepted {
        event_id: String,
        message_id: String,
    },
    /// A sender's endpoint check (Slack, Zoom, Twitch), answered and not enqueued.
    Handshake(Handshake),
    Rejected(Rejection),
    /// The path is not `/webhooks/{source}`.
    RouteNotFound,
    /// The message could not be stored (or configuration read): the sender must retry.
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

pub struct IngestService<Q, S, C> {
    queue: Q,
    sources: S,
    clock: C,
    metrics_namespace: String,
}

impl<Q: Queue, S: SourcesProvider, C: Clock> IngestService<Q, S, C> {
    pub fn new(queue: Q, sources: S, clock: C, metrics_namespace: impl Into<String>) -> Self {
        IngestService { queue, sources, clock, metrics_namespace: metrics_namespace.into() }
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
                let message = envelope.to_queue_message();
                match self.queue.send(message).await {
                    Ok(message_id) => Outcome::Accepted { event_id: envelope.event_id, message_id: message_id.0 },
                    Err(error) => {
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
        tracing::info!(
            source,
            event_id,
            outcome = outcome.label(),
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
        Outcome::Accepted { .. } => base.dimension("Source", source).metric("Accepted", 1.0, Unit::Count).metric(
            "IngestLatency",
            latency_ms,
            Unit::Milliseconds,
        ),
        Outcome::Rejected(rejection) => {
            base.dimension("Reason", rejection.reason()).metric("Rejected", 1.0, Unit::Count)
        }
        Outcome::RouteNotFound => base.dimension("Reason", "route_not_found").metric("Rejected", 1.0, Unit::Count),
        Outcome::Unavailable { cause, .. } => {
            let name = if *cause == "enqueue_failed" { "EnqueueFailed" } else { "ConfigUnavailable" };
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
    use hookline_ports::fakes::{FixedClock, MemoryQueue, StaticSources};

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

    async fn run(source: &str, content_type: &str, body: &[u8]) -> (Outcome, MemoryQueue) {
        let config = SourcesConfig::from_json(
            br#"{"sources":{"stripe":{"scheme":"stripe","secrets":["whsec_test_only_secret"]},
                 "any":{"scheme":"github","secrets":["github-test-only-secret"],"content_types":["*"]}}}"#,
        )
        .unwrap();
        let configured = config.get(source).unwrap();
        let mut headers: HeaderMap =
            sign(&configured.scheme, &configured.keys[0], body, NOW, "id").into_iter().collect();
        headers.insert("content-type", content_type.parse().unwrap());
        let queue = MemoryQueue::new();
        let service = IngestService::new(queue.clone(), StaticSources(Arc::new(config)), FixedClock(NOW * 1000), "T");
        let request = InboundRequest {
            method: &Method::POST,
            source: Some(source),
            headers: &headers,
            body: body.into(),
            query: "",
        };
        (service.handle(request).await, queue)
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
