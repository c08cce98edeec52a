//! The intake decision: given a request for one source, accept it (as an envelope to
//! enqueue), answer a sender's handshake, or reject it with a reason.
//!
//! Checks run cheapest and least revealing first: method, source, sizes (a base64 body's
//! from its encoded length), forwarded headers, then the body is decoded if it came as base64,
//! then the signature, and only then anything that reads the body, so an unauthenticated
//! caller costs little and learns nothing about what a valid request looks like beyond "401".

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, Method};

use crate::envelope::{Envelope, EnvelopeBody, EventType, MAX_FORWARDED_HEADER_BYTES, Origin, embeds_as_json};
use crate::event_id::{EventId, EventIdOrigin};
use crate::instant::rfc3339_millis;
use crate::json_body::JsonBody;
use crate::signature::{self, MetaOptions, Scheme, SignatureError, VerifyRequest, standard_webhooks};
use crate::source::{Source, is_json_media_type, media_type};
use crate::sources::SourcesConfig;

/// One webhook request, reduced to what the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct IntakeRequest<'a> {
    pub method: &'a Method,
    /// The `{source}` path segment, as received.
    pub source: &'a str,
    pub headers: &'a HeaderMap,
    /// The body as received: decoded here if it came as base64, once the cheap checks pass.
    pub body: RequestBody<'a>,
    /// The raw query string (without `?`; empty when there is none): read only for a `GET`
    /// endpoint check.
    pub query: &'a str,
    /// Milliseconds since the Unix epoch at receipt.
    pub now_unix_millis: i64,
}

/// What to do with a request that passed every check.
// One per request, moved once into the answer: boxing the envelope would cost an allocation
// on every accepted webhook to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Durably enqueue this envelope, then answer 202. It borrows the request's body (or owns
    /// what base64 decoded to): the body is copied once, into the message.
    Enqueue { envelope: Envelope<IntakeBody<'a>>, event_id_origin: EventIdOrigin },
    /// Answer the sender's handshake synchronously; nothing is enqueued.
    Handshake(Handshake),
}

/// A sender's endpoint check, answered after its signature verified, never enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// Slack's `url_verification`: 200, `{"challenge": ...}`.
    SlackChallenge { challenge: String },
    /// Zoom's `endpoint.url_validation`: 200, `{"encryptedToken": ..., "plainToken": ...}`,
    /// the encrypted token the hex HMAC-SHA256 of the plain token under the secret token that
    /// verified the request.
    ZoomUrlValidation { plain_token: String, encrypted_token: String },
    /// Twitch's `webhook_callback_verification`: 200, the challenge as `text/plain`.
    TwitchChallenge { challenge: String },
    /// Discord's webhook-events PING (`"type": 0`): 204, no body.
    DiscordPing,
    /// Meta's `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`: 200, the
    /// challenge as `text/plain`.
    MetaChallenge { challenge: String },
}

/// A Discord webhook-events body: `type` 0 is Discord's PING, 1 an event whose `event.type`
/// names it.
#[derive(serde::Deserialize)]
struct DiscordBody {
    #[serde(rename = "type")]
    kind: u8,
    event: Option<NestedType>,
}

/// An object's string `type`: Discord's `event`, Twitch's `subscription`.
#[derive(serde::Deserialize)]
struct NestedType {
    #[serde(rename = "type")]
    kind: String,
}

/// A Twitch EventSub notification: `subscription.type` is the event type.
#[derive(serde::Deserialize)]
struct TwitchBody {
    subscription: NestedType,
}

/// Zoom's validation request: `{"event": "endpoint.url_validation", "payload": {"plainToken": ...}}`.
#[derive(serde::Deserialize)]
struct ZoomValidation {
    payload: ZoomPlainToken,
}

#[derive(serde::Deserialize)]
struct ZoomPlainToken {
    #[serde(rename = "plainToken")]
    plain_token: String,
}

/// Twitch's message type header and the value of its endpoint check.
const TWITCH_MESSAGE_TYPE: &str = "twitch-eventsub-message-type";
const TWITCH_VERIFICATION: &str = "webhook_callback_verification";

