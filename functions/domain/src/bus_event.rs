//! An event as Hookline puts it on an event bus (EventBridge): what a consumer that writes
//! no Rust receives.
//!
//! `Source` is `hookline.<source>`, `DetailType` the provider's event type (`webhook` when
//! the sender names none), `Time` when ingest received the webhook, and `Detail` a JSON
//! object:
//!
//! ```json
//! {"event_id": "stripe:evt_1", "source": "stripe", "scheme": "stripe",
//!  "received_at": "2026-11-28T12:00:00.000Z", "event_type": "invoice.paid",
//!  "event_type_origin": "signed", "content_type": "application/json",
//!  "headers": {"user-agent": "Stripe/1.0"}, "signed_headers": {},
//!  "body": {"id": "evt_1"}}
//! ```
//!
//! The body is `body` when it is JSON, `body_base64` otherwise, and `body_ref` (bucket, key,
//! size, SHA-256) when it lives in the body bucket or would not fit in an entry. `event_id`
//! lets a consumer drop the rare duplicate (see the README's EventBridge section).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::body_ref::BodyRef;
use crate::envelope::{Envelope, EventType};

/// The most an EventBridge entry may hold (`Source`, `DetailType`, `Detail`, `Time` and
/// `Resources` together): 256 KB.
pub const MAX_BUS_EVENT_BYTES: usize = 262_144;
/// What EventBridge counts for an entry's `Time`.
const TIME_BYTES: usize = 14;
/// `DetailType` when the sender names no event type.
pub const UNTYPED_DETAIL_TYPE: &str = "webhook";

/// An event for the bus: see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEventParts {
    pub source: String,
    pub detail_type: String,
    pub detail: String,
}

impl BusEventParts {
    /// The entry's size as EventBridge counts it against [`MAX_BUS_EVENT_BYTES`].
    pub fn size(&self) -> usize {
        self.source.len() + self.detail_type.len() + self.detail.len() + TIME_BYTES
    }
}

/// Why an envelope cannot become a bus event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the event's detail is {size} bytes, over EventBridge's {MAX_BUS_EVENT_BYTES}, and its body has no stored copy to refer to"
)]
pub struct TooLarge {
    pub size: usize,
}

#[derive(Serialize)]
struct Detail<'a> {
    event_id: &'a str,
    source: &'a str,
    scheme: &'a str,
    received_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type_origin: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    headers: &'a BTreeMap<String, String>,
    signed_headers: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    body: DetailBody<'a>,
}

/// The body's member of the detail, by its name.
#[derive(Serialize)]
enum DetailBody<'a> {
    #[serde(rename = "body")]
    Json(&'a serde_json::value::RawValue),
    #[serde(rename = "body_base64")]
    Base64(String),
    #[serde(rename = "body_ref")]
    Reference(&'a BodyRef),
}

/// The bus event of `envelope`, whose body is resolved (read from the body store when it
/// travelled by reference). A body that lives in the body store is referred to, never
/// copied: entries are at most 256 KB.
pub fn bus_event(envelope: &Envelope) -> Result<BusEventParts, TooLarge> {
    let inline = match &envelope.stored_body {
        Some(reference) => DetailBody::Reference(reference),
        None => inline_body(&envelope.body, envelope.body_is_json),
    };
    let parts = parts(envelope, inline);
    if parts.size() <= MAX_BUS_EVENT_BYTES {
        return Ok(parts);
    }
    Err(TooLarge { size: parts.size() })
}

fn inline_body(body: &[u8], is_json: bool) -> DetailBody<'_> {
    let json = is_json.then(|| std::str::from_utf8(body).ok()).flatten();
    match json.and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok()) {
        Some(raw) => DetailBody::Json(raw),
        None => DetailBody::Base64(STANDARD.encode(body)),
    }
}

