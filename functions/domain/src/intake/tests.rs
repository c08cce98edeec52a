use http::{HeaderValue, Method};

use super::*;
use crate::envelope::{EventType, Origin};
use crate::signature::{SigningKey, sign};

const LOCAL: &str = include_str!("../../../../infra/local/sources.json");
/// 2026-11-28T12:00:00.250Z
const NOW_MS: i64 = 1_795_867_200_250;

fn config() -> SourcesConfig {
    SourcesConfig::from_json(LOCAL.as_bytes()).unwrap()
}

/// Headers a sender of `source` would send for `body`, signed with the source's first key.
fn signed(source: &str, body: &[u8], content_type: &str) -> HeaderMap {
    let config = config();
    let source = config.get(source).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in sign(&source.scheme, &source.keys[0], body, NOW_MS / 1000, "msg_1") {
        headers.append(name, value);
    }
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    headers
}

fn run<'a>(
    method: &'a Method,
    source: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> Result<Decision<'a>, Rejection> {
    decide(&config(), &IntakeRequest { method, source, headers, body: body.into(), query: "", now_unix_millis: NOW_MS })
}

fn enqueued(decision: Result<Decision<'_>, Rejection>) -> (Envelope<IntakeBody<'_>>, EventIdOrigin) {
    match decision {
        Ok(Decision::Enqueue { envelope, event_id_origin }) => (envelope, event_id_origin),
        other => panic!("expected an envelope, got {other:?}"),
    }
}

#[test]
fn a_signed_stripe_event_is_enqueued_under_its_payload_id() {
    let body = br#"{"id":"evt_123","type":"charge.succeeded"}"#;
    let headers = signed("stripe", body, "application/json; charset=utf-8");
    let (envelope, origin) = enqueued(run(&Method::POST, "stripe", &headers, body));
    assert_eq!(envelope.event_id, "stripe:evt_123");
    assert_eq!(origin, EventIdOrigin::Sender);
    assert_eq!(envelope.source, "stripe");
    assert_eq!(envelope.scheme, "stripe");
    assert_eq!(envelope.body.as_ref(), body);
    assert_eq!(envelope.received_at, "2026-11-28T12:00:00.250Z");
    assert_eq!(envelope.content_type.as_deref(), Some("application/json; charset=utf-8"));
    assert!(!envelope.headers.contains_key("stripe-signature"), "{:?}", envelope.headers);
}