/// Why a request was refused. The status and the public message are all a caller sees;
/// the reason (and the signature error inside) go to logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the source takes, for the `Allow` header.
        allow: &'static str,
    },
    #[error("unknown source")]
    UnknownSource,
    #[error("body of {size} bytes exceeds the source's limit of {limit}")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("forwarded headers exceed {MAX_FORWARDED_HEADER_BYTES} bytes")]
    HeadersTooLarge,
    #[error("signature rejected: {0}")]
    Unauthorized(#[source] SignatureError),
    #[error("content type not accepted for this source")]
    UnsupportedContentType,
    #[error("body is not valid JSON")]
    MalformedJson,
    #[error("body is flagged as base64 and is not base64")]
    BodyNotBase64,
    #[error("endpoint check without hub.mode=subscribe and a hub.challenge")]
    MalformedEndpointCheck,
    #[error("endpoint check with a verify token that is not the configured one")]
    WrongVerifyToken,
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::MethodNotAllowed { .. } => 405,
            Rejection::UnknownSource => 404,
            Rejection::BodyTooLarge { .. } => 413,
            Rejection::HeadersTooLarge => 431,
            Rejection::Unauthorized(_) => 401,
            Rejection::UnsupportedContentType => 415,
            Rejection::MalformedJson | Rejection::BodyNotBase64 | Rejection::MalformedEndpointCheck => 400,
            Rejection::WrongVerifyToken => 403,
        }
    }

    /// A stable label for logs and the rejected-by-reason metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::MethodNotAllowed { .. } => "method_not_allowed",
            Rejection::UnknownSource => "unknown_source",
            Rejection::BodyTooLarge { .. } => "body_too_large",
            Rejection::HeadersTooLarge => "headers_too_large",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::UnsupportedContentType => "unsupported_content_type",
            Rejection::MalformedJson => "malformed_json",
            Rejection::BodyNotBase64 => "body_not_base64",
            Rejection::MalformedEndpointCheck => "malformed_endpoint_check",
            Rejection::WrongVerifyToken => "wrong_verify_token",
        }
    }

    /// The generic error code a sender sees in the body.
    pub fn public_code(&self) -> &'static str {
        match self {
            Rejection::MethodNotAllowed { .. } => "method_not_allowed",
            Rejection::UnknownSource => "not_found",
            Rejection::BodyTooLarge { .. } => "payload_too_large",
            Rejection::HeadersTooLarge => "headers_too_large",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::UnsupportedContentType => "unsupported_media_type",
            Rejection::MalformedJson => "malformed_json",
            Rejection::BodyNotBase64 | Rejection::MalformedEndpointCheck => "bad_request",
            Rejection::WrongVerifyToken => "forbidden",
        }
    }
}

/// Decides what to do with `request` under `config`.
pub fn decide<'a>(config: &SourcesConfig, request: &IntakeRequest<'a>) -> Result<Decision<'a>, Rejection> {
    let source = config.get(request.source);
    if request.method != Method::POST {
        // A source with a GET endpoint check takes GET too; an unknown source is told POST.
        return match source {
            Some(Source { scheme: Scheme::Meta(options), .. }) if request.method == Method::GET => {
                meta_endpoint_check(options, request.query).map(Decision::Handshake)
            }
            Some(Source { scheme: Scheme::Meta(_), .. }) => Err(Rejection::MethodNotAllowed { allow: "GET, POST" }),
            _ => Err(Rejection::MethodNotAllowed { allow: "POST" }),
        };
    }
    let source = source.ok_or(Rejection::UnknownSource)?;
    let size = request.body.len();
    if size > source.max_body_bytes {
        return Err(Rejection::BodyTooLarge { size, limit: source.max_body_bytes });
    }
    let (headers, signed_headers) = forwarded_headers(source, request.headers)?;
    let decoded = request.body.decoded().ok_or(Rejection::BodyNotBase64)?;
    let body = decoded.as_ref();

    let verified = signature::verify(
        &source.scheme,
        &VerifyRequest {
            headers: request.headers,
            body,
            query: request.query,
            keys: &source.keys,
            tolerance_seconds: source.tolerance_seconds,
            now_unix: request.now_unix_millis.div_euclid(1000),
        },
    )
    .map_err(Rejection::Unauthorized)?;

    let content_type = match single_header(request.headers, &http::header::CONTENT_TYPE) {
        Header::Missing => None,
        Header::One(value) => Some(value),
        Header::Invalid => return Err(Rejection::UnsupportedContentType),
    };
    if !source.content_types.accepts(content_type) {
        return Err(Rejection::UnsupportedContentType);
    }
    let read_json = || match decoded.known_text() {
        Some(text) => JsonBody::read_text(text),
        None => JsonBody::read(body),
    };
    // A body sent as JSON must be JSON. Any other body is read as JSON too when it is: what
    // the signature covers decides the event id, type and handshake, not the unsigned
    // content type (a Stripe event replayed as text/plain is still its `evt_` id).
    let json = if content_type.map(media_type).is_some_and(is_json_media_type) {
        Some(read_json().ok_or(Rejection::MalformedJson)?)
    } else {
        read_json()
    };
    let discord = match (&source.scheme, &json) {
        (Scheme::Discord, Some(_)) => serde_json::from_slice::<DiscordBody>(body).ok(),
        _ => None,
    };
    // Verification read it as well: its event data's id (else its token) is the event id, its
    // event data's type the type.
    let mailgun = match source.scheme {
        Scheme::Mailgun => signature::mailgun::read(body),
        _ => None,
    };

    if let Some(handshake) =
        handshake(source, request.headers, json.as_ref(), discord.as_ref(), body, verified.key_index)?
    {
        return Ok(Decision::Handshake(handshake));
    }

    let event_type = event_type(source, request.headers, json.as_ref(), discord.as_ref(), mailgun.as_ref(), body);
    let sender_id = sender_event_id(source, request, body, json.as_ref(), mailgun.as_ref());
    let (event_id, event_id_origin) = EventId::derive(&source.name, sender_id.as_deref(), body);
    let body_is_json = json.is_some_and(|json| embeds_as_json(body, json.depth));
    Ok(Decision::Enqueue {
        envelope: Envelope {
            source: source.name.to_string(),
            event_id: event_id.into_string(),
            scheme: source.scheme.name().to_owned(),
            received_at: rfc3339_millis(request.now_unix_millis),
            content_type: content_type.map(str::to_owned),
            headers,
            signed_headers,
            event_type,
            body: decoded,
            stored_body: None,
            body_is_json,
            destinations: source.destinations,
        },
        event_id_origin,
    })
}

