//! Properties of the intake decision and of event id derivation: nothing is enqueued
//! without a valid signature, nothing panics, and what is enqueued is the request, exactly.

use hookline_domain::event_id::{EventId, EventIdOrigin, MAX_SENDER_ID_BYTES};
use hookline_domain::signature::{SignatureError, SigningKey, sign};
use hookline_domain::source::SourceName;
use hookline_domain::{Decision, Envelope, Handshake, IntakeBody, IntakeRequest, Rejection, SourcesConfig, decide};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const LOCAL: &str = include_str!("../../../infra/local/sources.json");
const SOURCES: &[&str] = &["stripe", "github", "shopify", "slack", "acme", "partner"];
/// Latest millisecond whose RFC 3339 year has four digits.
const LAST_FOUR_DIGIT_YEAR_MS: i64 = 253_402_300_799_999;

fn config() -> SourcesConfig {
    SourcesConfig::from_json(LOCAL.as_bytes()).unwrap()
}

/// Header names intake or a scheme reads, and some it ignores.
const HEADER_NAMES: &[&str] = &[
    "content-type",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "stripe-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-github-event",
    "x-shopify-hmac-sha256",
    "x-shopify-webhook-id",
    "x-shopify-topic",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-slack-retry-num",
    "x-partner-signature",
    "authorization",
    "x-forwarded-for",
];

/// Header value bytes: anything a header value may hold, with the UTF-8 encodings of
/// characters SQS refuses (U+FFFE, U+FFFF) and invalid UTF-8 made frequent.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        vec(any::<u8>(), 0..60),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        ("[ -~]{0,10}", prop::sample::select(vec![&b"\xef\xbf\xbe"[..], b"\xef\xbf\xbf", b"\xff", b"\xc3\xa9"]))
            .prop_map(|(text, tail)| [text.as_bytes(), tail].concat()),
    ]
    .prop_filter_map("not a header value", |bytes| HeaderValue::from_bytes(&bytes).ok())
}

fn any_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::POST),
        1 => prop::sample::select(vec![Method::GET, Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS, Method::PATCH]),
        1 => "[A-Za-z]{1,10}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn any_source() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(SOURCES).prop_map(str::to_owned), 1 => "\\PC{0,12}"]
}

/// Any JSON value.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("(id|type|challenge|[a-z]{1,6})", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON bodies, including Slack handshakes and Stripe-shaped objects with an id.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any_json(),
        "\\PC{0,20}".prop_map(|c| json!({ "type": "url_verification", "challenge": c })),
        ("[ -~]{0,30}", any_json()).prop_map(|(id, data)| json!({ "id": id, "object": "event", "data": data })),
    ]
    .prop_map(|value| serde_json::to_vec(&value).unwrap())
}

fn run<'a>(
    config: &SourcesConfig,
    method: &'a Method,
    source: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    now_unix_millis: i64,
) -> Result<Decision<'a>, Rejection> {
    decide(config, &IntakeRequest { method, source, headers, body: body.into(), query: "", now_unix_millis })
}

/// The headers a sender of `source` attaches to `body` at `now_ms`, with its first key.
fn signed_headers(config: &SourcesConfig, source: &str, body: &[u8], now_ms: i64, message_id: &str) -> HeaderMap {
    let source = config.get(source).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in sign(&source.scheme, &source.keys[0], body, now_ms.div_euclid(1000), message_id) {
        headers.append(name, value);
    }
    headers
}

