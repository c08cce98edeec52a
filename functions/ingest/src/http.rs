//! The HTTP edge: API Gateway's invocation payload in, [`Outcome`]s out as HTTP API responses
//! with generic JSON bodies. Nothing here decides anything.
//!
//! The runtime deserializes each invocation's bytes once, straight into [`Invocation`]: API
//! Gateway's HTTP API (payload 2.0) event in its typed form. An event that does not read as
//! one (truncated, a field of the wrong type, a header name or value HTTP does not allow) is
//! answered 400 `bad_request` instead of failing the invocation, which API Gateway would turn
//! into a 500.

use hookline_domain::{Handshake, Rejection, RequestBody};
use hookline_ports::{BodyStore, Clock, Queue, SourcesProvider};
use http::{HeaderValue, header};
use lambda_http::Body;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use serde::{Deserialize, Deserializer};

use crate::service::{InboundRequest, IngestService, Outcome};

/// Seconds a sender is asked to wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 10;

/// One invocation's payload: the HTTP API event, or `None` when the payload does not read as
/// one.
///
/// Its `Deserialize` never fails: the runtime deserializes the payload with it and would
/// fail the invocation on an error. `lambda_runtime` reads the payload with
/// `serde_json::Deserializer::from_slice` and does not check for trailing bytes, so a
/// payload that stops reading as an event part-way is kept as `None` and nothing else is
/// read of it.
pub struct Invocation(pub Option<ApiGatewayV2httpRequest>);

/// Names the request, never its headers or body (signatures, payloads).
impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(event) => f
                .debug_struct("Invocation")
                .field("method", &event.request_context.http.method)
                .field("raw_path", &event.raw_path)
                .field("request_id", &event.request_context.request_id)
                .finish_non_exhaustive(),
            None => f.write_str("Invocation(unreadable)"),
        }
    }
}

impl<'de> Deserialize<'de> for Invocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Invocation(ApiGatewayV2httpRequest::deserialize(deserializer).ok()))
    }
}

impl Invocation {
    /// The payload read from the runtime API's bytes as `lambda_runtime` reads it.
    pub fn from_slice(payload: &[u8]) -> Self {
        Invocation::deserialize(&mut serde_json::Deserializer::from_slice(payload)).unwrap_or(Invocation(None))
    }
}

/// The function's handler: one invocation in, the HTTP API response out. It never returns
/// `Err`: every failure is a deliberate HTTP answer, never a 502 from API Gateway.
pub async fn handle_invocation<Q: Queue, B: BodyStore, S: SourcesProvider, C: Clock>(
    service: &IngestService<Q, B, S, C>,
    invocation: Invocation,
) -> Result<ApiGatewayV2httpResponse, std::convert::Infallible> {
    let Some(event) = invocation.0 else {
        service.record_invalid_event("unreadable_event");
        return Ok(error_response(400, "bad_request"));
    };
    let outcome = service.handle(inbound_request(&event)).await;
    Ok(response(&outcome))
}

/// The request the service sees: method, `{source}`, headers and body, borrowed from the event.
pub fn inbound_request(event: &ApiGatewayV2httpRequest) -> InboundRequest<'_> {
    let path = event.raw_path.as_deref().or(event.request_context.http.path.as_deref()).unwrap_or("");
    let source = event.path_parameters.get("source").map(String::as_str).or_else(|| source_from_path(path));
    let body = match (&event.body, event.is_base64_encoded) {
        (None, _) => RequestBody::Text(""),
        (Some(encoded), true) => RequestBody::Base64(encoded),
        (Some(text), false) => RequestBody::Text(text),
    };
    let query = event.raw_query_string.as_deref().unwrap_or("");
    InboundRequest { method: &event.request_context.http.method, source, headers: &event.headers, body, query }
}