/// Meta's endpoint check: `hub.mode=subscribe`, the configured `hub.verify_token` (compared
/// in constant time) and a `hub.challenge` to echo. A parameter given twice is refused: which
/// of the two Meta meant would be a guess.
fn meta_endpoint_check(options: &MetaOptions, query: &str) -> Result<Handshake, Rejection> {
    let mut found: [Option<String>; 3] = Default::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let Some(slot) = ["hub.mode", "hub.verify_token", "hub.challenge"].iter().position(|n| *n == name) else {
            continue;
        };
        if found[slot].replace(value.into_owned()).is_some() {
            return Err(Rejection::MalformedEndpointCheck);
        }
    }
    let [mode, token, challenge] = found;
    let (Some("subscribe"), Some(challenge)) = (mode.as_deref(), challenge) else {
        return Err(Rejection::MalformedEndpointCheck);
    };
    let token = token.ok_or(Rejection::WrongVerifyToken)?;
    signature::matching_token(std::slice::from_ref(&options.verify_token), token.as_bytes())
        .map(|_| Handshake::MetaChallenge { challenge })
        .ok_or(Rejection::WrongVerifyToken)
}

/// The handshake a verified request is, if it is one.
fn handshake(
    source: &Source,
    headers: &HeaderMap,
    json: Option<&JsonBody>,
    discord: Option<&DiscordBody>,
    body: &[u8],
    key_index: usize,
) -> Result<Option<Handshake>, Rejection> {
    Ok(match source.scheme {
        Scheme::Slack => json
            .and_then(JsonBody::slack_challenge)
            .map(|challenge| Handshake::SlackChallenge { challenge: challenge.to_owned() }),
        Scheme::Zoom if json.and_then(|json| json.event.as_deref()) == Some("endpoint.url_validation") => {
            let validation: ZoomValidation = serde_json::from_slice(body).map_err(|_| Rejection::MalformedJson)?;
            let plain_token = validation.payload.plain_token;
            let encrypted_token = signature::zoom::encrypted_token(&source.keys[key_index], &plain_token);
            Some(Handshake::ZoomUrlValidation { plain_token, encrypted_token })
        }
        Scheme::Twitch
            if matches!(
                single_header(headers, &HeaderName::from_static(TWITCH_MESSAGE_TYPE)),
                Header::One(TWITCH_VERIFICATION)
            ) =>
        {
            let challenge = json.and_then(|json| json.challenge.clone()).ok_or(Rejection::MalformedJson)?;
            Some(Handshake::TwitchChallenge { challenge })
        }
        Scheme::Discord => discord.filter(|body| body.kind == 0).map(|_| Handshake::DiscordPing),
        _ => None,
    })
}

enum Header<'a> {
    Missing,
    One(&'a str),
    /// Repeated, or not visible ASCII.
    Invalid,
}

fn single_header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Header<'a> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Header::Missing,
        (Some(value), None) => value.to_str().map_or(Header::Invalid, Header::One),
        (Some(_), Some(_)) => Header::Invalid,
    }
}