/// Characters SQS accepts in a message body.
fn sqs_accepts(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Everything an enqueued envelope must satisfy for the request it came from.
fn check_envelope(
    envelope: &Envelope<IntakeBody<'_>>,
    source: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<(), TestCaseError> {
    let config = config();
    let configured = config.get(source).unwrap();
    prop_assert_eq!(envelope.body.as_ref(), body);
    prop_assert_eq!(envelope.source.as_str(), source);
    prop_assert_eq!(envelope.scheme.as_str(), configured.scheme.name());
    let rest = envelope.event_id.strip_prefix(&format!("{source}:"));
    prop_assert!(rest.is_some_and(|id| !id.is_empty()), "{}", envelope.event_id);
    prop_assert!(envelope.event_id.bytes().all(|b| b.is_ascii_graphic()), "{:?}", envelope.event_id);
    for name in envelope.headers.keys() {
        prop_assert!(!name.contains("signature") && !name.contains("hmac") && name != "authorization", "{}", name);
    }
    let received = time::OffsetDateTime::parse(&envelope.received_at, &time::format_description::well_known::Rfc3339);
    prop_assert_eq!(received.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64), Ok(now_ms));
    let message = envelope.to_queue_message();
    let refused: Vec<char> = message.body.chars().filter(|c| !sqs_accepts(*c)).collect();
    prop_assert!(refused.is_empty(), "SQS would refuse {:?}", refused);
    prop_assert_eq!(Envelope::from_json(&message.body), Ok(envelope.clone().into_owned()));
    Ok(())
}

proptest! {
    /// Any method, path segment, header map, body and clock: `decide` returns; with no
    /// signature made by a configured key nothing is accepted, and the cheap checks come
    /// first in their documented order.
    #[test]
    fn unsigned_requests_never_panic_and_are_never_accepted(
        method in any_method(),
        source in any_source(),
        headers in vec((prop::sample::select(HEADER_NAMES), header_value()), 0..10),
        body in prop_oneof![vec(any::<u8>(), 0..300), json_body()],
        now_ms in any::<i64>(),
    ) {
        let config = config();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(name, value);
        }
        let result = run(&config, &method, &source, &map, &body, now_ms);
        prop_assert!(result.is_err(), "{:?}", result);
        let rejection = result.unwrap_err();
        if method != Method::POST {
            prop_assert!(matches!(rejection, Rejection::MethodNotAllowed { .. }), "{:?}", rejection);
        } else if config.get(&source).is_none() {
            prop_assert_eq!(rejection, Rejection::UnknownSource);
        } else {
            prop_assert!(matches!(rejection, Rejection::Unauthorized(_)), "{:?}", rejection);
        }
    }

    /// A request signed by a key the source does not hold, or whose body changed by one bit
    /// after signing, is refused as unauthorized, whatever else it carries.
    #[test]
    fn tampered_or_foreign_signatures_are_unauthorized(
        source in prop::sample::select(SOURCES),
        body in prop_oneof![vec(any::<u8>(), 1..300), json_body()],
        foreign_key in vec(any::<u8>(), 1..40),
        tamper_body in any::<bool>(),
        bit in any::<prop::sample::Index>(),
        extra in vec((prop::sample::select(&["user-agent", "x-github-event", "x-shopify-topic", "authorization"][..]), header_value()), 0..4),
        now_ms in 0..LAST_FOUR_DIGIT_YEAR_MS,
    ) {
        let config = config();
        let configured = config.get(source).unwrap();
        prop_assume!(!configured.keys.iter().any(|k| k.as_bytes() == foreign_key.as_slice()));
        let (headers, sent_body) = if tamper_body {
            let mut tampered = body.clone();
            let bit = bit.index(body.len() * 8);
            tampered[bit / 8] ^= 1 << (bit % 8);
            (signed_headers(&config, source, &body, now_ms, "msg_1"), tampered)
        } else {
            let key = SigningKey::from_bytes(foreign_key);
            let mut map = HeaderMap::new();
            for (name, value) in sign(&configured.scheme, &key, &body, now_ms / 1000, "msg_1") {
                map.append(name, value);
            }
            (map, body)
        };
        let mut headers = headers;
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in extra {
            headers.append(name, value);
        }
        prop_assert_eq!(
            run(&config, &Method::POST, source, &headers, &sent_body, now_ms),
            Err(Rejection::Unauthorized(SignatureError::NoMatchingSignature))
        );
    }

    /// A correctly signed JSON request, with any other headers (any bytes in their values),
    /// is accepted; what is enqueued is exactly that body, under the source's name and
    /// scheme, with a visible-ASCII event id in the source's namespace, the receipt time,
    /// no signature headers, and a queue message SQS accepts and that reads back the same.
    #[test]
    fn signed_json_requests_are_enqueued_exactly(
        source in prop::sample::select(SOURCES),
        body in json_body(),
        extra in vec((prop::sample::select(&["user-agent", "x-github-delivery", "x-github-event", "x-shopify-webhook-id", "x-shopify-topic", "x-slack-retry-num", "authorization", "x-forwarded-for"][..]), header_value()), 0..6),
        message_id in "[!-~]{1,40}",
        now_ms in 0..LAST_FOUR_DIGIT_YEAR_MS,
    ) {
        let config = config();
        let mut headers = signed_headers(&config, source, &body, now_ms, &message_id);
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        for (name, value) in extra {
            headers.append(name, value);
        }
        match run(&config, &Method::POST, source, &headers, &body, now_ms) {
            Ok(Decision::Enqueue { envelope, .. }) => check_envelope(&envelope, source, &body, now_ms)?,
            Ok(Decision::Handshake(Handshake::SlackChallenge { challenge })) => {
                prop_assert_eq!(source, "slack");
                let parsed: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(Some(challenge.as_str()), parsed["challenge"].as_str());
                prop_assert_eq!(parsed["type"].as_str(), Some("url_verification"));
            }
            Ok(Decision::Handshake(other)) => prop_assert!(false, "not a handshake of {}: {:?}", source, other),
            Err(rejection) => prop_assert!(false, "refused: {:?}", rejection),
        }
    }

    /// With a JSON content type, a signed body of any bytes is accepted exactly when it is
    /// JSON; form-encoded sources take any bytes as they are.
    #[test]
    fn signed_bodies_of_any_bytes_are_accepted_exactly_when_valid_for_their_type(
        source in prop::sample::select(SOURCES),
        body in prop_oneof![vec(any::<u8>(), 0..200), "[\\[\\]{}\":, 0-9a-z]{0,40}".prop_map(String::into_bytes)],
        form in any::<bool>(),
        now_ms in 0..LAST_FOUR_DIGIT_YEAR_MS,
    ) {
        let config = config();
        let form = form && matches!(source, "github" | "slack");
        let mut headers = signed_headers(&config, source, &body, now_ms, "msg_1");
        let content_type = if form { "application/x-www-form-urlencoded" } else { "application/json" };
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
        match run(&config, &Method::POST, source, &headers, &body, now_ms) {
            Ok(Decision::Enqueue { envelope, .. }) => {
                prop_assert!(form || is_json);
                check_envelope(&envelope, source, &body, now_ms)?;
            }
            Ok(Decision::Handshake(_)) => prop_assert!(source == "slack" && is_json),
            Err(rejection) => {
                prop_assert!(!form && !is_json, "{:?}", rejection);
                prop_assert_eq!(rejection, Rejection::MalformedJson);
            }
        }
    }

    /// Event ids: a usable sender id (1-256 visible ASCII after trimming) is kept as it is
    /// under the source's namespace; anything else falls back to the SHA-256 of the body.
    /// The result is deterministic, visible ASCII and bounded.
    #[test]
    fn event_ids_are_namespaced_deterministic_and_bounded(
        source in "[a-z0-9][a-z0-9_-]{0,63}",
        sender_id in prop::option::of(prop_oneof!["\\PC{0,20}", "[ -~]{0,300}", "[!-~]{250,260}", " *[!-~]{1,10} *"]),
        body in vec(any::<u8>(), 0..200),
    ) {
        let name = SourceName::parse(&source).unwrap();
        let (id, origin) = EventId::derive(&name, sender_id.as_deref(), &body);
        prop_assert_eq!(EventId::derive(&name, sender_id.as_deref(), &body), (id.clone(), origin));
        let trimmed = sender_id.as_deref().map(str::trim);
        let usable = trimmed
            .filter(|t| !t.is_empty() && t.len() <= MAX_SENDER_ID_BYTES && t.bytes().all(|b| b.is_ascii_graphic()));
        match usable {
            Some(t) => {
                prop_assert_eq!(origin, EventIdOrigin::Sender);
                prop_assert_eq!(id.as_str(), format!("{source}:{t}"));
            }
            None => {
                prop_assert_eq!(origin, EventIdOrigin::BodyHash);
                prop_assert_eq!(id.as_str(), format!("{source}:sha256:{}", hex::encode(Sha256::digest(&body))));
            }
        }
        prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_graphic()));
        prop_assert!(id.as_str().len() <= 64 + 1 + MAX_SENDER_ID_BYTES);
    }
}

/// The shrunk case behind the envelope fix: a signed request whose `User-Agent` holds the
/// UTF-8 bytes of U+FFFE. Intake forwarded it into the envelope as it was, so the queue
/// message held a character SQS refuses and the event could never be stored.
#[test]
fn a_forwarded_header_holding_a_noncharacter_still_yields_an_sqs_message() {
    let config = config();
    let body = br#"{"zen":"hi"}"#;
    let now_ms = 1_795_867_200_250;
    let mut headers = signed_headers(&config, "github", body, now_ms, "msg_1");
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(HeaderName::from_static("user-agent"), HeaderValue::from_bytes(b"agent\xef\xbf\xbe").unwrap());
    let Ok(Decision::Enqueue { envelope, .. }) = run(&config, &Method::POST, "github", &headers, body, now_ms) else {
        panic!("not enqueued");
    };
    assert_eq!(envelope.headers["user-agent"], "agent\u{FFFE}");
    let message = envelope.to_queue_message();
    assert!(!message.body.contains('\u{FFFE}'), "{}", message.body);
    assert_eq!(Envelope::from_json(&message.body).unwrap(), envelope.into_owned());
}