#[test]
fn github_uses_the_delivery_header_and_forwards_event_headers() {
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let mut headers = signed("github", body, "application/json");
    headers.insert("x-github-delivery", HeaderValue::from_static("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    headers.insert("x-github-event", HeaderValue::from_static("ping"));
    headers.insert("authorization", HeaderValue::from_static("Bearer not-forwarded"));
    let (envelope, origin) = enqueued(run(&Method::POST, "github", &headers, body));
    // The delivery id is not signed: deduplicated by the body's hash, the id forwarded.
    assert_eq!(envelope.event_id, format!("github:sha256:{}", crate::idempotency::fingerprint(body)));
    assert_eq!(origin, EventIdOrigin::BodyHash);
    assert_eq!(envelope.headers["x-github-delivery"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(envelope.headers.get("x-github-event").map(String::as_str), Some("ping"));
    assert_eq!(envelope.event_type, EventType::new("ping", Origin::Unsigned));
    assert!(envelope.signed_headers.is_empty());
    assert!(!envelope.headers.contains_key("authorization"));
    assert!(!envelope.headers.contains_key("x-hub-signature-256"));
}

#[test]
fn each_scheme_takes_its_event_id_from_the_documented_place() {
    let body = br#"{"a":1}"#;
    let acme = signed("acme", body, "application/json");
    let (envelope, _) = enqueued(run(&Method::POST, "acme", &acme, body));
    assert_eq!(envelope.event_id, "acme:msg_1");
    assert_eq!(envelope.signed_headers["webhook-id"], "msg_1");
    assert!(envelope.signed_headers.contains_key("webhook-timestamp"));
    assert!(!envelope.headers.contains_key("webhook-id"), "{:?}", envelope.headers);

    let slack = signed("slack", body, "application/json");
    let (envelope, origin) = enqueued(run(&Method::POST, "slack", &slack, body));
    assert!(envelope.event_id.starts_with("slack:sha256:"), "{}", envelope.event_id);
    assert_eq!(origin, EventIdOrigin::BodyHash);
}

/// `signed`'s Standard Webhooks headers renamed as Svix names them.
fn svix_branded(headers: &HeaderMap) -> HeaderMap {
    let mut renamed = HeaderMap::new();
    for (name, value) in headers {
        let name = match name.as_str().strip_prefix("webhook-") {
            Some(rest) => HeaderName::from_bytes(format!("svix-{rest}").as_bytes()).unwrap(),
            None => name.clone(),
        };
        renamed.append(name, value.clone());
    }
    renamed
}

#[test]
fn svix_branded_headers_give_the_event_id_and_are_forwarded() {
    let body = br#"{"type":"user.created"}"#;
    let headers = svix_branded(&signed("acme", body, "application/json"));
    assert!(headers.contains_key("svix-signature") && !headers.contains_key("webhook-signature"));
    let (envelope, origin) = enqueued(run(&Method::POST, "acme", &headers, body));
    assert_eq!(envelope.event_id, "acme:msg_1");
    assert_eq!(origin, EventIdOrigin::Sender);
    assert_eq!(envelope.signed_headers.get("svix-id").map(String::as_str), Some("msg_1"));
    assert!(envelope.signed_headers.contains_key("svix-timestamp"));
    assert!(
        !envelope.headers.contains_key("svix-signature") && !envelope.signed_headers.contains_key("svix-signature")
    );
    assert_eq!(envelope.event_type, EventType::new("user.created", Origin::Signed));
}

#[test]
fn both_header_sets_are_refused_as_a_bad_signature() {
    let body = br#"{"type":"user.created"}"#;
    let mut headers = signed("acme", body, "application/json");
    headers.insert("svix-id", HeaderValue::from_static("msg_2"));
    assert_eq!(
        run(&Method::POST, "acme", &headers, body).unwrap_err(),
        Rejection::Unauthorized(SignatureError::AmbiguousHeaders)
    );
}

#[test]
fn the_new_schemes_take_their_event_id_from_the_documented_place() {
    let paddle_body = br#"{"event_id":"evt_01hs","event_type":"customer.created","notification_id":"ntf_1"}"#;
    let headers = signed("paddle", paddle_body, "application/json");
    let (envelope, _) = enqueued(run(&Method::POST, "paddle", &headers, paddle_body));
    assert_eq!(envelope.event_id, "paddle:evt_01hs");
    assert_eq!(envelope.event_type, EventType::new("customer.created", Origin::Signed));

    let square_body = br#"{"type":"payment.updated","event_id":"6a8f5f28-54a1"}"#;
    let headers = signed("square", square_body, "application/json");
    let (envelope, _) = enqueued(run(&Method::POST, "square", &headers, square_body));
    assert_eq!(envelope.event_id, "square:6a8f5f28-54a1");
    assert_eq!(envelope.event_type, EventType::new("payment.updated", Origin::Signed));

    // Twitch's message id is signed; `signed` signs "msg_1" as it.
    let body = br#"{"subscription":{"type":"channel.follow","version":"2"},"event":{}}"#;
    let mut headers = signed("twitch", body, "application/json");
    headers.insert("twitch-eventsub-subscription-type", HeaderValue::from_static("channel.ban"));
    let (envelope, _) = enqueued(run(&Method::POST, "twitch", &headers, body));
    assert_eq!(envelope.event_id, "twitch:msg_1");
    assert!(envelope.signed_headers.contains_key("twitch-eventsub-message-timestamp"));
    assert_eq!(envelope.headers["twitch-eventsub-subscription-type"], "channel.ban");
    assert_eq!(envelope.event_type, EventType::new("channel.follow", Origin::Signed), "the body's, signed");

    let body = br#"{"object_kind":"push"}"#;
    let mut headers = signed("gitlab", body, "application/json");
    headers.insert("x-gitlab-event-uuid", HeaderValue::from_static("13792a34-cac6"));
    headers.insert("x-gitlab-event", HeaderValue::from_static("Push Hook"));
    let (envelope, _) = enqueued(run(&Method::POST, "gitlab", &headers, body));
    assert!(envelope.event_id.starts_with("gitlab:sha256:"), "{}", envelope.event_id);
    assert_eq!(envelope.headers["x-gitlab-event-uuid"], "13792a34-cac6");
    assert_eq!(envelope.event_type, EventType::new("push", Origin::Unsigned), "the body's object_kind, unsigned");
    assert_eq!(envelope.headers["x-gitlab-event"], "Push Hook");
    assert!(!envelope.headers.contains_key("x-gitlab-token"), "the token is a secret: never forwarded");

    let body = format!(r#"{{"action":"create","type":"Issue","webhookTimestamp":{NOW_MS}}}"#);
    let mut headers = signed("linear", body.as_bytes(), "application/json");
    headers.insert("linear-delivery", HeaderValue::from_static("234d1a4e-b617"));
    let (envelope, _) = enqueued(run(&Method::POST, "linear", &headers, body.as_bytes()));
    // Each attempt signs its own time in the body: the delivery id, with the tolerance as the
    // replay window.
    assert_eq!(envelope.event_id, "linear:234d1a4e-b617");
    assert_eq!(envelope.event_type, EventType::new("Issue", Origin::Signed));

    let body = br#"{"event":"meeting.started"}"#;
    let headers = signed("zoom", body, "application/json");
    let (envelope, origin) = enqueued(run(&Method::POST, "zoom", &headers, body));
    assert!(envelope.event_id.starts_with("zoom:sha256:"), "{}", envelope.event_id);
    assert_eq!(origin, EventIdOrigin::BodyHash);
    assert_eq!(envelope.event_type, EventType::new("meeting.started", Origin::Signed));
    assert!(envelope.signed_headers.contains_key("x-zm-request-timestamp"));

    let body = br#"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}"#;
    // The local discord source's public key is this seed's (tests/src/chaos/plan.rs).
    let key = SigningKey::ed25519_from_seed(b"hookline-local-discord-seed-0001");
    let mut headers: HeaderMap =
        sign(&config().get("discord").unwrap().scheme, &key, body, NOW_MS / 1000, "").into_iter().collect();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (envelope, _) = enqueued(run(&Method::POST, "discord", &headers, body));
    assert_eq!(envelope.event_type, EventType::new("APPLICATION_AUTHORIZED", Origin::Signed));
    assert!(envelope.signed_headers.contains_key("x-signature-timestamp"));

    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let headers = signed("meta", body, "application/json");
    let (envelope, _) = enqueued(run(&Method::POST, "meta", &headers, body));
    assert_eq!(envelope.event_type, EventType::new("whatsapp_business_account", Origin::Signed));

    let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    let headers = signed("stripe", body, "application/json");
    let (envelope, _) = enqueued(run(&Method::POST, "stripe", &headers, body));
    assert_eq!(envelope.event_type, EventType::new("invoice.paid", Origin::Signed));
}

/// A source configuration of its own, for options the local document does not set.
fn run_with<'a>(
    config: &str,
    source: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> Result<Decision<'a>, Rejection> {
    let config = SourcesConfig::from_json(config.as_bytes()).unwrap();
    let request =
        IntakeRequest { method: &Method::POST, source, headers, body: body.into(), query: "", now_unix_millis: NOW_MS };
    decide(&config, &request)
}

#[test]
fn a_delivery_replayed_with_a_fresh_unsigned_id_header_is_the_same_event() {
    for (source, id_header) in
        [("github", "x-github-delivery"), ("shopify", "x-shopify-webhook-id"), ("gitlab", "x-gitlab-event-uuid")]
    {
        let body = format!(r#"{{"type":"Issue","webhookTimestamp":{NOW_MS}}}"#);
        let mut headers = signed(source, body.as_bytes(), "application/json");
        headers.insert(id_header, HeaderValue::from_static("delivery-1"));
        let first = enqueued(run(&Method::POST, source, &headers, body.as_bytes())).0.event_id;
        headers.insert(id_header, HeaderValue::from_static("delivery-2"));
        let (replayed, origin) = enqueued(run(&Method::POST, source, &headers, body.as_bytes()));
        assert_eq!((replayed.event_id, origin), (first, EventIdOrigin::BodyHash), "{source}");
        assert_eq!(replayed.headers[id_header], "delivery-2", "{source}: still forwarded, as unsigned");
    }
    // The generic scheme's `id_header` likewise, and the header's id when told to trust it.
    let partner = r#"{"sources":{"p":{"scheme":"hmac_sha256","secrets":["local-partner-current"],
        "header":"X-Partner-Signature","prefix":"sha256=","id_header":"X-Partner-Event-Id"},
        "trusting":{"scheme":"github","secrets":["local-github-current"],"dedupe_by_body":false}}}"#;
    let body = br#"{"n":1}"#;
    let mut headers = signed("partner", body, "application/json");
    headers.insert("x-partner-event-id", HeaderValue::from_static("evt-9"));
    let (envelope, origin) = enqueued(run_with(partner, "p", &headers, body));
    assert!(envelope.event_id.starts_with("p:sha256:"), "{}", envelope.event_id);
    assert_eq!((origin, envelope.headers["x-partner-event-id"].as_str()), (EventIdOrigin::BodyHash, "evt-9"));
    let mut headers = signed("github", body, "application/json");
    headers.insert("x-github-delivery", HeaderValue::from_static("72d3162e"));
    let (envelope, origin) = enqueued(run_with(partner, "trusting", &headers, body));
    assert_eq!((envelope.event_id.as_str(), origin), ("trusting:72d3162e", EventIdOrigin::Sender));
}

#[test]
fn an_event_id_read_from_the_body_does_not_depend_on_the_content_type() {
    let config =
        r#"{"sources":{"stripe":{"scheme":"stripe","secrets":["whsec_local_stripe_current"],"content_types":["*"]}}}"#;
    let body = br#"{"id":"evt_123","type":"charge.succeeded"}"#;
    for content_type in ["application/json", "text/plain", "application/octet-stream"] {
        let headers = signed("stripe", body, content_type);
        let (envelope, origin) = enqueued(run_with(config, "stripe", &headers, body));
        assert_eq!((envelope.event_id.as_str(), origin), ("stripe:evt_123", EventIdOrigin::Sender), "{content_type}");
        assert_eq!(envelope.event_type, EventType::new("charge.succeeded", Origin::Signed), "{content_type}");
    }
    let mut headers = signed("stripe", body, "text/plain");
    headers.remove(http::header::CONTENT_TYPE);
    assert_eq!(enqueued(run_with(config, "stripe", &headers, body)).0.event_id, "stripe:evt_123");
    // A body that is not JSON under another type is still accepted, under its hash.
    let headers = signed("stripe", b"not json", "text/plain");
    assert_eq!(enqueued(run_with(config, "stripe", &headers, b"not json")).1, EventIdOrigin::BodyHash);
}

#[test]
fn a_stripe_body_without_an_object_id_falls_back_to_the_hash() {
    for body in [&br#"["evt_in_array"]"#[..], br#"{"id":42}"#, br#"{"object":"event"}"#] {
        let headers = signed("stripe", body, "application/json");
        let (envelope, origin) = enqueued(run(&Method::POST, "stripe", &headers, body));
        assert_eq!(origin, EventIdOrigin::BodyHash, "{}", envelope.event_id);
    }
}

#[test]
fn slack_url_verification_is_answered_not_enqueued() {
    let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let headers = signed("slack", body, "application/json");
    assert_eq!(
        run(&Method::POST, "slack", &headers, body),
        Ok(Decision::Handshake(Handshake::SlackChallenge {
            challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
        }))
    );
    // An unsigned handshake is refused like anything else.
    let mut unsigned = headers.clone();
    unsigned.remove("x-slack-signature");
    assert_eq!(run(&Method::POST, "slack", &unsigned, body).unwrap_err().status(), 401);
}

#[test]
fn zooms_url_validation_is_answered_with_the_encrypted_token_of_the_key_that_verified() {
    let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let config = config();
    let zoom = config.get("zoom").unwrap();
    for (index, key) in zoom.keys.iter().enumerate() {
        let mut headers = HeaderMap::new();
        for (name, value) in sign(&zoom.scheme, key, body, NOW_MS / 1000, "") {
            headers.append(name, value);
        }
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let expected = signature::zoom::encrypted_token(key, "qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(
            run(&Method::POST, "zoom", &headers, body),
            Ok(Decision::Handshake(Handshake::ZoomUrlValidation {
                plain_token: "qgg8vlvZRS6UYooatFL8Aw".into(),
                encrypted_token: expected
            })),
            "key #{index}"
        );
    }
    // Unsigned, it is refused like any request; without its token, it is malformed.
    let mut unsigned = HeaderMap::new();
    unsigned.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert!(matches!(run(&Method::POST, "zoom", &unsigned, body), Err(Rejection::Unauthorized(_))));
    let tokenless = br#"{"payload":{},"event":"endpoint.url_validation"}"#;
    let headers = signed("zoom", tokenless, "application/json");
    assert_eq!(run(&Method::POST, "zoom", &headers, tokenless), Err(Rejection::MalformedJson));
}

#[test]
fn twitchs_callback_verification_echoes_the_challenge_and_other_messages_are_events() {
    let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}"#;
    let mut headers = signed("twitch", body, "application/json");
    headers.insert("twitch-eventsub-message-type", HeaderValue::from_static("webhook_callback_verification"));
    assert_eq!(
        run(&Method::POST, "twitch", &headers, body),
        Ok(Decision::Handshake(Handshake::TwitchChallenge { challenge: "pogchamp-kappa-360noscope-vohiyo".into() }))
    );
    headers.insert("twitch-eventsub-message-type", HeaderValue::from_static("notification"));
    assert!(matches!(run(&Method::POST, "twitch", &headers, body), Ok(Decision::Enqueue { .. })));
    headers.insert("twitch-eventsub-message-type", HeaderValue::from_static("webhook_callback_verification"));
    let no_challenge = br#"{"subscription":{}}"#;
    let mut headers = signed("twitch", no_challenge, "application/json");
    headers.insert("twitch-eventsub-message-type", HeaderValue::from_static("webhook_callback_verification"));
    assert_eq!(run(&Method::POST, "twitch", &headers, no_challenge), Err(Rejection::MalformedJson));
}

fn meta_get(source: &str, query: &str) -> Result<Decision<'static>, Rejection> {
    let headers = HeaderMap::new();
    let request = IntakeRequest {
        method: &Method::GET,
        source,
        headers: &headers,
        body: "".into(),
        query,
        now_unix_millis: NOW_MS,
    };
    decide(&config(), &request).map(|decision| match decision {
        Decision::Handshake(handshake) => Decision::Handshake(handshake),
        other => panic!("a GET was not a handshake: {other:?}"),
    })
}

