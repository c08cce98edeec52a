//! The envelope: one SQS message per accepted webhook, carrying the body byte-exactly.
//!
//! A body intake validated as JSON travels as itself, the envelope's last member, unescaped
//! (`"body_encoding":"json"`): it is never larger than the body. Any other body travels as a
//! JSON string when it is UTF-8 that SQS accepts and escaping does not make it larger than
//! base64 would; otherwise as base64. Either way the worst case is the base64 size, which is
//! what [`MAX_INLINE_BODY_BYTES`] is derived from. A body too large for that, or above the
//! inline threshold ingest is configured with, is stored beside the queue (the claim-check
//! pattern) and travels as a reference to it (`"body_encoding":"reference"`, version 4).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::body_ref::BodyRef;
use crate::destination::Destinations;
use crate::json_body::{JsonBody, MAX_JSON_NESTING_DEPTH};

/// SQS's message size limit: body plus message attributes.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;
/// The inline threshold ingest uses by default, and the largest it accepts: a message up to
/// this size is also one ledger record (a DynamoDB item holds 400 KB) and one events-table
/// item, so that nothing downstream has to split an inline envelope.
pub const MAX_INLINE_MESSAGE_BYTES: usize = 256 * 1024;
/// Room kept for the envelope's own fields, forwarded headers and message attributes.
pub const ENVELOPE_RESERVE_BYTES: usize = 64 * 1024;
/// Most bytes of forwarded header names and values one envelope carries.
pub const MAX_FORWARDED_HEADER_BYTES: usize = 16 * 1024;
/// Largest body that always fits one message inline: base64 of it plus the reserve fits
/// [`MAX_MESSAGE_BYTES`]. Larger bodies travel by reference.
pub const MAX_INLINE_BODY_BYTES: usize = (MAX_MESSAGE_BYTES - ENVELOPE_RESERVE_BYTES) / 4 * 3;

/// The envelope format version written for a body that travels inline. Version 2 added
/// `"body_encoding":"json"`; version 3 added `signed_headers`, `event_type` and
/// `event_type_origin`. A reader of an older version cannot read either: a change an older
/// reader cannot read takes a new version, and readers are deployed before the writer (see
/// the README's rollout rule).
pub const ENVELOPE_VERSION: u32 = 3;

/// The version written for a body that travels by reference (`"body_encoding":"reference"`).
/// Only those envelopes carry it, so a reader of version 3 keeps reading every inline one.
pub const REFERENCE_ENVELOPE_VERSION: u32 = 4;

/// Every version read: a message written before an upgrade is still read after it.
pub const READABLE_ENVELOPE_VERSIONS: [u32; 5] = [1, 2, 3, 4, 5];

/// The version written for an event routed elsewhere than the events table alone
/// (`destinations`). Only those envelopes carry it, so a reader of version 4 keeps reading
/// every envelope of a source that keeps the default destination.
pub const DESTINATIONS_ENVELOPE_VERSION: u32 = 5;

/// The deepest nesting a body can travel with as itself: inside the envelope's object, it
/// stays within serde_json's recursion limit, so a consumer reading the whole envelope as a
/// `serde_json::Value` (or with a recursive type) can. `from_json` skips the body without
/// recursing and reads any depth.
pub const MAX_EMBEDDED_JSON_DEPTH: usize = MAX_JSON_NESTING_DEPTH - 1;

/// Names of the message attributes every envelope carries, so consumers filter without parsing.
pub mod attribute {
    pub const SOURCE: &str = "hookline.source";
    pub const EVENT_ID: &str = "hookline.event_id";
    pub const SCHEME: &str = "hookline.scheme";
    /// The provider's event type, when the sender names one ([`super::EventType`]).
    pub const EVENT_TYPE: &str = "hookline.event_type";
    /// `signed` or `unsigned`: whether the signature covers the event type.
    pub const EVENT_TYPE_ORIGIN: &str = "hookline.event_type_origin";
    /// How many times the reprocess function has sent this event back to the main queue.
    pub const REPLAY_COUNT: &str = "hookline.replay_count";
}

/// Whether a body intake accepted as JSON, nesting `depth` deep, may travel as itself.
pub fn embeds_as_json(body: &[u8], depth: usize) -> bool {
    depth <= MAX_EMBEDDED_JSON_DEPTH && !sqs_refuses(body)
}

/// Whether `body` is JSON intake accepts and may travel as itself: what
/// [`Envelope::body_is_json`] should be for an envelope built outside intake.
pub fn is_embeddable_json(body: &[u8]) -> bool {
    JsonBody::read(body).is_some_and(|read| embeds_as_json(body, read.depth))
}

