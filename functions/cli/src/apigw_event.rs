//! API Gateway HTTP API (payload format 2.0) request events, as Lambda receives them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// One request to turn into an event.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Lower-case names; API Gateway joins repeated headers with commas.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Send the body base64-encoded, as API Gateway does for binary media.
    pub base64: bool,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub time_epoch_millis: i64,
}

/// The event API Gateway would deliver for `request` on route `ANY /webhooks/{source}`.
pub fn http_api_event(request: &HttpRequest<'_>) -> Value {
    let mut headers = Map::new();
    for (name, value) in request.headers {
        let name = name.to_ascii_lowercase();
        let joined = match headers.get(&name).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.clone(),
        };
        headers.insert(name, Value::String(joined));
    }
    let source = request.path.strip_prefix("/webhooks/").filter(|s| !s.contains('/'));
    let (body, is_base64) = match (request.base64, std::str::from_utf8(request.body)) {
        (false, Ok(text)) => (text.to_owned(), false),
        _ => (STANDARD.encode(request.body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "hookline",
            "domainName": "hookline.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "hookline",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": headers.get("user-agent").and_then(Value::as_str).unwrap_or("hookline-samples"),
            },
            "requestId": format!("sample-{}", request.time_epoch_millis),
            "routeKey": "POST /webhooks/{source}",
            "stage": "$default",
            "timeEpoch": request.time_epoch_millis,
        },
        "isBase64Encoded": is_base64,
    });
    if let Some(source) = source {
        event["pathParameters"] = json!({ "source": source });
    }
    if !request.body.is_empty() {
        event["body"] = Value::String(body);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_payload_v2_event() {
        let headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("x-a".into(), "1".into()),
            ("x-a".into(), "2".into()),
        ];
        let event = http_api_event(&HttpRequest {
            method: "POST",
            path: "/webhooks/stripe",
            headers: &headers,
            body: b"{}",
            base64: false,
            query: "",
            time_epoch_millis: 5,
        });
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["pathParameters"]["source"], "stripe");
        assert_eq!(event["headers"]["content-type"], "application/json");
        assert_eq!(event["headers"]["x-a"], "1,2");
        assert_eq!(event["body"], "{}");
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn binary_bodies_are_base64_encoded() {
        let event = http_api_event(&HttpRequest {
            method: "POST",
            path: "/webhooks/x",
            headers: &[],
            body: &[0xff, 0x00],
            base64: false,
            query: "",
            time_epoch_millis: 5,
        });
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "/wA=");
    }
}