#[test]
fn metas_get_endpoint_check_echoes_the_challenge_for_the_configured_token_only() {
    let good = "hub.mode=subscribe&hub.verify_token=local-meta-verify-token&hub.challenge=1158201444";
    assert_eq!(
        meta_get("meta", good),
        Ok(Decision::Handshake(Handshake::MetaChallenge { challenge: "1158201444".into() }))
    );
    // Percent-encoding is decoded, the order does not matter.
    let encoded = "hub.challenge=a%20b&hub.verify_token=local%2Dmeta%2Dverify%2Dtoken&hub.mode=subscribe";
    assert_eq!(
        meta_get("meta", encoded),
        Ok(Decision::Handshake(Handshake::MetaChallenge { challenge: "a b".into() }))
    );
    for (query, rejection) in [
        ("hub.mode=subscribe&hub.verify_token=guessed&hub.challenge=1", Rejection::WrongVerifyToken),
        ("hub.mode=subscribe&hub.verify_token=local-meta-verify-toke&hub.challenge=1", Rejection::WrongVerifyToken),
        ("hub.mode=subscribe&hub.challenge=1", Rejection::WrongVerifyToken),
        (
            "hub.mode=unsubscribe&hub.verify_token=local-meta-verify-token&hub.challenge=1",
            Rejection::MalformedEndpointCheck,
        ),
        ("hub.mode=subscribe&hub.verify_token=local-meta-verify-token", Rejection::MalformedEndpointCheck),
        ("", Rejection::MalformedEndpointCheck),
        (&format!("{good}&hub.challenge=2"), Rejection::MalformedEndpointCheck),
        (&format!("{good}&hub.verify_token=guessed"), Rejection::MalformedEndpointCheck),
    ] {
        assert_eq!(meta_get("meta", query), Err(rejection.clone()), "{query}");
    }
    assert_eq!(Rejection::WrongVerifyToken.status(), 403);
    assert_eq!(Rejection::MalformedEndpointCheck.status(), 400);
    // GET stays refused for every scheme without a GET handshake, and for unknown sources.
    for source in ["github", "stripe", "nope"] {
        assert_eq!(meta_get(source, good), Err(Rejection::MethodNotAllowed { allow: "POST" }), "{source}");
    }
    let headers = HeaderMap::new();
    let put = IntakeRequest {
        method: &Method::PUT,
        source: "meta",
        headers: &headers,
        body: "".into(),
        query: "",
        now_unix_millis: NOW_MS,
    };
    assert_eq!(decide(&config(), &put), Err(Rejection::MethodNotAllowed { allow: "GET, POST" }));
}