/// What an envelope can carry as its body: its bytes, and its text when that is known to be
/// UTF-8 without a check.
pub trait EnvelopeBody: AsRef<[u8]> {
    /// The body as text, when that needs no check; `None` means "check the bytes".
    fn known_text(&self) -> Option<&str> {
        None
    }

    /// The body's standard base64 (padded, canonical), when it arrived so: written as it is
    /// instead of encoding the bytes again.
    fn known_base64(&self) -> Option<&str> {
        None
    }
}

impl EnvelopeBody for Vec<u8> {}

impl EnvelopeBody for &[u8] {}

/// How the body travels in the envelope's `body` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// A JSON string whose contents are the body's text.
    Utf8,
    /// A JSON string holding the body's bytes in standard base64, padded.
    Base64,
    /// The body itself, a JSON text: every byte between the colon after `"body"` and the
    /// `,` or `}` that ends the member, whitespace included.
    Json,
    /// A [`BodyRef`] object: the body is in the body store (version 4 and later).
    Reference,
}

/// Whether the sender's signature covers a piece of metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Read from what the signature covers (the body, or a signed header).
    Signed,
    /// Read from a header the signature does not cover: anyone replaying a captured delivery
    /// can change it, so a handler must not trust it for decisions.
    Unsigned,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Signed => "signed",
            Origin::Unsigned => "unsigned",
        }
    }
}

/// The provider's event type (Stripe's `type`, `X-GitHub-Event`, ...) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    /// 1-256 visible ASCII characters.
    pub name: String,
    pub origin: Origin,
}

/// Longest event type kept.
pub const MAX_EVENT_TYPE_BYTES: usize = 256;

impl EventType {
    /// `None` unless `name` is 1-256 visible ASCII characters (a message attribute holds it).
    pub fn new(name: &str, origin: Origin) -> Option<Self> {
        let usable =
            !name.is_empty() && name.len() <= MAX_EVENT_TYPE_BYTES && name.bytes().all(|b| b.is_ascii_graphic());
        usable.then(|| EventType { name: name.to_owned(), origin })
    }
}

/// A received webhook as it travels through the queues. The body is owned, except in the
/// envelope intake decides on, which borrows the request's body until it is written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<B = Vec<u8>> {
    pub source: String,
    pub event_id: String,
    pub scheme: String,
    /// RFC 3339, UTC, millisecond precision.
    pub received_at: String,
    pub content_type: Option<String>,
    /// Forwarded headers the signature does not cover (lower-case names to values): the
    /// sender's delivery id, `X-GitHub-Event`, `User-Agent`, ... Anyone replaying a captured
    /// delivery can set them.
    pub headers: BTreeMap<String, String>,
    /// Forwarded headers the signature covers (Standard Webhooks' `webhook-id` and
    /// `webhook-timestamp`, Slack's timestamp, ...).
    pub signed_headers: BTreeMap<String, String>,
    /// The provider's event type, when the sender names one.
    pub event_type: Option<EventType>,
    /// The body's bytes. Empty, when the body travels by reference, until a reader resolves
    /// the reference ([`Envelope::stored_body`]).
    pub body: B,
    /// Where the body is stored when it travels by reference; `None` when it travels inline.
    /// An envelope with one is written as the reference, whatever `body` holds.
    pub stored_body: Option<BodyRef>,
    /// Whether the body may travel as itself ([`BodyEncoding::Json`]): it is JSON that intake
    /// accepts, nests at most [`MAX_EMBEDDED_JSON_DEPTH`] deep and holds neither U+FFFE nor
    /// U+FFFF (which SQS refuses). Intake sets it from its one pass over the body, and reading
    /// an envelope whose body travelled so sets it. False is always safe: the body is then
    /// escaped.
    pub body_is_json: bool,
    /// Where the event goes, as its source was configured when ingest accepted it.
    pub destinations: Destinations,
}

/// The envelope as JSON. Read with this; written as [`WireHead`] and the body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    version: u32,
    source: std::borrow::Cow<'a, str>,
    event_id: std::borrow::Cow<'a, str>,
    scheme: std::borrow::Cow<'a, str>,
    received_at: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    headers: std::borrow::Cow<'a, BTreeMap<String, String>>,
    #[serde(default)]
    signed_headers: std::borrow::Cow<'a, BTreeMap<String, String>>,
    #[serde(default)]
    event_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    event_type_origin: Option<Origin>,
    #[serde(default)]
    destinations: Option<Destinations>,
    body_encoding: BodyEncoding,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// [`Wire`] without the body, in the same order, for writing: [`Envelope::to_json`] appends