/// `{source}` from a path ending in `/webhooks/{source}` (any stage or prefix before it), for
/// invocations that carry no path parameters, such as function URLs.
pub fn source_from_path(path: &str) -> Option<&str> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let source = segments.next()?;
    (segments.next()? == "webhooks" && !source.is_empty()).then_some(source)
}

/// The HTTP answer for an outcome.
pub fn response(outcome: &Outcome) -> ApiGatewayV2httpResponse {
    match outcome {
        Outcome::Accepted { event_id, .. } => {
            json_response(202, json_object(&[("event_id", event_id), ("status", "accepted")]))
        }
        Outcome::Handshake(Handshake::SlackChallenge { challenge }) => {
            json_response(200, json_object(&[("challenge", challenge)]))
        }
        Outcome::Handshake(Handshake::ZoomUrlValidation { plain_token, encrypted_token }) => {
            json_response(200, json_object(&[("encryptedToken", encrypted_token), ("plainToken", plain_token)]))
        }
        Outcome::Handshake(Handshake::TwitchChallenge { challenge } | Handshake::MetaChallenge { challenge }) => {
            text_response(200, challenge)
        }
        Outcome::Handshake(Handshake::DiscordPing) => {
            let mut response = ApiGatewayV2httpResponse::default();
            response.status_code = 204;
            response
        }
        Outcome::Rejected(rejection) => {
            let mut response = error_response(rejection.status(), rejection.public_code());
            if let Rejection::MethodNotAllowed { allow } = rejection {
                response.headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            response
        }
        Outcome::RouteNotFound => error_response(404, "not_found"),
        Outcome::Unavailable { .. } => {
            let mut response = error_response(503, "unavailable");
            response.headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            response
        }
    }
}

fn error_response(status: u16, code: &str) -> ApiGatewayV2httpResponse {
    json_response(status, json_object(&[("error", code)]))
}

fn text_response(status: u16, body: &str) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response.body = Some(Body::Text(body.to_owned()));
    response
}

