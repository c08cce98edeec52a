//! The HTTP edge: `lambda_http` requests in, [`Outcome`]s out as responses with generic
//! JSON bodies. Nothing here decides anything.
//!
//! [`handle_event`] is the function's entry point: it turns the raw API Gateway (HTTP API,
//! payload 2.0) event into a request itself, because `lambda_http` fails the whole invocation
//! (a 500 from API Gateway) on an event it cannot represent, such as a header value with a
//! CR/LF or a body flagged base64 that is not base64. Those get a deliberate 400 instead.

use hookline_domain::RequestBody;
use hookline_ports::{Clock, Queue, SourcesProvider};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Base64Data;
use lambda_http::{Body, Request, RequestExt, Response};

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
            body: match request.body() {
                Body::Text(text) => RequestBody::Text(text),
                other => RequestBody::Bytes(other.as_ref()),
            },
        })
        .await;
    Ok(response(&outcome))
}

/// Why an invocation event could not be turned into a request; a 400 `bad_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEvent {
    /// Not an HTTP API event as `lambda_http` reads it: a header name or value HTTP does not
    /// allow (CR, LF and other control characters, separators in a name), or a malformed event.
    Unreadable,
    /// `isBase64Encoded` is set and the body is not base64.
    BodyNotBase64,
    /// `lambda_http` gave up building the request (it panics, e.g. on a `Host` that is not a
    /// URI authority).
    Unconvertible,
}

impl InvalidEvent {
    /// A stable label for logs and the rejected-by-reason metric's detail.
    pub fn reason(self) -> &'static str {
        match self {
            InvalidEvent::Unreadable => "unreadable_event",
            InvalidEvent::BodyNotBase64 => "body_not_base64",
            InvalidEvent::Unconvertible => "unconvertible_event",
        }
    }
}

/// The Lambda entry point: the raw event in, the HTTP API response out. Like [`handle`], it
/// never fails the invocation.
pub async fn handle_event<Q: Queue, S: SourcesProvider, C: Clock>(
    service: &IngestService<Q, S, C>,
    event: serde_json::Value,
) -> Result<ApiGatewayV2httpResponse, std::convert::Infallible> {
    let response = match request_from_event(&event.to_string()) {
        Ok(request) => handle(service, request).await?,
        Err(invalid) => {
            service.record_invalid_event(invalid.reason());
            bad_request()
        }
    };
    Ok(api_gateway_v2_response(response))
}

/// The request `lambda_http` makes of `event`, or why it cannot make one (where it would
/// fail the invocation or panic).
pub fn request_from_event(event: &str) -> Result<Request, InvalidEvent> {
    let parsed: ApiGatewayV2httpRequest = serde_json::from_str(event).map_err(|_| InvalidEvent::Unreadable)?;
    if parsed.is_base64_encoded
        && let Some(body) = parsed.body
        && serde_json::from_value::<Base64Data>(serde_json::Value::String(body)).is_err()
    {
        return Err(InvalidEvent::BodyNotBase64);
    }
    match std::panic::catch_unwind(|| lambda_http::request::from_str(event)) {
        Ok(Ok(request)) => Ok(request),
        Ok(Err(_)) => Err(InvalidEvent::Unreadable),
        Err(_) => Err(InvalidEvent::Unconvertible),
    }
}

/// A response in the form API Gateway's HTTP API reads (what `lambda_http` would send).
pub fn api_gateway_v2_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.is_base64_encoded = matches!(body, Body::Binary(_));
    out.body = match body {
        Body::Empty => None,
        body => Some(body),
    };
    out.headers = parts.headers;
    out
}

fn bad_request() -> Response<Body> {
    Response::builder()
        .status(400)
        .header("content-type", "application/json")
        .body(Body::from(json_object(&[("error", "bad_request")])))
        .expect("static status and header names are valid")
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
        Outcome::Accepted { event_id, .. } => (202, json_object(&[("event_id", event_id), ("status", "accepted")])),
        Outcome::SlackChallenge { challenge } => (200, json_object(&[("challenge", challenge)])),
        Outcome::Rejected(rejection) => (rejection.status(), json_object(&[("error", rejection.public_code())])),
        Outcome::RouteNotFound => (404, json_object(&[("error", "not_found")])),
        Outcome::Unavailable { .. } => (503, json_object(&[("error", "unavailable")])),
    };
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if status == 405 {
        builder = builder.header("allow", "POST");
    }
    if status == 503 {
        builder = builder.header("retry-after", RETRY_AFTER_SECONDS.to_string());
    }
    builder.body(Body::from(body)).expect("static status and header names are valid")
}

