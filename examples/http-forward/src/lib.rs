//! An example of your own handler: each event is POSTed to an HTTP API exactly once per
//! successful attempt, with the event id as its `Idempotency-Key`, so that an API that
//! honours the key (Stripe's, Adyen's, most payment and order APIs) applies it once even if
//! the function dies between the API's answer and Hookline's COMPLETED marker.
//!
//! The answer decides what Hookline does next:
//! - 2xx: done (the processor marks the event COMPLETED);
//! - 408, 429, 5xx, a timeout, no connection: transient, retried with backoff, then
//!   dead-lettered after `MaxReceiveCount` deliveries;
//! - any other 4xx: permanent, dead-lettered at once with the status (a request the API
//!   refuses will be refused again).
//!
//! [`Api`] is the port; [`HyperApi`] its adapter (hyper, rustls); the tests use a fake.

use std::future::Future;
use std::time::Duration;

use hookline_domain::Envelope;
use hookline_ports::{Claim, Handled, HandlerError, WebhookHandler};

/// Error classes, as the dead-letter ledger and the metrics show them.
pub mod class {
    pub const REJECTED: &str = "ApiRejected";
    pub const UNAVAILABLE: &str = "ApiUnavailable";
    pub const TIMEOUT: &str = "ApiTimeout";
    pub const UNREACHABLE: &str = "ApiUnreachable";
}

/// One POST to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The event id: the API applies two requests with the same key once.
    pub idempotency_key: String,
    pub event_type: Option<String>,
    pub attempt: u32,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why the API gave no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the API: {0}")]
    Unreachable(String),
}

/// The HTTP API, reduced to what the handler needs: a POST and its status.
pub trait Api: Send + Sync {
    fn post(&self, request: &ApiRequest) -> impl Future<Output = Result<u16, ApiError>> + Send;
}

/// The handler.
pub struct Forward<A> {
    api: A,
}

impl<A> Forward<A> {
    pub fn new(api: A) -> Self {
        Forward { api }
    }
}

impl<A: Api> WebhookHandler for Forward<A> {
    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        let request = ApiRequest {
            idempotency_key: event.event_id.clone(),
            event_type: event.event_type.as_ref().map(|t| t.name.clone()),
            attempt: claim.attempt,
            content_type: event.content_type.clone(),
            body: event.body.clone(),
        };
        match self.api.post(&request).await {
            Ok(200..=299) => Ok(Handled::Done),
            Ok(status @ (408 | 429)) => {
                Err(HandlerError::transient(class::UNAVAILABLE, format!("the API answered {status}")))
            }
            Ok(status @ 400..=499) => {
                Err(HandlerError::permanent(class::REJECTED, format!("the API answered {status}")))
            }
            Ok(status) => Err(HandlerError::transient(class::UNAVAILABLE, format!("the API answered {status}"))),
            Err(error @ ApiError::Timeout(_)) => Err(HandlerError::transient(class::TIMEOUT, error.to_string())),
            Err(error @ ApiError::Unreachable(_)) => {
                Err(HandlerError::transient(class::UNREACHABLE, error.to_string()))
            }
        }
    }
}

/// The handler's configuration, from the environment at cold start.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// `FORWARD_URL`: where events are POSTed (http or https).
    pub url: http::Uri,
    /// `FORWARD_TIMEOUT_MILLIS` (default 5,000): longer than that is a transient failure.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardConfigError {
    #[error("FORWARD_URL must be an http:// or https:// URL")]
    Url,
    #[error("FORWARD_TIMEOUT_MILLIS must be a whole number from 1 to 900000")]
    Timeout,
}

impl ForwardConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ForwardConfigError> {
        let url: http::Uri = lookup("FORWARD_URL").and_then(|u| u.parse().ok()).ok_or(ForwardConfigError::Url)?;
        if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
            return Err(ForwardConfigError::Url);
        }
        let timeout = match lookup("FORWARD_TIMEOUT_MILLIS") {
            None => 5_000,
            Some(value) => {
                value.trim().parse().ok().filter(|v| (1..=900_000).contains(v)).ok_or(ForwardConfigError::Timeout)?
            }
        };
        Ok(ForwardConfig { url, timeout: Duration::from_millis(timeout) })
    }

    pub fn from_env() -> Result<Self, ForwardConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// [`Api`] over hyper, HTTPS with rustls and the system's roots.
pub struct HyperApi {
    client: hyper_util::client::legacy::Client<Connector, http_body_util::Full<bytes::Bytes>>,
    url: http::Uri,
    timeout: Duration,
}

impl HyperApi {
    pub fn new(url: http::Uri, timeout: Duration) -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(HyperApi { client, url, timeout })
    }
}

impl Api for HyperApi {
    async fn post(&self, request: &ApiRequest) -> Result<u16, ApiError> {
        let mut builder = http::Request::post(self.url.clone())
            .header("idempotency-key", &request.idempotency_key)
            .header("x-hookline-attempt", request.attempt.to_string());
        if let Some(content_type) = &request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        if let Some(event_type) = &request.event_type {
            builder = builder.header("x-hookline-event-type", event_type);
        }
        let http_request = builder
            .body(http_body_util::Full::new(bytes::Bytes::from(request.body.clone())))
            .map_err(|e| ApiError::Unreachable(format!("the request could not be built: {e}")))?;
        match tokio::time::timeout(self.timeout, self.client.request(http_request)).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(error)) => Err(ApiError::Unreachable(error.to_string())),
            Err(_) => Err(ApiError::Timeout(self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests;