/// The sender's id for the event, where there is one to trust; `None` means the body's hash.
fn sender_event_id(
    source: &Source,
    request: &IntakeRequest<'_>,
    body: &[u8],
    json: Option<&JsonBody>,
    mailgun: Option<&signature::mailgun::Body>,
) -> Option<String> {
    let headers = request.headers;
    let from_header = |name: &str| match single_header(headers, &HeaderName::from_bytes(name.as_bytes()).ok()?) {
        Header::One(value) => Some(value.to_owned()),
        _ => None,
    };
    if source.unsigned_id_header().is_some() {
        if let Some(name) = source.event_id_header() {
            return from_header(name);
        }
        // Deduplicated on what is signed: the body's hash, except for Twilio, which signs the
        // decoded parameters rather than the bytes.
        return match source.scheme {
            Scheme::Twilio(_) => {
                Some(format!("sha256:{}", hex::encode(signature::twilio::replay_digest(request.query, body))))
            }
            _ => None,
        };
    }
    match &source.scheme {
        Scheme::StandardWebhooks => {
            standard_webhooks::header_names(headers).ok().and_then(|names| from_header(names.id))
        }
        // An interaction's `id`; webhook events carry none (the body's hash).
        Scheme::Stripe | Scheme::Discord => json.and_then(|json| json.id.clone()),
        Scheme::Paddle | Scheme::Square(_) => json.and_then(|json| json.event_id.clone()),
        Scheme::Twitch => from_header(signature::TWITCH_MESSAGE_ID),
        // Zoom sends no delivery id it signs: the body's hash.
        // SendGrid and HubSpot post a batch of events: one webhook, under the body's hash.
        Scheme::Slack | Scheme::Zoom | Scheme::SendGrid | Scheme::Meta(_) | Scheme::HubSpotV3(_) => None,
        Scheme::Mailgun => mailgun.map(|body| body.event_id().to_owned()),
        // Their delivery id travels in an unsigned header, handled above (the generic scheme's
        // when one is configured).
        Scheme::Hmac(_) | Scheme::GitHub | Scheme::Shopify | Scheme::Linear | Scheme::GitLab | Scheme::Twilio(_) => {
            None
        }
    }
}

/// The provider's event type: from the signed body where the provider puts it there,
/// otherwise from its (unsigned) header.
fn event_type(
    source: &Source,
    headers: &HeaderMap,
    json: Option<&JsonBody>,
    discord: Option<&DiscordBody>,
    mailgun: Option<&signature::mailgun::Body>,
    body: &[u8],
) -> Option<EventType> {
    let signed = |name: Option<&str>| name.and_then(|name| EventType::new(name, Origin::Signed));
    let unsigned = |header: &'static str| match single_header(headers, &HeaderName::from_static(header)) {
        Header::One(value) => EventType::new(value, Origin::Unsigned),
        _ => None,
    };
    match &source.scheme {
        Scheme::StandardWebhooks | Scheme::Stripe | Scheme::Square(_) | Scheme::Slack | Scheme::Linear => {
            signed(json.and_then(|json| json.kind.as_deref()))
        }
        Scheme::Paddle => signed(json.and_then(|json| json.event_type.as_deref())),
        Scheme::Zoom => signed(json.and_then(|json| json.event.as_deref())),
        Scheme::Meta(_) => signed(json.and_then(|json| json.object.as_deref())),
        Scheme::Discord => signed(discord.and_then(|body| body.event.as_ref()).map(|event| event.kind.as_str())),
        Scheme::Twitch if json.is_some() => {
            serde_json::from_slice::<TwitchBody>(body).ok().and_then(|body| signed(Some(&body.subscription.kind)))
        }
        Scheme::GitHub => unsigned("x-github-event"),
        Scheme::Shopify => unsigned("x-shopify-topic"),
        // GitLab signs nothing: its token authenticates the sender, not the request. The body's
        // `object_kind` (`push`, `merge_request`) rather than `X-Gitlab-Event` (`Push Hook`,
        // whose space no message attribute value we keep may hold).
        Scheme::GitLab => {
            json.and_then(|json| json.object_kind.as_deref()).and_then(|kind| EventType::new(kind, Origin::Unsigned))
        }
        // Mailgun signs its timestamp and token, not the event data.
        Scheme::Mailgun => mailgun
            .and_then(|body| body.event_data.as_ref())
            .and_then(|data| data.event.as_deref())
            .and_then(|event| EventType::new(event, Origin::Unsigned)),
        // SendGrid and HubSpot post a batch of events of several types; Twilio and the generic
        // scheme name none.
        Scheme::Twitch | Scheme::SendGrid | Scheme::HubSpotV3(_) | Scheme::Twilio(_) | Scheme::Hmac(_) => None,
    }
}

