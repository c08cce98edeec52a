//! The envelope: one SQS message per accepted webhook, carrying the body byte-exactly.
//!
//! The body travels as JSON text when it is UTF-8 that SQS accepts and escaping does not
//! make it larger than base64 would; otherwise as base64. Either way the worst case is the
//! base64 size, which is what [`MAX_BODY_BYTES`] is derived from.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// SQS's message size limit: body plus message attributes.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;
/// Room kept for the envelope's own fields, forwarded headers and message attributes.
pub const ENVELOPE_RESERVE_BYTES: usize = 64 * 1024;
/// Most bytes of forwarded header names and values one envelope carries.
pub const MAX_FORWARDED_HEADER_BYTES: usize = 16 * 1024;
/// Largest body any source can accept: base64 of it plus the reserve fits [`MAX_MESSAGE_BYTES`].
pub const MAX_BODY_BYTES: usize = (MAX_MESSAGE_BYTES - ENVELOPE_RESERVE_BYTES) / 4 * 3;

/// The current envelope format version; consumers reject versions they do not know.
pub const ENVELOPE_VERSION: u32 = 1;

/// Names of the message attributes every envelope carries, so consumers filter without parsing.
pub mod attribute {
    pub const SOURCE: &str = "hookline.source";
    pub const EVENT_ID: &str = "hookline.event_id";
    pub const SCHEME: &str = "hookline.scheme";
    /// How many times the reprocess function has sent this event back to the main queue.
    pub const REPLAY_COUNT: &str = "hookline.replay_count";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    Utf8,
    Base64,
}

/// A received webhook as it travels through the queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub source: String,
    pub event_id: String,
    pub scheme: String,
    /// RFC 3339, UTC, millisecond precision.
    pub received_at: String,
    pub content_type: Option<String>,
    /// Lower-case header names to values.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
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
    body_encoding: BodyEncoding,
    body: std::borrow::Cow<'a, str>,
}

/// Why a message could not be read as an envelope. Always permanent: redelivery cannot fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is not an envelope: {0}")]
    Malformed(String),
    #[error("envelope version {0} is not supported (expected {ENVELOPE_VERSION})")]
    UnsupportedVersion(u32),
    #[error("envelope body is not valid base64")]
    BadBase64,
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

impl Envelope {
    /// Serialises the envelope and its attributes for the queue.
    pub fn to_queue_message(&self) -> QueueMessage {
        QueueMessage {
            body: self.to_json(),
            attributes: vec![
                (attribute::SOURCE, self.source.clone()),
                (attribute::EVENT_ID, self.event_id.clone()),
                (attribute::SCHEME, self.scheme.clone()),
            ],
            delay_seconds: 0,
        }
    }

    pub fn to_json(&self) -> String {
        let (body_encoding, body) = encode_body(&self.body);
        let wire = Wire {
            version: ENVELOPE_VERSION,
            source: self.source.as_str().into(),
            event_id: self.event_id.as_str().into(),
            scheme: self.scheme.as_str().into(),
            received_at: self.received_at.as_str().into(),
            content_type: self.content_type.as_deref().map(Into::into),
            headers: std::borrow::Cow::Borrowed(&self.headers),
            body_encoding,
            body,
        };
        let json = serde_json::to_string(&wire).expect("an envelope always serialises: string keys, no floats");
        escape_sqs_noncharacters(json)
    }

    pub fn from_json(text: &str) -> Result<Self, EnvelopeError> {
        let wire: Wire<'_> = serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if wire.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(wire.version));
        }
        let body = match wire.body_encoding {
            BodyEncoding::Utf8 => wire.body.into_owned().into_bytes(),
            BodyEncoding::Base64 => STANDARD.decode(wire.body.as_bytes()).map_err(|_| EnvelopeError::BadBase64)?,
        };
        Ok(Envelope {
            source: wire.source.into_owned(),
            event_id: wire.event_id.into_owned(),
            scheme: wire.scheme.into_owned(),
            received_at: wire.received_at.into_owned(),
            content_type: wire.content_type.map(|c| c.into_owned()),
            headers: wire.headers.into_owned(),
            body,
        })
    }
}