/// the body itself.
#[derive(Serialize)]
struct WireHead<'a> {
    version: u32,
    source: &'a str,
    event_id: &'a str,
    scheme: &'a str,
    received_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    signed_headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type_origin: Option<Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destinations: Option<Destinations>,
    /// Last, so that the body's encoding can be changed once the body has been tried as text.
    body_encoding: BodyEncoding,
}

/// Why a message could not be read as an envelope. Always permanent: redelivery cannot fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is not an envelope: {0}")]
    Malformed(String),
    #[error("envelope version {0} is not supported (this reader reads versions 1 to 5)")]
    UnsupportedVersion(u32),
    /// `"body_encoding":"reference"` before version 4, or a reference that is not a bucket, a
    /// key under `bodies/`, a size and a lower-case hex SHA-256.
    #[error("envelope body reference is not one ingest makes")]
    BodyReference,
    #[error("envelope body is not valid base64")]
    BadBase64,
    #[error("envelope body is not a string, as its encoding requires")]
    BodyNotString,
    /// A source name ingest would refuse, or an event id that is not `{source}:` and 1-256
    /// visible ASCII characters: the message came from elsewhere than ingest.
    #[error("envelope source or event id is not one ingest makes ({0})")]
    Identity(&'static str),
    /// An `event_type` that is not 1-256 visible ASCII characters, or without its origin.
    #[error("envelope event type is not one ingest makes")]
    EventType,
}

/// A message as the queue delivered it to a function (an SQS record), reduced to what the
/// processor and reprocess functions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// SQS's `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
    /// The message's string attributes, by name.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// An envelope ready for `SendMessage`: the JSON body and its string message attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    pub attributes: Vec<(&'static str, String)>,
    /// Seconds before the message becomes visible (SQS `DelaySeconds`, at most 900).
    pub delay_seconds: u32,
}

impl QueueMessage {
    /// Bytes SQS counts against its limit: body plus each attribute's name, type and value.
    pub fn sqs_size(&self) -> usize {
        self.body.len()
            + self.attributes.iter().map(|(name, value)| name.len() + "String".len() + value.len()).sum::<usize>()
    }
}

impl<B: EnvelopeBody> Envelope<B> {
    /// The same envelope owning a copy of its body.
    pub fn into_owned(self) -> Envelope {
        Envelope {
            source: self.source,
            event_id: self.event_id,
            scheme: self.scheme,
            received_at: self.received_at,
            content_type: self.content_type,
            headers: self.headers,
            signed_headers: self.signed_headers,
            event_type: self.event_type,
            body: self.body.as_ref().to_vec(),
            stored_body: self.stored_body,
            body_is_json: self.body_is_json,
            destinations: self.destinations,
        }
    }

    /// The same envelope with its body stored beside the queue: it travels as `reference`.
    pub fn with_stored_body(&self, reference: BodyRef) -> Envelope {
        Envelope {
            source: self.source.clone(),
            event_id: self.event_id.clone(),
            scheme: self.scheme.clone(),
            received_at: self.received_at.clone(),
            content_type: self.content_type.clone(),
            headers: self.headers.clone(),
            signed_headers: self.signed_headers.clone(),
            event_type: self.event_type.clone(),
            body: Vec::new(),
            stored_body: Some(reference),
            body_is_json: false,
            destinations: self.destinations,
        }
    }

    /// The body's SHA-256 in lower-case hex (the idempotency fingerprint): the reference's
    /// when the body travels by reference, so it is known without reading the body.
    pub fn body_sha256_hex(&self) -> String {
        match &self.stored_body {
            Some(reference) => reference.sha256.clone(),
            None => crate::idempotency::fingerprint(self.body.as_ref()),
        }
    }

    /// Serialises the envelope and its attributes for the queue.
    pub fn to_queue_message(&self) -> QueueMessage {
        let mut attributes = vec![
            (attribute::SOURCE, self.source.clone()),
            (attribute::EVENT_ID, self.event_id.clone()),
            (attribute::SCHEME, self.scheme.clone()),
        ];
        if let Some(event_type) = &self.event_type {
            attributes.push((attribute::EVENT_TYPE, event_type.name.clone()));
            attributes.push((attribute::EVENT_TYPE_ORIGIN, event_type.origin.as_str().to_owned()));
        }
        QueueMessage { body: self.to_json(), attributes, delay_seconds: 0 }
    }

