//! The HTTP edge: `lambda_http` requests in, [`Outcome`]s out as responses with generic
//! JSON bodies. Nothing here decides anything.

use hookline_ports::{Clock, Queue, SourcesProvider};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use crate::service::{InboundRequest, IngestService, Outcome};

/// Seconds a sender is asked to wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 10;

/// The Lambda handler. It never returns `Err`: every failure is a deliberate HTTP answer,
/// never a 502 from API Gateway.
pub async fn handle<Q: Queue, S: SourcesProvider, C: Clock>(
    service: &IngestService<Q, S, C>,
    request: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    let path_parameters = request.path_parameters();
    let source = path_parameters.first("source").or_else(|| source_from_path(request.uri().path()));
    let outcome = service
        .handle(InboundRequest {
            method: request.method(),
            source,
            headers: request.headers(),
            body: request.body().as_ref(),
        })
        .await;
    Ok(response(&outcome))
}

/// `{source}` from a path ending in `/webhooks/{source}` (any stage or prefix before it), for
/// invocations that carry no path parameters, such as function URLs.
pub fn source_from_path(path: &str) -> Option<&str> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let source = segments.next()?;
    (segments.next()? == "webhooks" && !source.is_empty()).then_some(source)
}

/// The HTTP answer for an outcome.
pub fn response(outcome: &Outcome) -> Response<Body> {
    let (status, body) = match outcome {
        Outcome::Accepted { event_id, .. } => (202, json!({"event_id": event_id, "status": "accepted"})),
        Outcome::SlackChallenge { challenge } => (200, json!({"challenge": challenge})),
        Outcome::Rejected(rejection) => (rejection.status(), json!({"error": rejection.public_code()})),
        Outcome::RouteNotFound => (404, json!({"error": "not_found"})),
        Outcome::Unavailable { .. } => (503, json!({"error": "unavailable"})),
    };
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if status == 405 {
        builder = builder.header("allow", "POST");
    }
    if status == 503 {
        builder = builder.header("retry-after", RETRY_AFTER_SECONDS.to_string());
    }
    builder.body(Body::from(body.to_string())).expect("static status and header names are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_source_after_webhooks() {
        assert_eq!(source_from_path("/webhooks/stripe"), Some("stripe"));
        assert_eq!(source_from_path("/prod/webhooks/stripe/"), Some("stripe"));
        assert_eq!(source_from_path("/webhooks/"), None);
        assert_eq!(source_from_path("/webhooks"), None);
        assert_eq!(source_from_path("/hooks/stripe"), None);
        assert_eq!(source_from_path("/webhooks/a/b"), None);
    }
}