/// Headers the scheme's signature covers that a consumer needs, kept apart from the rest.
fn scheme_signed_headers(scheme: &Scheme) -> &'static [&'static str] {
    match scheme {
        // Only one of the two sets is ever present: verification refuses a request with both.
        Scheme::StandardWebhooks => &["webhook-id", "webhook-timestamp", "svix-id", "svix-timestamp"],
        Scheme::Slack => &["x-slack-request-timestamp"],
        Scheme::Zoom => &["x-zm-request-timestamp"],
        Scheme::Twitch => &["twitch-eventsub-message-id", "twitch-eventsub-message-timestamp"],
        Scheme::Discord => &["x-signature-timestamp"],
        Scheme::SendGrid => &["x-twilio-email-event-webhook-timestamp"],
        Scheme::HubSpotV3(_) => &[signature::HUBSPOT_TIMESTAMP],
        _ => &[],
    }
}

/// Headers a consumer needs, by scheme, that the signature does not cover; signature headers
/// are not among them.
fn scheme_forwarded_headers(scheme: &Scheme) -> &'static [&'static str] {
    match scheme {
        Scheme::StandardWebhooks | Scheme::Stripe => &[],
        Scheme::GitHub => &[
            "x-github-event",
            "x-github-delivery",
            "x-github-hook-id",
            "x-github-hook-installation-target-id",
            "x-github-hook-installation-target-type",
        ],
        Scheme::Shopify => &[
            "x-shopify-topic",
            "x-shopify-shop-domain",
            "x-shopify-webhook-id",
            "x-shopify-event-id",
            "x-shopify-api-version",
            "x-shopify-triggered-at",
        ],
        Scheme::Slack => &["x-slack-retry-num", "x-slack-retry-reason"],
        Scheme::Paddle | Scheme::Square(_) | Scheme::Discord | Scheme::SendGrid | Scheme::Meta(_) => &[],
        Scheme::Zoom => &["x-zm-trackingid"],
        Scheme::Twitch => &[
            "twitch-eventsub-message-type",
            "twitch-eventsub-message-retry",
            "twitch-eventsub-subscription-type",
            "twitch-eventsub-subscription-version",
        ],
        Scheme::Linear => &["linear-delivery", "linear-event"],
        Scheme::GitLab => &["x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-webhook-uuid", "x-gitlab-instance"],
        Scheme::Twilio(_) => &["i-twilio-idempotency-token"],
        Scheme::HubSpotV3(_) | Scheme::Mailgun | Scheme::Hmac(_) => &[],
    }
}

/// The forwarded headers the signature does not cover, and those it covers, within one
/// size budget.
type ForwardedHeaders = (BTreeMap<String, String>, BTreeMap<String, String>);

fn forwarded_headers(source: &Source, headers: &HeaderMap) -> Result<ForwardedHeaders, Rejection> {
    let signed_names = scheme_signed_headers(&source.scheme);
    let names = signed_names
        .iter()
        .chain(&["content-type", "user-agent"])
        .chain(scheme_forwarded_headers(&source.scheme))
        .copied()
        .chain(source.id_header.iter().map(HeaderName::as_str))
        .chain(source.forward_headers.iter().map(HeaderName::as_str));
    let (mut unsigned, mut signed) = (BTreeMap::new(), BTreeMap::new());
    let mut total = 0usize;
    for name in names {
        let values: Vec<_> = headers.get_all(name).iter().collect();
        if values.is_empty() || unsigned.contains_key(name) || signed.contains_key(name) {
            continue;
        }
        // Repeated headers are joined as HTTP allows; bytes that are not UTF-8 become U+FFFD,
        // since headers are informational and only the body is carried byte-exactly.
        let value = values.iter().map(|v| String::from_utf8_lossy(v.as_bytes())).collect::<Vec<_>>().join(", ");
        total += name.len() + value.len();
        if total > MAX_FORWARDED_HEADER_BYTES {
            return Err(Rejection::HeadersTooLarge);
        }
        let map = if signed_names.contains(&name) { &mut signed } else { &mut unsigned };
        map.insert(name.to_owned(), value);
    }
    Ok((unsigned, signed))
}

mod request_body;

pub use request_body::{IntakeBody, RequestBody};

#[cfg(test)]
mod tests;