    pub fn to_json(&self) -> String {
        let body = self.body.as_ref();
        let head = WireHead {
            version: if !self.destinations.is_default() {
                DESTINATIONS_ENVELOPE_VERSION
            } else if self.stored_body.is_some() {
                REFERENCE_ENVELOPE_VERSION
            } else {
                ENVELOPE_VERSION
            },
            source: &self.source,
            event_id: &self.event_id,
            scheme: &self.scheme,
            received_at: &self.received_at,
            content_type: self.content_type.as_deref(),
            headers: &self.headers,
            signed_headers: &self.signed_headers,
            event_type: self.event_type.as_ref().map(|t| t.name.as_str()),
            event_type_origin: self.event_type.as_ref().map(|t| t.origin),
            destinations: Some(self.destinations).filter(|d| !d.is_default()),
            body_encoding: BodyEncoding::Utf8,
        };
        let mut head = serde_json::to_string(&head).expect("an envelope always serialises: string keys, no floats");
        head = escape_sqs_noncharacters(head);
        // The head ends `"body_encoding":"utf8"}`: cut to `"body_encoding":` and finish it with
        // the body as itself, as text, or failing those as base64.
        debug_assert!(head.ends_with(r#""body_encoding":"utf8"}"#), "{head}");
        head.truncate(head.len() - r#""utf8"}"#.len());
        if let Some(reference) = &self.stored_body {
            let reference = serde_json::to_string(reference).expect("a reference always serialises");
            let mut json = head;
            json.push_str(r#""reference","body":"#);
            json.push_str(&escape_sqs_noncharacters(reference));
            json.push('}');
            return json;
        }
        let text = || self.body.known_text().or_else(|| std::str::from_utf8(body).ok());
        if self.body_is_json {
            debug_assert!(JsonBody::is_valid(body), "body_is_json on a body that is not JSON");
            // JSON is UTF-8; only a `str` can be appended to a `String`, and a body the HTTP
            // layer had as text needs no check for that.
            if let Some(body) = text() {
                let mut json = head;
                json.reserve_exact(r#""json","body":}"#.len() + body.len());
                json.push_str(r#""json","body":"#);
                json.push_str(body);
                json.push('}');
                return json;
            }
        }
        // Text SQS accepts travels as a JSON string unless escaping makes it longer than base64.
        if let Some(text) = text()
            && !sqs_refuses(text.as_bytes())
        {
            let escaped = serde_json::to_string(text).expect("a string always serialises");
            if escaped.len() - 2 <= body.len().div_ceil(3) * 4 {
                let mut json = head;
                json.reserve_exact(r#""utf8","body":}"#.len() + escaped.len());
                json.push_str(r#""utf8","body":"#);
                json.push_str(&escaped);
                json.push('}');
                return json;
            }
        }
        let mut json = head;
        json.push_str(r#""base64","body":""#);
        match self.body.known_base64() {
            Some(base64) => json.push_str(base64),
            None => STANDARD.encode_string(body, &mut json),
        }
        json.push_str(r#""}"#);
        json
    }
}

impl Envelope {
    pub fn from_json(text: &str) -> Result<Self, EnvelopeError> {
        let wire: Wire<'_> = serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if !READABLE_ENVELOPE_VERSIONS.contains(&wire.version) {
            return Err(EnvelopeError::UnsupportedVersion(wire.version));
        }
        if !crate::event_id::is_event_id_of(&wire.source, &wire.event_id) {
            let field =
                if crate::source::SourceName::parse(&wire.source).is_none() { "source name" } else { "event id" };
            return Err(EnvelopeError::Identity(field));
        }
        let event_type = match (wire.event_type, wire.event_type_origin) {
            (None, None) => None,
            (Some(name), Some(origin)) => Some(EventType::new(&name, origin).ok_or(EnvelopeError::EventType)?),
            _ => return Err(EnvelopeError::EventType),
        };
        let destinations = match wire.destinations {
            None => Destinations::default(),
            Some(destinations) if wire.version >= DESTINATIONS_ENVELOPE_VERSION => destinations,
            Some(_) => return Err(EnvelopeError::Malformed("`destinations` before version 5".into())),
        };
        let string_body = || serde_json::from_str::<String>(wire.body.get()).map_err(|_| EnvelopeError::BodyNotString);
        let mut stored_body = None;
        let (body, body_is_json) = match wire.body_encoding {
            BodyEncoding::Reference => {
                let reference = serde_json::from_str::<BodyRef>(wire.body.get())
                    .ok()
                    .filter(|r: &BodyRef| wire.version >= REFERENCE_ENVELOPE_VERSION && r.is_well_formed())
                    .ok_or(EnvelopeError::BodyReference)?;
                stored_body = Some(reference);
                (Vec::new(), false)
            }
            BodyEncoding::Utf8 => (string_body()?.into_bytes(), false),
            BodyEncoding::Base64 => (STANDARD.decode(string_body()?).map_err(|_| EnvelopeError::BadBase64)?, false),
            BodyEncoding::Json => {
                let body = member_value_text(text, wire.body);
                // Travels as itself again only if intake would have let it: the envelope's own
                // reading is laxer than intake's (a lone surrogate escape, `1e400`), and a
                // message from elsewhere than ingest may hold U+FFFE or U+FFFF.
                let embeds = JsonBody::read_text(body).is_some_and(|read| embeds_as_json(body.as_bytes(), read.depth));
                (body.as_bytes().to_vec(), embeds)
            }
        };
        Ok(Envelope {
            source: wire.source.into_owned(),
            event_id: wire.event_id.into_owned(),
            scheme: wire.scheme.into_owned(),
            received_at: wire.received_at.into_owned(),
            content_type: wire.content_type.map(|c| c.into_owned()),
            headers: wire.headers.into_owned(),
            signed_headers: wire.signed_headers.into_owned(),
            event_type,
            body,
            stored_body,
            body_is_json,
            destinations,
        })
    }
}

/// The text of the member whose value serde_json read as `value` from `text`: the value and
/// the whitespace around it, from the colon before it to the comma or brace after it.
fn member_value_text<'a>(text: &'a str, value: &RawValue) -> &'a str {
    // `value` borrows from `text` (`Wire` is read with `from_str`), so this is its offset.
    let start = value.get().as_ptr() as usize - text.as_ptr() as usize;
    let end = start + value.get().len();
    let is_whitespace = |byte: &&u8| matches!(byte, b' ' | b'\n' | b'\t' | b'\r');
    let bytes = text.as_bytes();
    let start = start - bytes[..start].iter().rev().take_while(is_whitespace).count();
    let end = end + bytes[end..].iter().take_while(is_whitespace).count();
    &text[start..end]
}

/// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. JSON escapes every
/// control character, so what remains to exclude are the noncharacters U+FFFE and U+FFFF
/// (`EF BF BE` and `EF BF BF` in UTF-8), found with memchr's substring search.
fn sqs_refuses(text: &[u8]) -> bool {
    memchr::memmem::find(text, "\u{FFFE}".as_bytes()).is_some()
        || memchr::memmem::find(text, "\u{FFFF}".as_bytes()).is_some()
}

/// serde_json writes U+FFFE and U+FFFF as they are, and SQS refuses a message holding them
/// (a forwarded header or any other field may carry them). Outside strings the JSON text is
/// ASCII, so each is inside a string, where its `\u` escape reads back as the same character.
/// Only the envelope's head goes through this: a body holding them travels as base64.
fn escape_sqs_noncharacters(json: String) -> String {
    if !sqs_refuses(json.as_bytes()) {
        json
    } else {
        json.replace('\u{FFFE}', "\\ufffe").replace('\u{FFFF}', "\\uffff")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Stripe `invoice.paid` envelope around `body` (other modules' tests use it too).
    pub(crate) fn envelope(body: Vec<u8>) -> Envelope {
        Envelope {
            source: "stripe".into(),
            event_id: "stripe:evt_1".into(),
            scheme: "stripe".into(),
            received_at: "2026-11-28T12:00:00.000Z".into(),
            content_type: Some("application/json".into()),
            headers: BTreeMap::from([("user-agent".into(), "Stripe/1.0".into())]),
            signed_headers: BTreeMap::new(),
            event_type: EventType::new("invoice.paid", Origin::Signed),
            body,
            stored_body: None,
            body_is_json: false,
            destinations: Destinations::default(),
        }
    }

    #[test]
    fn an_event_routed_elsewhere_travels_in_version_5_and_the_default_route_is_not_written() {
        let default = envelope(b"x".to_vec()).to_json();
        assert!(!default.contains("destinations"), "{default}");
        let mut routed = envelope(b"x".to_vec());
        routed.destinations = Destinations::only(crate::Destination::EventBridge);
        let json = routed.to_json();
        assert!(json.starts_with(r#"{"version":5,"#), "{json}");
        assert!(json.contains(r#""destinations":["eventbridge"]"#), "{json}");
        assert_eq!(Envelope::from_json(&json).unwrap(), routed);
        let early = json.replacen(r#""version":5"#, r#""version":3"#, 1);
        assert!(matches!(Envelope::from_json(&early), Err(EnvelopeError::Malformed(_))));
    }

    #[test]
    fn json_bodies_travel_as_text() {
        let json = envelope(br#"{"id":"evt_1","n":1}"#.to_vec()).to_json();
        assert!(json.contains(r#""body_encoding":"utf8""#), "{json}");
        assert!(json.contains(r#"\"id\":\"evt_1\""#), "{json}");
    }

    #[test]
    fn bytes_sqs_would_refuse_travel_as_base64() {
        for body in [vec![0xff, 0xfe, 0x00], "a\u{FFFE}b".as_bytes().to_vec(), vec![0u8; 30]] {
            let json = envelope(body.clone()).to_json();
            assert!(json.contains(r#""body_encoding":"base64""#), "{json}");
            assert_eq!(Envelope::from_json(&json).unwrap().body, body);
        }
    }

    /// What `to_json` wrote before it escaped the body itself: serde_json over the whole
    /// envelope, the body as text when it is UTF-8 without U+FFFE or U+FFFF and its escaped
    /// form is no longer than base64, and those two characters escaped anywhere after.
    fn reference_json(e: &Envelope) -> String {
        #[derive(Serialize)]
        struct Whole<'a> {
            #[serde(flatten)]
            head: WireHead<'a>,
            body: String,
        }
        let base64_len = e.body.len().div_ceil(3) * 4;
        let (body_encoding, body) = match std::str::from_utf8(&e.body) {
            Ok(text)
                if !sqs_refuses(text.as_bytes()) && serde_json::to_string(text).unwrap().len() - 2 <= base64_len =>
            {
                (BodyEncoding::Utf8, text.to_owned())
            }
            _ => (BodyEncoding::Base64, STANDARD.encode(&e.body)),
        };
        let head = WireHead {
            version: ENVELOPE_VERSION,
            source: &e.source,
            event_id: &e.event_id,
            scheme: &e.scheme,
            received_at: &e.received_at,
            content_type: e.content_type.as_deref(),
            headers: &e.headers,
            signed_headers: &e.signed_headers,
            event_type: e.event_type.as_ref().map(|t| t.name.as_str()),
            event_type_origin: e.event_type.as_ref().map(|t| t.origin),
            destinations: None,
            body_encoding,
        };
        escape_sqs_noncharacters(serde_json::to_string(&Whole { head, body }).unwrap())
    }

    #[test]
    fn writes_what_serde_json_wrote_byte_for_byte() {
        let mixed = "a\"b\\c\nd\u{1}é€😀\u{FFFD}".repeat(5_000);
        let quotes = "\"\"\"a".repeat(100);
        for body in [&b""[..], b"{}", mixed.as_bytes(), quotes.as_bytes(), "x\u{FFFF}".as_bytes(), b"\xff"] {
            let mut e = envelope(body.to_vec());
            assert_eq!(e.to_json(), reference_json(&e));
            e.content_type = None;
            e.headers.insert("x-\u{FFFE}".into(), "\u{FFFF}".into());
            assert_eq!(e.to_json(), reference_json(&e));
        }
    }

    #[test]
    fn validated_json_bodies_travel_as_themselves_whitespace_included() {
        for body in ["{}", " \n{\"id\": \"evt_1\",\n  \"n\": [1, 2.5e3, null]}\r\n\t", "\"\\u00e9 é\"", "-0", "[[]]  "]
        {
            let mut e = envelope(body.as_bytes().to_vec());
            e.body_is_json = true;
            let json = e.to_json();
            assert!(json.ends_with(&format!(r#""body_encoding":"json","body":{body}}}"#)), "{json}");
            assert_eq!(Envelope::from_json(&json), Ok(e));
        }
    }

    #[test]
    fn a_json_body_is_read_as_the_whole_member_wherever_it_is() {
        let head = r#""version":1,"source":"s","event_id":"s:1","scheme":"github","received_at":"t""#;
        for (json, body) in [
            (format!(r#"{{"body": [1, {{"a":"}}"}}] ,{head},"body_encoding":"json"}}"#), r#" [1, {"a":"}"}] "#),
            (format!(r#"{{{head},"body_encoding":"json","body":"x"}}"#), r#""x""#),
            (format!("{{{head},\"body_encoding\":\"json\",\"body\":\t7\n}}"), "\t7\n"),
        ] {
            let e = Envelope::from_json(&json).unwrap();
            assert_eq!((e.body.as_slice(), e.body_is_json), (body.as_bytes(), true), "{json}");
        }
        let utf8_not_string = format!(r#"{{{head},"body_encoding":"utf8","body":{{}}}}"#);
        assert_eq!(Envelope::from_json(&utf8_not_string), Err(EnvelopeError::BodyNotString));
        let base64_not_string = format!(r#"{{{head},"body_encoding":"base64","body":1}}"#);
        assert_eq!(Envelope::from_json(&base64_not_string), Err(EnvelopeError::BodyNotString));
        let not_json = format!(r#"{{{head},"body_encoding":"json","body":{{]}}"#);
        assert!(matches!(Envelope::from_json(&not_json), Err(EnvelopeError::Malformed(_))));
    }

    #[test]
    fn a_json_body_intake_would_refuse_is_read_but_escaped_again() {
        let head = r#""version":2,"source":"s","event_id":"s:1","scheme":"github","received_at":"t""#;
        for body in [r#"{"a":"\ud800"}"#, r#"[1e400]"#] {
            let json = format!("{{{head},\"body_encoding\":\"json\",\"body\":{body}}}");
            let e = Envelope::from_json(&json).unwrap();
            assert_eq!((e.body.as_slice(), e.body_is_json), (body.as_bytes(), false), "{body}");
            let again = e.to_json();
            assert!(again.contains(r#""body_encoding":"utf8""#), "{again}");
            assert_eq!(Envelope::from_json(&again).unwrap().body, body.as_bytes());
        }
    }

    #[test]
    fn a_json_body_holding_noncharacters_is_read_but_escaped_again() {
        let head = r#""version":1,"source":"s","event_id":"s:1","scheme":"github","received_at":"t""#;
        let json = format!("{{{head},\"body_encoding\":\"json\",\"body\":\"\u{FFFE}\"}}");
        let e = Envelope::from_json(&json).unwrap();
        assert_eq!((e.body.as_slice(), e.body_is_json), ("\"\u{FFFE}\"".as_bytes(), false));
        assert!(e.to_json().contains(r#""body_encoding":"base64""#));
    }

    fn reference() -> BodyRef {
        let body = vec![b'x'; 2_000_000];
        let sha = crate::body_ref::sha256(&body);
        BodyRef::new("hookline-bodies", crate::body_ref::body_key("stripe", "stripe:evt_1", &sha), body.len(), &sha)
    }

    #[test]
    fn a_stored_body_travels_as_its_reference_in_version_4_and_inline_ones_stay_version_3() {
        let mut e = envelope(vec![b'x'; 2_000_000]);
        assert!(e.to_json().starts_with(r#"{"version":3,"#));
        e.stored_body = Some(reference());
        let message = e.to_queue_message();
        assert!(message.body.starts_with(r#"{"version":4,"#), "{}", message.body);
        let expected_tail = format!(
            r#""body_encoding":"reference","body":{{"bucket":"hookline-bodies","key":"{}","size":2000000,"sha256":"{}"}}}}"#,
            reference().key,
            reference().sha256
        );
        assert!(message.body.ends_with(&expected_tail), "{}", message.body);
        assert!(message.sqs_size() < 2_000, "the body itself is not in the message: {}", message.sqs_size());
        let read = Envelope::from_json(&message.body).unwrap();
        assert_eq!(read.stored_body, Some(reference()));
        assert!(read.body.is_empty(), "a reader resolves the reference before it has the body");
        assert_eq!(read.body_sha256_hex(), reference().sha256);
        assert_eq!(Envelope::from_json(&read.to_json()), Ok(read), "a replay writes the same reference");
    }

    #[test]
    fn a_reference_ingest_could_not_make_is_refused() {
        let mut e = envelope(Vec::new());
        e.stored_body = Some(reference());
        let json = e.to_json();
        let good = reference();
        for bad in [
            json.replace(r#""version":4"#, r#""version":3"#),
            json.replace(&good.sha256, &good.sha256.to_uppercase()),
            json.replace(&good.sha256, &good.sha256[1..]),
            json.replace(r#""key":"bodies/"#, r#""key":"other/"#),
            json.replace(r#""bucket":"hookline-bodies""#, r#""bucket":"""#),
            json.replace(r#""size":2000000"#, r#""size":-1"#),
            json.replace(r#""size":2000000"#, r#""size":"2000000""#),
            json.replace(r#""sha256":"#, r#""extra":1,"sha256":"#),
            json.replace(r#""body":{"#, r#""body":[{"#).replace(r#""}}"#, r#""}]}"#),
        ] {
            assert_eq!(Envelope::from_json(&bad), Err(EnvelopeError::BodyReference), "{bad}");
        }
    }

    #[test]
    fn rejects_unknown_versions_and_garbage() {
        let json = envelope(b"x".to_vec()).to_json().replace(r#""version":3"#, r#""version":6"#);
        assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::UnsupportedVersion(6)));
        let version_1 = envelope(b"x".to_vec()).to_json().replace(r#""version":3"#, r#""version":1"#);
        assert_eq!(Envelope::from_json(&version_1), Ok(envelope(b"x".to_vec())));
        assert!(matches!(Envelope::from_json("nope"), Err(EnvelopeError::Malformed(_))));
        let bad = envelope(vec![0xff]).to_json().replace(r#""body":""#, r#""body":"!"#);
        assert_eq!(Envelope::from_json(&bad), Err(EnvelopeError::BadBase64));
    }

    #[test]
    fn signed_and_unsigned_metadata_travel_apart_and_the_event_type_becomes_attributes() {
        let mut e = envelope(br#"{"id":"evt_1"}"#.to_vec());
        e.signed_headers.insert("webhook-timestamp".into(), "1700000000".into());
        e.event_type = EventType::new("orders/create", Origin::Unsigned);
        let message = e.to_queue_message();
        assert!(message.body.contains(r#""headers":{"user-agent":"Stripe/1.0"},"signed_headers":{"webhook-timestamp":"1700000000"},"event_type":"orders/create","event_type_origin":"unsigned""#), "{}", message.body);
        assert_eq!(Envelope::from_json(&message.body), Ok(e.clone()));
        let attributes: BTreeMap<_, _> = message.attributes.iter().cloned().collect();
        assert_eq!(attributes[attribute::EVENT_TYPE], "orders/create");
        assert_eq!(attributes[attribute::EVENT_TYPE_ORIGIN], "unsigned");

        e.event_type = None;
        e.signed_headers.clear();
        let message = e.to_queue_message();
        assert!(!message.body.contains("signed_headers") && !message.body.contains("event_type"), "{}", message.body);
        assert_eq!(message.attributes.len(), 3);
        assert_eq!(Envelope::from_json(&message.body), Ok(e));
    }

    #[test]
    fn an_event_type_ingest_could_not_make_is_refused() {
        let head = r#""version":3,"source":"s","event_id":"s:1","scheme":"github","received_at":"t","body_encoding":"utf8","body":"""#;
        for fields in [
            r#""event_type":"push""#,
            r#""event_type_origin":"signed""#,
            r#""event_type":"","event_type_origin":"signed""#,
            r#""event_type":"has space","event_type_origin":"signed""#,
        ] {
            let json = format!("{{{fields},{head}}}");
            assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::EventType), "{fields}");
        }
        let unknown_origin = format!(r#"{{"event_type":"push","event_type_origin":"maybe",{head}}}"#);
        assert!(matches!(Envelope::from_json(&unknown_origin), Err(EnvelopeError::Malformed(_))));
        assert!(EventType::new(&"x".repeat(MAX_EVENT_TYPE_BYTES + 1), Origin::Signed).is_none());
        assert!(EventType::new(&"x".repeat(MAX_EVENT_TYPE_BYTES), Origin::Signed).is_some());
    }

    #[test]
    fn the_largest_worst_case_body_fits_one_sqs_message() {
        let mut e = envelope(vec![0xff; MAX_INLINE_BODY_BYTES]);
        e.headers = (0..200).map(|i| (format!("x-h{i:03}"), "v".repeat(70))).collect();
        assert!(e.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= MAX_FORWARDED_HEADER_BYTES);
        e.event_id = format!("{}:{}", "s".repeat(64), "i".repeat(256));
        let message = e.to_queue_message();
        assert!(message.sqs_size() <= MAX_MESSAGE_BYTES, "{}", message.sqs_size());
    }

    #[test]
    fn noncharacters_in_any_field_are_escaped_for_sqs() {
        // Shrunk by tests/properties_envelope.rs: a U+FFFE in a text field went to SQS raw.
        let mut e = envelope(b"{}".to_vec());
        e.received_at = "\u{FFFE}".into();
        e.headers.insert("user-agent".into(), "a\u{FFFF}b".into());
        let json = e.to_json();
        assert!(!json.contains(['\u{FFFE}', '\u{FFFF}']), "{json}");
        assert!(json.contains(r#""received_at":"\ufffe""#), "{json}");
        assert_eq!(Envelope::from_json(&json).unwrap(), e);
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let e = envelope(body);
            prop_assert_eq!(e.to_json(), reference_json(&e));
            prop_assert_eq!(Envelope::from_json(&e.to_json()).unwrap(), e);
        }

        #[test]
        fn writes_what_serde_json_wrote_for_any_text(text in "\\PC*|[\\x00-\\x7f]*|[\"\\\\\n\u{1}\u{FFFE}\u{FFFF}é]*") {
            let e = envelope(text.into_bytes());
            prop_assert_eq!(e.to_json(), reference_json(&e));
        }

        #[test]
        fn round_trips_arbitrary_text(text in "\\PC*|[\\x00-\\x7f]*") {
            let e = envelope(text.into_bytes());
            let message = e.to_queue_message();
            prop_assert!(message.body.len() <= e.body.len().div_ceil(3) * 4 + 512);
            prop_assert_eq!(Envelope::from_json(&message.body).unwrap(), e);
        }
    }
}