fn parts(envelope: &Envelope, body: DetailBody<'_>) -> BusEventParts {
    let event_type: Option<&EventType> = envelope.event_type.as_ref();
    let detail = Detail {
        event_id: &envelope.event_id,
        source: &envelope.source,
        scheme: &envelope.scheme,
        received_at: &envelope.received_at,
        event_type: event_type.map(|t| t.name.as_str()),
        event_type_origin: event_type.map(|t| t.origin.as_str()),
        content_type: envelope.content_type.as_deref(),
        headers: &envelope.headers,
        signed_headers: &envelope.signed_headers,
        body,
    };
    BusEventParts {
        source: format!("hookline.{}", envelope.source),
        detail_type: event_type.map_or(UNTYPED_DETAIL_TYPE, |t| t.name.as_str()).to_owned(),
        detail: serde_json::to_string(&detail).expect("a detail always serialises: string keys, raw JSON"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope tests' Stripe envelope, its body marked as intake would mark it.
    fn envelope(body: &[u8]) -> Envelope {
        Envelope {
            body_is_json: crate::envelope::is_embeddable_json(body),
            ..crate::envelope::tests::envelope(body.to_vec())
        }
    }

    fn detail(parts: &BusEventParts) -> serde_json::Value {
        serde_json::from_str(&parts.detail).unwrap()
    }

    #[test]
    fn a_json_body_travels_as_json_with_the_event_s_identity() {
        let parts = bus_event(&envelope(br#"{"id":"evt_1","amount":10}"#)).unwrap();
        assert_eq!(parts.source, "hookline.stripe");
        assert_eq!(parts.detail_type, "invoice.paid");
        let detail = detail(&parts);
        assert_eq!(detail["event_id"], "stripe:evt_1");
        assert_eq!(detail["source"], "stripe");
        assert_eq!(detail["received_at"], "2026-11-28T12:00:00.000Z");
        assert_eq!(detail["event_type_origin"], "signed");
        assert_eq!(detail["headers"]["user-agent"], "Stripe/1.0");
        assert_eq!(detail["body"]["amount"], 10);
        assert!(detail.get("body_base64").is_none());
    }

    #[test]
    fn other_bodies_travel_as_base64_and_an_untyped_event_is_a_webhook() {
        let mut form = envelope(b"a=1&b=%20");
        form.event_type = None;
        form.content_type = Some("application/x-www-form-urlencoded".into());
        let parts = bus_event(&form).unwrap();
        assert_eq!(parts.detail_type, UNTYPED_DETAIL_TYPE);
        let detail = detail(&parts);
        assert_eq!(STANDARD.decode(detail["body_base64"].as_str().unwrap()).unwrap(), b"a=1&b=%20");
        assert!(detail.get("event_type").is_none() && detail.get("body").is_none());
    }

    #[test]
    fn a_stored_body_is_referred_to_and_an_inline_one_too_large_is_refused() {
        let body = vec![b'x'; 300_000];
        let mut stored = envelope(&body);
        stored.stored_body = Some(BodyRef::new("bucket", "bodies/k", body.len(), &crate::body_ref::sha256(&body)));
        let parts = bus_event(&stored).unwrap();
        let referred = detail(&parts);
        assert_eq!(referred["body_ref"]["key"], "bodies/k");
        assert_eq!(referred["body_ref"]["size"], 300_000);
        assert!(parts.size() < 2_000, "{}", parts.size());

        let error = bus_event(&envelope(&body)).unwrap_err();
        assert!(error.size > MAX_BUS_EVENT_BYTES, "{error}");
        // Just under the limit, with its JSON body inline.
        let quoted = format!("\"{}\"", "y".repeat(MAX_BUS_EVENT_BYTES - 600));
        let fits = bus_event(&envelope(quoted.as_bytes())).unwrap();
        assert!(fits.size() <= MAX_BUS_EVENT_BYTES);
        assert_eq!(detail(&fits)["body"].as_str().unwrap().len(), MAX_BUS_EVENT_BYTES - 600);
    }
}