/// A flat JSON object of string fields, written directly (no `Value` tree per response).
/// Fields are given in sorted order, as serde_json's map would write them.
fn json_object(fields: &[(&str, &str)]) -> String {
    let mut out = Vec::with_capacity(64);
    out.push(b'{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, name).expect("writing to a Vec cannot fail");
        out.push(b':');
        serde_json::to_writer(&mut out, value).expect("writing to a Vec cannot fail");
    }
    out.push(b'}');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hookline_domain::SourcesConfig;
    use hookline_ports::fakes::{FixedClock, MemoryQueue, StaticSources};

    use super::*;
    use serde_json::json;

    fn service(queue: &MemoryQueue) -> IngestService<MemoryQueue, StaticSources, FixedClock> {
        let config = SourcesConfig::from_json(br#"{"sources":{"stripe":{"scheme":"stripe","secrets":["whsec_t"]}}}"#);
        IngestService::new(queue.clone(), StaticSources(Arc::new(config.unwrap())), FixedClock(0), "Test")
    }

    fn event(headers: serde_json::Value, body: &str, base64: bool) -> serde_json::Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /webhooks/{source}",
            "rawPath": "/webhooks/stripe",
            "rawQueryString": "",
            "headers": headers,
            "pathParameters": {"source": "stripe"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api", "requestId": "r", "routeKey": "POST /webhooks/{source}",
                "stage": "$default", "timeEpoch": 0,
                "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"}
            },
            "body": body,
            "isBase64Encoded": base64,
        })
    }

    async fn answer(event: serde_json::Value) -> (i64, String, MemoryQueue) {
        let queue = MemoryQueue::new();
        let response = handle_event(&service(&queue), event).await.unwrap();
        assert_eq!(response.headers["content-type"], "application/json");
        let body = match response.body {
            Some(Body::Text(text)) => text,
            other => panic!("{other:?}"),
        };
        (response.status_code, body, queue)
    }

    #[tokio::test]
    async fn events_lambda_http_cannot_read_get_a_400_instead_of_an_invocation_error() {
        let json = json!("application/json");
        let cases = [
            ("CR/LF in a value", event(json!({"content-type": json, "x-a": "1\r\nx-injected: 2"}), "{}", false)),
            ("LF in a value", event(json!({"content-type": json, "x-a": "1\nx-injected: 2"}), "{}", false)),
            ("NUL in a value", event(json!({"content-type": json, "x-a": "1\u{0}"}), "{}", false)),
            ("space in a name", event(json!({"content-type": json, "x bad": "1"}), "{}", false)),
            ("parenthesis in a name", event(json!({"content-type": json, "x-evil(1)": "1"}), "{}", false)),
            ("not base64", event(json!({"content-type": json}), "not base64 at all!", true)),
            ("Host not an authority", event(json!({"content-type": json, "host": "a b"}), "{}", false)),
        ];
        for (what, event) in cases {
            let text = event.to_string();
            // What lambda_http alone does with it: an error (the runtime then fails the
            // invocation) or a panic (caught by the runtime: the invocation fails too).
            let direct = std::panic::catch_unwind(|| lambda_http::request::from_str(&text));
            assert!(!matches!(direct, Ok(Ok(_))), "{what}: lambda_http reads it, the test is moot");
            assert!(request_from_event(&text).is_err(), "{what}");
            let (status, body, queue) = answer(event).await;
            assert_eq!((status, body.as_str()), (400, r#"{"error":"bad_request"}"#), "{what}");
            assert!(queue.messages().is_empty(), "{what}");
        }
    }

    #[tokio::test]
    async fn readable_events_reach_the_handler_as_before() {
        let headers = json!({"content-type": "application/json", "x-a": "caf\u{e9}\tb"});
        let (status, body, _) = answer(event(headers.clone(), "{}", false)).await;
        assert_eq!((status, body.as_str()), (401, r#"{"error":"unauthorized"}"#));
        // "{}" in base64: decoded by the same path as before.
        let (status, _, _) = answer(event(headers, "e30=", true)).await;
        assert_eq!(status, 401);
        let mut get = event(json!({}), "", false);
        get["requestContext"]["http"]["method"] = json!("GET");
        let queue = MemoryQueue::new();
        let response = handle_event(&service(&queue), get).await.unwrap();
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["allow"], "POST");
        assert!(!response.is_base64_encoded);
    }

    #[test]
    fn response_bodies_are_the_json_documents_they_were() {
        let tricky = "evt_\"quoted\"\\\u{7f}é";
        let cases = [
            (
                Outcome::Accepted { event_id: tricky.into(), message_id: "m".into() },
                json!({"event_id": tricky, "status": "accepted"}),
            ),
            (Outcome::SlackChallenge { challenge: tricky.into() }, json!({"challenge": tricky})),
            (Outcome::Rejected(hookline_domain::Rejection::MalformedJson), json!({"error": "malformed_json"})),
            (Outcome::RouteNotFound, json!({"error": "not_found"})),
            (Outcome::Unavailable { event_id: None, cause: "enqueue_failed" }, json!({"error": "unavailable"})),
        ];
        for (outcome, expected) in cases {
            assert_eq!(response(&outcome).body().as_ref(), expected.to_string().as_bytes());
        }
    }

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