#[test]
fn meta_notifications_are_signed_like_githubs_and_enqueued() {
    let body = br#"{"object":"instagram","entry":[]}"#;
    let headers = signed("meta", body, "application/json");
    assert!(headers.contains_key("x-hub-signature-256"));
    let (envelope, origin) = enqueued(run(&Method::POST, "meta", &headers, body));
    assert_eq!((envelope.scheme.as_str(), origin), ("meta", EventIdOrigin::BodyHash));
    let mut tampered = headers.clone();
    tampered.insert("x-hub-signature-256", HeaderValue::from_static("sha256=00"));
    assert!(matches!(run(&Method::POST, "meta", &tampered, body), Err(Rejection::Unauthorized(_))));
}

#[test]
fn slack_form_bodies_are_enqueued() {
    let body = b"command=%2Fdeploy&text=now";
    let headers = signed("slack", body, "application/x-www-form-urlencoded");
    let (envelope, _) = enqueued(run(&Method::POST, "slack", &headers, body));
    assert_eq!(envelope.body.as_ref(), body);
}

#[test]
fn rejections_carry_their_documented_status() {
    let body = br#"{"id":"evt_1"}"#;
    let good = signed("stripe", body, "application/json");
    let status = |r: Result<Decision, Rejection>| r.unwrap_err().status();

    assert_eq!(status(run(&Method::GET, "stripe", &good, body)), 405);
    assert_eq!(status(run(&Method::POST, "nope", &good, body)), 404);

    let big = vec![b' '; 65537];
    assert_eq!(status(run(&Method::POST, "partner", &signed("partner", &big, "application/json"), &big)), 413);

    let mut huge = good.clone();
    huge.insert("user-agent", HeaderValue::from_str(&"a".repeat(MAX_FORWARDED_HEADER_BYTES)).unwrap());
    assert_eq!(status(run(&Method::POST, "stripe", &huge, body)), 431);

    assert_eq!(status(run(&Method::POST, "stripe", &good, br#"{"id":"evt_2"}"#)), 401);

    let text = signed("stripe", body, "text/plain");
    assert_eq!(status(run(&Method::POST, "stripe", &text, body)), 415);
    let mut none = good.clone();
    none.remove(http::header::CONTENT_TYPE);
    assert_eq!(status(run(&Method::POST, "stripe", &none, body)), 415);
    let mut twice = good.clone();
    twice.append(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert_eq!(status(run(&Method::POST, "stripe", &twice, body)), 415);

    for bad_json in [&b"{\"id\":"[..], b"", b"\xff\xfe", b"{} {}", b"[1,2,}"] {
        let headers = signed("stripe", bad_json, "application/json");
        assert_eq!(status(run(&Method::POST, "stripe", &headers, bad_json)), 400, "{bad_json:?}");
    }
}

#[test]
fn the_signature_is_checked_before_the_body_is_read() {
    // Unsigned garbage with a wrong content type gets 401, not 415 or 400.
    let mut headers = HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    let rejection = run(&Method::POST, "stripe", &headers, b"{not json").unwrap_err();
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.reason(), "unauthorized");
    assert!(matches!(rejection, Rejection::Unauthorized(SignatureError::MissingHeader(_))));
}

#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let body = "[".repeat(100_000).into_bytes();
    let headers = signed("stripe", &body, "application/json");
    assert_eq!(run(&Method::POST, "stripe", &headers, &body).unwrap_err().status(), 400);
}

/// A signed JSON body for `stripe` that nests `depth` arrays in a field next to its id.
fn nested_in_field(depth: usize) -> Vec<u8> {
    format!(r#"{{"id":"evt_deep","a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

/// The envelope `stripe` enqueues for a signed JSON body, or why it refused the body.
fn signed_stripe_json(body: &[u8]) -> Result<Envelope, Rejection> {
    let headers = signed("stripe", body, "application/json");
    let decision = run(&Method::POST, "stripe", &headers, body)?;
    Ok(enqueued(Ok(decision)).0.into_owned())
}

#[test]
fn signed_json_nested_as_deep_as_serde_json_reads_is_enqueued() {
    use crate::json_body::MAX_JSON_NESTING_DEPTH;
    // The object itself is one level: the field's arrays take the rest.
    let body = nested_in_field(MAX_JSON_NESTING_DEPTH - 1);
    assert_eq!(signed_stripe_json(&body).unwrap().event_id, "stripe:evt_deep");
    let top_level = format!("{}{}", "[".repeat(MAX_JSON_NESTING_DEPTH), "]".repeat(MAX_JSON_NESTING_DEPTH));
    signed_stripe_json(top_level.as_bytes()).unwrap();
    // What was accepted, a serde_json consumer can read.
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
}

#[test]
fn signed_json_nested_one_level_deeper_than_serde_json_reads_is_malformed() {
    use crate::json_body::MAX_JSON_NESTING_DEPTH;
    let top_level = format!("{}{}", "[".repeat(MAX_JSON_NESTING_DEPTH + 1), "]".repeat(MAX_JSON_NESTING_DEPTH + 1));
    for body in [nested_in_field(MAX_JSON_NESTING_DEPTH), nested_in_field(200), top_level.into_bytes()] {
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
        let rejection = signed_stripe_json(&body).unwrap_err();
        assert_eq!(rejection, Rejection::MalformedJson);
        assert_eq!((rejection.status(), rejection.public_code()), (400, "malformed_json"));
    }
}

#[test]
fn brackets_inside_strings_are_not_nesting() {
    let deep = "[{".repeat(500);
    let body = format!(r#"{{"id":"evt_str","note":"{deep}","more":["{deep}"]}}"#);
    assert_eq!(signed_stripe_json(body.as_bytes()).unwrap().event_id, "stripe:evt_str");
}

#[test]
fn escaped_quotes_do_not_end_a_string_and_escaped_backslashes_do() {
    let deep = "[".repeat(500);
    // `\"` keeps the string open, so the brackets after it are text.
    let text = format!(r#"{{"id":"evt_esc","note":"say \"{deep}\" twice"}}"#);
    assert_eq!(signed_stripe_json(text.as_bytes()).unwrap().event_id, "stripe:evt_esc");
    // `\\` is a whole escape, so the quote after it closes the string and the brackets nest.
    let nested = format!(r#"{{"id":"evt_esc","note":"C:\\","a":{deep}{}}}"#, "]".repeat(500));
    assert_eq!(signed_stripe_json(nested.as_bytes()).unwrap_err(), Rejection::MalformedJson);
}

#[test]
fn signed_json_that_is_not_utf8_is_malformed_wherever_the_bytes_are() {
    for (content_type, body) in [
        ("application/json", &b"{\"id\":\"evt_1\",\"name\":\"Jos\xe9\"}"[..]),
        ("application/json; charset=iso-8859-1", b"{\"id\":\"evt_1\",\"name\":\"Jos\xe9\"}"),
        ("application/json", b"{\"id\":\"evt_1\",\"x\":[\"\xed\xa0\x80\"]}"),
        ("application/json", b"[\"\xff\xfe\"]"),
    ] {
        let headers = signed("stripe", body, content_type);
        let rejection = run(&Method::POST, "stripe", &headers, body).unwrap_err();
        assert_eq!(rejection, Rejection::MalformedJson, "{content_type}: {body:?}");
    }
    // Any JSON media type, not only application/json; other media types carry any bytes.
    let config = SourcesConfig::from_json(
        br#"{"sources":{"any":{"scheme":"github","secrets":["sixteen-byte-key"],"content_types":["*"]}}}"#,
    )
    .unwrap();
    let source = config.get("any").unwrap();
    for (content_type, body, accepted) in [
        ("application/vnd.x+json", &b"{\"x\":\"\xff\xfe\"}"[..], false),
        ("application/octet-stream", b"\xff\xfe\x00", true),
    ] {
        let mut headers: HeaderMap =
            sign(&source.scheme, &source.keys[0], body, NOW_MS / 1000, "id").into_iter().collect();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        let request = IntakeRequest {
            method: &Method::POST,
            source: "any",
            headers: &headers,
            body: body.into(),
            query: "",
            now_unix_millis: NOW_MS,
        };
        let decision = decide(&config, &request);
        assert_eq!(decision.is_ok(), accepted, "{content_type}: {decision:?}");
    }
    let utf8 = "{\"id\":\"evt_1\",\"name\":\"José\"}";
    assert_eq!(signed_stripe_json(utf8.as_bytes()).unwrap().event_id, "stripe:evt_1");
}

#[test]
fn json_bodies_are_marked_to_travel_as_themselves_unless_they_cannot() {
    use crate::envelope::MAX_EMBEDDED_JSON_DEPTH;
    let marked = |body: &[u8]| signed_stripe_json(body).unwrap().body_is_json;
    assert!(marked(br#" {"id":"evt_1","note":"\uffff"} "#), "an escape is ASCII");
    assert!(marked(&nested_in_field(MAX_EMBEDDED_JSON_DEPTH - 1)));
    assert!(!marked(&nested_in_field(MAX_EMBEDDED_JSON_DEPTH)), "one level too deep for the envelope");
    assert!(!marked("{\"id\":\"evt_1\",\"note\":\"\u{FFFE}\"}".as_bytes()));
    assert!(!marked("{\"\u{FFFF}\":1}".as_bytes()));

    let form = b"command=%2Fdeploy&text=now";
    let headers = signed("slack", form, "application/x-www-form-urlencoded");
    assert!(!enqueued(run(&Method::POST, "slack", &headers, form)).0.body_is_json);
}

/// A base64 body is decoded only once the source is known and its size is within the limit,
/// judged from the encoded length: garbage flagged as base64 gets the cheap answers first.
#[test]
fn a_base64_body_is_decoded_only_after_the_source_and_size_checks() {
    let decide_base64 = |source: &str, encoded: &str, headers: &HeaderMap| {
        let request = IntakeRequest {
            method: &Method::POST,
            source,
            headers,
            body: RequestBody::Base64(encoded),
            query: "",
            now_unix_millis: NOW_MS,
        };
        decide(&config(), &request).map(|_| ())
    };
    let none = HeaderMap::new();
    let garbage = "!".repeat(1000);
    assert_eq!(decide_base64("nope", &garbage, &none), Err(Rejection::UnknownSource));
    let limit = config().get("partner").unwrap().max_body_bytes;
    let oversized = "!".repeat(limit / 3 * 4 + 8);
    assert!(matches!(decide_base64("partner", &oversized, &none), Err(Rejection::BodyTooLarge { .. })));
    assert_eq!(decide_base64("partner", &garbage, &none), Err(Rejection::BodyNotBase64));
    // Just at the limit, in valid base64: decoded and verified like any body.
    let body = vec![b'a'; limit];
    let headers = signed("partner", &body, "application/json");
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
    assert_eq!(decide_base64("partner", &encoded, &headers), Err(Rejection::MalformedJson));
    let one_more = base64::engine::general_purpose::STANDARD.encode(vec![b'a'; limit + 1]);
    assert!(matches!(decide_base64("partner", &one_more, &headers), Err(Rejection::BodyTooLarge { .. })));
}

#[test]
fn twilio_hubspot_and_mailgun_take_their_event_id_and_type_from_the_documented_place() {
    // Twilio: a form body, deduplicated on its decoded parameters; the idempotency token is
    // forwarded, unsigned.
    let body = b"MessageSid=SM1&MessageStatus=delivered";
    let mut headers = signed("twilio", body, "application/x-www-form-urlencoded");
    headers.insert("i-twilio-idempotency-token", HeaderValue::from_static("tok-1"));
    let (first, origin) = enqueued(run(&Method::POST, "twilio", &headers, body));
    assert!(first.event_id.starts_with("twilio:sha256:"), "{}", first.event_id);
    assert_eq!((origin, first.headers["i-twilio-idempotency-token"].as_str()), (EventIdOrigin::Sender, "tok-1"));
    assert_eq!(first.event_type, None);
    // The same parameters re-encoded and with a fresh token: verified, and the same event.
    let reencoded = b"MessageStatus=deliver%65d&MessageSid=SM1";
    let mut replay = headers.clone();
    replay.insert("i-twilio-idempotency-token", HeaderValue::from_static("tok-2"));
    let (replayed, _) = enqueued(run(&Method::POST, "twilio", &replay, reencoded));
    assert_eq!(replayed.event_id, first.event_id);

    // HubSpot: a batch, under its hash; the timestamp is signed.
    let body = br#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#;
    let headers = signed("hubspot", body, "application/json");
    let (envelope, origin) = enqueued(run(&Method::POST, "hubspot", &headers, body));
    assert!(envelope.event_id.starts_with("hubspot:sha256:"), "{}", envelope.event_id);
    assert_eq!(origin, EventIdOrigin::BodyHash);
    assert!(envelope.signed_headers.contains_key("x-hubspot-request-timestamp"));

    // Mailgun: the event data's id is the event id (else the signed token); its type is not
    // signed.
    let config = config();
    let mailgun = config.get("mailgun").unwrap();
    let unsigned = br#"{"signature":{"token":"tok-mg-1","timestamp":"","signature":""},"event-data":{"event":"delivered","id":"x"}}"#;
    let body = signature::signed_body(&mailgun.scheme, &mailgun.keys[0], unsigned, NOW_MS / 1000).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (envelope, origin) = enqueued(run(&Method::POST, "mailgun", &headers, &body));
    assert_eq!((envelope.event_id.as_str(), origin), ("mailgun:x", EventIdOrigin::Sender));
    assert_eq!(envelope.event_type, EventType::new("delivered", Origin::Unsigned));
    let tampered = String::from_utf8(body.clone()).unwrap().replace("tok-mg-1", "tok-mg-2");
    assert_eq!(run(&Method::POST, "mailgun", &headers, tampered.as_bytes()).unwrap_err().status(), 401);
}