fn json_response(status: u16, body: String) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body));
    response
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
    use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};
    use serde_json::{Value, json};

    use super::*;

    fn service(queue: &MemoryQueue) -> IngestService<MemoryQueue, MemoryBodyStore, StaticSources, FixedClock> {
        let config = SourcesConfig::from_json(
            br#"{"sources":{"stripe":{"scheme":"stripe","secrets":["whsec_test_only_secret"]}}}"#,
        );
        IngestService::new(
            queue.clone(),
            MemoryBodyStore::new(),
            StaticSources(Arc::new(config.unwrap())),
            FixedClock(0),
            "Test",
        )
    }

    fn event(headers: Value, body: &str, base64: bool) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /webhooks/{source}",
            "rawPath": "/webhooks/stripe",
            "rawQueryString": "a=1",
            "cookies": ["c=1"],
            "headers": headers,
            "queryStringParameters": {"a": "1"},
            "pathParameters": {"source": "stripe"},
            "stageVariables": {"s": "v"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api", "requestId": "r", "routeKey": "POST /webhooks/{source}",
                "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"}
            },
            "body": body,
            "isBase64Encoded": base64,
        })
    }

    fn headers() -> Value {
        json!({"content-type": "application/json", "x-a": "caf\u{e9}\tb"})
    }

    /// The answer to `payload`, read as the runtime reads it, and the queue afterwards.
    async fn answer(payload: &[u8]) -> (i64, String, MemoryQueue) {
        let queue = MemoryQueue::new();
        let response = handle_invocation(&service(&queue), Invocation::from_slice(payload)).await.unwrap();
        assert_eq!(response.headers["content-type"], "application/json");
        assert!(!response.is_base64_encoded);
        let body = match response.body {
            Some(Body::Text(text)) => text,
            other => panic!("{other:?}"),
        };
        (response.status_code, body, queue)
    }

    async fn assert_bad_request(what: &str, payload: &[u8]) {
        let (status, body, queue) = answer(payload).await;
        assert_eq!((status, body.as_str()), (400, r#"{"error":"bad_request"}"#), "{what}");
        assert!(queue.messages().is_empty(), "{what}");
    }

    #[tokio::test]
    async fn events_that_are_not_http_requests_get_a_400_instead_of_an_invocation_error() {
        let json = json!("application/json");
        let cases = [
            ("CR/LF in a value", event(json!({"content-type": json, "x-a": "1\r\nx-injected: 2"}), "{}", false)),
            ("LF in a value", event(json!({"content-type": json, "x-a": "1\nx-injected: 2"}), "{}", false)),
            ("NUL in a value", event(json!({"content-type": json, "x-a": "1\u{0}"}), "{}", false)),
            ("space in a name", event(json!({"content-type": json, "x bad": "1"}), "{}", false)),
            ("parenthesis in a name", event(json!({"content-type": json, "x-evil(1)": "1"}), "{}", false)),
            ("not base64", event(json!({"content-type": json}), "not base64 at all!", true)),
        ];
        for (what, event) in cases {
            assert_bad_request(what, event.to_string().as_bytes()).await;
        }
        for (what, payload) in
            [("empty", &b""[..]), ("not JSON", b"\xff{"), ("an array", b"[]"), ("a string", b"\"x\"")]
        {
            assert_bad_request(what, payload).await;
        }
    }

    #[tokio::test]
    async fn a_truncated_event_gets_a_400_wherever_it_stops() {
        let payload = event(headers(), "{\"id\":\"evt_1\"}", false).to_string();
        for end in 0..payload.len() {
            // Cut only at character boundaries: the runtime API hands over the bytes it got.
            if payload.is_char_boundary(end) {
                assert_bad_request(&format!("cut at {end}"), &payload.as_bytes()[..end]).await;
            }
        }
    }

    /// Every field of the event, at every depth, replaced by a value of each other JSON type:
    /// an answer every time (a deliberate status, never a panic), and nothing enqueued.
    #[tokio::test]
    async fn a_field_of_the_wrong_type_gets_an_answer_never_a_failed_invocation() {
        fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            if let Value::Object(members) = value {
                for (name, member) in members {
                    prefix.push(name.clone());
                    out.push(prefix.clone());
                    paths(member, prefix, out);
                    prefix.pop();
                }
            }
        }
        let base = event(headers(), "{\"id\":\"evt_1\"}", false);
        let mut all = Vec::new();
        paths(&base, &mut Vec::new(), &mut all);
        assert!(all.len() > 30, "{}", all.len());
        let replacements =
            [json!(null), json!(7), json!(-1.5), json!(true), json!("text"), json!([1]), json!({"k": 1})];
        let mut refused = 0;
        for path in &all {
            for replacement in &replacements {
                let mut edited = base.clone();
                let mut at = &mut edited;
                for name in path {
                    at = &mut at[name.as_str()];
                }
                *at = replacement.clone();
                let (status, body, queue) = answer(edited.to_string().as_bytes()).await;
                assert!([400, 401, 404, 405, 413].contains(&status), "{path:?} = {replacement}: {status} {body}");
                assert!(queue.messages().is_empty(), "{path:?} = {replacement}");
                refused += usize::from(status == 400);
            }
        }
        assert!(refused > all.len(), "wrong types are refused as unreadable: {refused}");
    }

    #[tokio::test]
    async fn a_huge_header_map_is_read_and_answered() {
        let mut many = serde_json::Map::new();
        for i in 0..20_000 {
            many.insert(format!("x-h{i:05}"), json!("v".repeat(20)));
        }
        let (status, body, _) = answer(event(Value::Object(many), "{}", false).to_string().as_bytes()).await;
        assert_eq!((status, body.as_str()), (401, r#"{"error":"unauthorized"}"#));
    }

    #[tokio::test]
    async fn readable_events_reach_the_service() {
        let (status, body, _) = answer(event(headers(), "{}", false).to_string().as_bytes()).await;
        assert_eq!((status, body.as_str()), (401, r#"{"error":"unauthorized"}"#));
        // "{}" in base64: decoded, then refused for its signature like the text.
        let (status, _, _) = answer(event(headers(), "e30=", true).to_string().as_bytes()).await;
        assert_eq!(status, 401);
        // A Host that is no URI authority is not read: it does not stop the request.
        let (status, _, _) = answer(event(json!({"host": "a b"}), "{}", false).to_string().as_bytes()).await;
        assert_eq!(status, 401);
        let mut get = event(json!({}), "", false);
        get["requestContext"]["http"]["method"] = json!("GET");
        let queue = MemoryQueue::new();
        let invocation = Invocation::from_slice(get.to_string().as_bytes());
        let response = handle_invocation(&service(&queue), invocation).await.unwrap();
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["allow"], "POST");
    }

    #[test]
    fn debug_shows_no_headers_or_body() {
        let payload = event(json!({"stripe-signature": "t=1,v1=secret-ish"}), "{\"card\":\"4242\"}", false);
        let shown = format!("{:?}", Invocation::from_slice(payload.to_string().as_bytes()));
        assert!(shown.contains("/webhooks/stripe"), "{shown}");
        assert!(!shown.contains("secret-ish") && !shown.contains("4242"), "{shown}");
        assert_eq!(format!("{:?}", Invocation::from_slice(b"[")), "Invocation(unreadable)");
    }

    #[test]
    fn the_source_comes_from_the_path_parameter_or_the_path() {
        let mut event: ApiGatewayV2httpRequest =
            serde_json::from_value(event(json!({}), "", false)).expect("a valid event");
        assert_eq!(inbound_request(&event).source, Some("stripe"));
        event.path_parameters.clear();
        event.raw_path = Some("/prod/webhooks/github".into());
        assert_eq!(inbound_request(&event).source, Some("github"));
        event.raw_path = None;
        assert_eq!(inbound_request(&event).source, Some("stripe"), "requestContext.http.path");
    }

    #[test]
    fn response_bodies_are_the_json_documents_they_were() {
        let tricky = "evt_\"quoted\"\\\u{7f}é";
        let cases = [
            (
                Outcome::Accepted { event_id: tricky.into(), message_id: "m".into(), body_stored: false },
                json!({"event_id": tricky, "status": "accepted"}),
            ),
            (Outcome::Handshake(Handshake::SlackChallenge { challenge: tricky.into() }), json!({"challenge": tricky})),
            (
                Outcome::Handshake(Handshake::ZoomUrlValidation {
                    plain_token: tricky.into(),
                    encrypted_token: "ab12".into(),
                }),
                json!({"plainToken": tricky, "encryptedToken": "ab12"}),
            ),
            (Outcome::Rejected(hookline_domain::Rejection::MalformedJson), json!({"error": "malformed_json"})),
            (Outcome::RouteNotFound, json!({"error": "not_found"})),
            (Outcome::Unavailable { event_id: None, cause: "enqueue_failed" }, json!({"error": "unavailable"})),
        ];
        for (outcome, expected) in cases {
            let response = response(&outcome);
            assert_eq!(response.body, Some(Body::Text(expected.to_string())));
        }
        let unavailable = response(&Outcome::Unavailable { event_id: None, cause: "enqueue_failed" });
        assert_eq!((unavailable.status_code, &unavailable.headers["retry-after"]), (503, &HeaderValue::from(10u32)));
        // Twitch reads its challenge back as the raw body, not JSON.
        let twitch = response(&Outcome::Handshake(Handshake::TwitchChallenge { challenge: tricky.into() }));
        assert_eq!((twitch.status_code, twitch.body), (200, Some(Body::Text(tricky.into()))));
        assert_eq!(twitch.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let ping = response(&Outcome::Handshake(Handshake::DiscordPing));
        assert_eq!((ping.status_code, ping.body), (204, None));
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