fn encode_body(body: &[u8]) -> (BodyEncoding, std::borrow::Cow<'_, str>) {
    let base64_len = body.len().div_ceil(3) * 4;
    match std::str::from_utf8(body) {
        Ok(text) if sqs_accepts(text) && json_escaped_len(text) <= base64_len => (BodyEncoding::Utf8, text.into()),
        _ => (BodyEncoding::Base64, STANDARD.encode(body).into()),
    }
}

/// SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. JSON escapes every
/// control character, so what remains to exclude are the noncharacters U+FFFE and U+FFFF.
fn sqs_accepts(text: &str) -> bool {
    // Searching for a `char` looks for its last UTF-8 byte with memchr, which skips ahead a
    // word at a time; decoding every character of a large body was ~10x slower.
    !text.contains('\u{FFFE}') && !text.contains('\u{FFFF}')
}

/// serde_json writes U+FFFE and U+FFFF as they are, and SQS refuses a message holding them
/// (a forwarded header or any other field may carry them). Outside strings the JSON text is
/// ASCII, so each is inside a string, where its `\u` escape reads back as the same character.
fn escape_sqs_noncharacters(json: String) -> String {
    if sqs_accepts(&json) { json } else { json.replace('\u{FFFE}', "\\ufffe").replace('\u{FFFF}', "\\uffff") }
}

/// Length of `text` once serde_json has escaped it (without the quotes).
fn json_escaped_len(text: &str) -> usize {
    // Branch-free per byte and summed in u32 lanes (a chunk's total cannot overflow), so the
    // compiler vectorises it.
    text.as_bytes()
        .chunks(1 << 16)
        .map(|chunk| chunk.iter().map(|&b| json_escaped_width(b)).sum::<u32>() as usize)
        .sum()
}

/// Bytes serde_json writes for one input byte: `\"`, `\\` and the short control escapes take
/// two, other control characters six (`\u00XX`), everything else (UTF-8 included) one.
#[inline(always)]
fn json_escaped_width(b: u8) -> u32 {
    let short = (b == b'"') | (b == b'\\') | (b == b'\n') | (b == b'\r') | (b == b'\t') | (b == 0x08) | (b == 0x0c);
    let control = b < 0x20;
    1 + u32::from(short) + 5 * u32::from(control & !short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn envelope(body: Vec<u8>) -> Envelope {
        Envelope {
            source: "stripe".into(),
            event_id: "stripe:evt_1".into(),
            scheme: "stripe".into(),
            received_at: "2026-11-28T12:00:00.000Z".into(),
            content_type: Some("application/json".into()),
            headers: BTreeMap::from([("user-agent".into(), "Stripe/1.0".into())]),
            body,
        }
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

    #[test]
    fn escaped_length_matches_serde_json_for_every_ascii_byte() {
        for b in 0u8..0x80 {
            let text = char::from(b).to_string();
            let serialized = serde_json::to_string(&text).unwrap();
            assert_eq!(json_escaped_len(&text), serialized.len() - 2, "byte {b:#04x}");
        }
        let mixed = "a\"b\\c\nd\u{1}é€😀\u{FFFD}".repeat(50_000);
        assert_eq!(json_escaped_len(&mixed), serde_json::to_string(&mixed).unwrap().len() - 2);
        assert!(sqs_accepts(&mixed));
        assert!(!sqs_accepts(&format!("{mixed}\u{FFFE}")) && !sqs_accepts(&format!("\u{FFFF}{mixed}")));
    }

    #[test]
    fn rejects_unknown_versions_and_garbage() {
        let json = envelope(b"x".to_vec()).to_json().replace(r#""version":1"#, r#""version":2"#);
        assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::UnsupportedVersion(2)));
        assert!(matches!(Envelope::from_json("nope"), Err(EnvelopeError::Malformed(_))));
        let bad = envelope(vec![0xff]).to_json().replace(r#""body":""#, r#""body":"!"#);
        assert_eq!(Envelope::from_json(&bad), Err(EnvelopeError::BadBase64));
    }

    #[test]
    fn the_largest_worst_case_body_fits_one_sqs_message() {
        let mut e = envelope(vec![0xff; MAX_BODY_BYTES]);
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
            prop_assert_eq!(Envelope::from_json(&e.to_json()).unwrap(), e);
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
