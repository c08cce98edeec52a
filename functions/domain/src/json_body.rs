//! Reading a JSON body once: serde_json checks it (grammar, UTF-8, escapes, numbers, its
//! recursion limit) while a small visitor keeps the few top-level fields intake needs and the
//! deepest nesting.
//!
//! A body is JSON intake accepts exactly when `serde_json::from_slice::<serde_json::Value>`
//! reads it: the visitor asks serde_json for every value with `deserialize_any`, as `Value`
//! does, so strings are decoded and checked as UTF-8 (a `\u` escape of a lone surrogate is
//! refused), numbers must fit an `f64` (`1e400` is refused), and nesting stops at serde_json's
//! recursion limit. `tests/properties_json_body.rs` holds it to that oracle.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The deepest nesting of arrays and objects intake accepts.
///
/// This is serde_json's recursion limit, so whatever intake accepts a consumer parsing the
/// body with serde_json (into `Value` or any recursive type) can parse too. serde_json states
/// that limit as 128 but counts it down on every `[` or `{` and fails when it reaches zero:
/// the deepest it reads is 127. `tests::the_limit_is_the_deepest_nesting_serde_json_reads`
/// pins this to the serde_json in use.
pub const MAX_JSON_NESTING_DEPTH: usize = 127;

/// What intake keeps of a JSON body it accepts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonBody {
    /// The top-level object's `id`, `type`, `challenge`, `event_id` (Paddle's, Square's),
    /// `event` (Zoom's), `event_type` (Paddle's), `object` (Meta's) and `object_kind`
    /// (GitLab's), each when it is a string that appears once: a field given twice is not used (JSON
    /// parsers disagree on which of the two wins, so neither is trusted as an event id).
    pub id: Option<String>,
    pub kind: Option<String>,
    pub challenge: Option<String>,
    pub event_id: Option<String>,
    pub event: Option<String>,
    pub event_type: Option<String>,
    pub object: Option<String>,
    pub object_kind: Option<String>,
    /// The deepest nesting of arrays and objects: 0 for a lone scalar.
    pub depth: usize,
}

impl JsonBody {
    /// `None` when `body` is not JSON intake accepts (see the module documentation).
    pub fn read(body: &[u8]) -> Option<JsonBody> {
        Self::read_from(serde_json::Deserializer::from_slice(body))
    }

    /// [`JsonBody::read`] of a body known to be UTF-8: serde_json then checks no string's
    /// UTF-8 again (about a tenth of the read on a body of short strings).
    pub fn read_text(body: &str) -> Option<JsonBody> {
        Self::read_from(serde_json::Deserializer::from_str(body))
    }

    fn read_from<'de, R: serde_json::de::Read<'de>>(mut deserializer: serde_json::Deserializer<R>) -> Option<JsonBody> {
        let mut read = JsonBody::default();
        read.depth =
            Walk { level: 0, keep_text: false, fields: Some(&mut read) }.deserialize(&mut deserializer).ok()?.depth;
        deserializer.end().ok()?;
        Some(read)
    }

    /// Whether `body` is JSON intake accepts.
    pub fn is_valid(body: &[u8]) -> bool {
        Self::read(body).is_some()
    }

    /// Slack's `url_verification` handshake: the challenge to answer with.
    pub fn slack_challenge(&self) -> Option<&str> {
        (self.kind.as_deref() == Some("url_verification")).then_some(self.challenge.as_deref()).flatten()
    }
}

/// One value inside `level` open arrays and objects, checked and dropped. It is asked for with
/// `deserialize_any`, as `serde_json::Value` asks, which is what makes serde_json decode and
/// check every string (`IgnoredAny` would skip them unchecked). It gives the deepest nesting it
/// reaches, and its text when it is a string and `keep_text` is set. At the top (`fields` is
/// `Some`), an object's `id`, `type` and `challenge` are kept there.
struct Walk<'r> {
    level: usize,
    keep_text: bool,
    fields: Option<&'r mut JsonBody>,
}

/// What a [`Walk`] saw.
struct Walked {
    depth: usize,
    text: Option<String>,
}

impl Walk<'_> {
    fn nested(level: usize) -> Walk<'static> {
        Walk { level, keep_text: false, fields: None }
    }

    fn scalar<E>(self) -> Result<Walked, E> {
        Ok(Walked { depth: self.level, text: None })
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Walked;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Walked, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Walked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walked, E> {
        self.scalar()
    }

    fn visit_i64<E>(self, _: i64) -> Result<Walked, E> {
        self.scalar()
    }

    fn visit_u64<E>(self, _: u64) -> Result<Walked, E> {
        self.scalar()
    }

    fn visit_f64<E>(self, _: f64) -> Result<Walked, E> {
        self.scalar()
    }

    fn visit_unit<E>(self) -> Result<Walked, E> {
        self.scalar()
    }

    fn visit_str<E>(self, text: &str) -> Result<Walked, E> {
        Ok(Walked { depth: self.level, text: self.keep_text.then(|| text.to_owned()) })
    }

    fn visit_string<E>(self, text: String) -> Result<Walked, E> {
        Ok(Walked { depth: self.level, text: self.keep_text.then_some(text) })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Walked, A::Error> {
        let inner = self.level + 1;
        let mut deepest = inner;
        while let Some(walked) = seq.next_element_seed(Walk::nested(inner))? {
            deepest = deepest.max(walked.depth);
        }
        Ok(Walked { depth: deepest, text: None })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walked, A::Error> {
        let inner = self.level + 1;
        let mut deepest = inner;
        let Some(out) = self.fields else {
            // serde_json reads every key as a string, checked, whatever the key's visitor asks.
            while map.next_key::<IgnoredAny>()?.is_some() {
                deepest = deepest.max(map.next_value_seed(Walk::nested(inner))?.depth);
            }
            return Ok(Walked { depth: deepest, text: None });
        };
        // Each field: not seen, seen once with its string value (if a string), or repeated.
        let mut fields: [Seen; FIELDS.len()] = Default::default();
        while let Some(Key(slot)) = map.next_key::<Key>()? {
            let walked = map.next_value_seed(Walk { level: inner, keep_text: slot.is_some(), fields: None })?;
            deepest = deepest.max(walked.depth);
            if let Some(slot) = slot {
                fields[slot] = match fields[slot] {
                    Seen::Not => Seen::Once(walked.text),
                    _ => Seen::Repeated,
                };
            }
        }
        let [id, kind, challenge, event_id, event, event_type, object, object_kind] = fields.map(Seen::into_once);
        *out = JsonBody { id, kind, challenge, event_id, event, event_type, object, object_kind, depth: 0 };
        Ok(Walked { depth: deepest, text: None })
    }
}

#[derive(Default)]
enum Seen {
    #[default]
    Not,
    Once(Option<String>),
    Repeated,
}

impl Seen {
    fn into_once(self) -> Option<String> {
        match self {
            Seen::Once(text) => text,
            Seen::Not | Seen::Repeated => None,
        }
    }
}

/// The fields intake keeps, by their JSON names, in [`JsonBody`]'s order.
const FIELDS: [&str; 8] = ["id", "type", "challenge", "event_id", "event", "event_type", "object", "object_kind"];

/// A top-level key, decoded: which of [`FIELDS`] it is, if any.
struct Key(Option<usize>);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(Key(FIELDS.iter().position(|field| *field == key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Vec<u8> {
        format!("{}1{}", r#"{"a":["#.repeat(depth / 2), "]}".repeat(depth / 2)).into_bytes()
    }

    #[test]
    fn the_limit_is_the_deepest_nesting_serde_json_reads() {
        let arrays = |depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
        for body in [arrays(MAX_JSON_NESTING_DEPTH), nested(MAX_JSON_NESTING_DEPTH - 1)] {
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
            assert!(JsonBody::is_valid(&body));
        }
        assert_eq!(JsonBody::read(&arrays(MAX_JSON_NESTING_DEPTH)).unwrap().depth, MAX_JSON_NESTING_DEPTH);
        for body in [arrays(MAX_JSON_NESTING_DEPTH + 1), nested(MAX_JSON_NESTING_DEPTH + 1)] {
            let error = serde_json::from_slice::<serde_json::Value>(&body).unwrap_err();
            assert!(error.to_string().contains("recursion limit exceeded"), "{error}");
            assert!(!JsonBody::is_valid(&body));
        }
    }

    #[test]
    fn depth_is_the_most_open_at_once() {
        let depth = |text: &str| JsonBody::read(text.as_bytes()).map(|read| read.depth);
        assert_eq!(depth("1"), Some(0));
        assert_eq!(depth(r#""[[[""#), Some(0));
        assert_eq!(depth("[]"), Some(1));
        assert_eq!(depth("{}"), Some(1));
        assert_eq!(depth(r#"[[1],{"a":[[]]},[]]"#), Some(4));
        assert_eq!(depth(r#"{"a":{},"b":[[{}]]}"#), Some(4));
        assert_eq!(depth(r#"{"id":[[]],"type":"x"}"#), Some(3));
        assert_eq!(depth(&format!("[{}[]]", "[[]],".repeat(1000))), Some(3));
        // The text's nesting, repeated keys included: what a reader of the text recurses through.
        assert_eq!(depth(r#"{"a":[[1]],"a":1}"#), Some(3));
    }

    #[test]
    fn keeps_top_level_strings_given_once() {
        let read = |text: &str| JsonBody::read(text.as_bytes()).unwrap();
        let body = read(r#" { "id" : "evt_1", "data": {"id": 2, "type": "inner"}, "\u0074ype":"a.b" , "n":-1.5e3 } "#);
        assert_eq!((body.id.as_deref(), body.kind.as_deref(), body.challenge), (Some("evt_1"), Some("a.b"), None));
        assert_eq!(read(r#"{"id":1,"type":["x"],"challenge":null}"#), JsonBody { depth: 2, ..JsonBody::default() });
        let twice = read(r#"{"id":"a","type":"url_verification","challenge":"c","id":"b"}"#);
        assert_eq!((twice.id.as_deref(), twice.slack_challenge()), (None, Some("c")));
        assert_eq!(read(r#"[{"id":"evt_1"}]"#).id, None);
        let paddle = read(r#"{"data":{"event_id":"inner"},"event_id":"evt_01hs","event_type":"customer.created"}"#);
        assert_eq!(paddle.event_id.as_deref(), Some("evt_01hs"));
        assert_eq!(paddle.event_type.as_deref(), Some("customer.created"));
        assert_eq!(read(r#"{"object":"page","entry":[{"object":"inner"}]}"#).object.as_deref(), Some("page"));
        assert_eq!(read(r#"{"object_kind":"merge_request"}"#).object_kind.as_deref(), Some("merge_request"));
        assert_eq!(read(r#"{"event_id":"a","event_id":"b"}"#).event_id, None);
        assert_eq!(read(r#"{"type":"url_verification","challenge":"c"}"#).slack_challenge(), Some("c"));
        assert_eq!(read(r#"{"type":"event_callback","challenge":"c"}"#).slack_challenge(), None);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let cases: &[&[u8]] = &[
            b"{}",
            b"-0",
            b"01",
            b"1.",
            b"1e400",
            b"-1e400",
            b"123456789012345678901234567890",
            b"[1,]",
            b"{\"a\":1,}",
            b"{1:1}",
            b"\"\\ud800\"",
            b"{\"\\udc00\":1}",
            b"\"\\ud83d\\ude00\"",
            b"\"\\u12G4\"",
            b"\"a\x01\"",
            b"\"\xc3\xa9\"",
            b"\"\xc3\"",
            b"{\"a\":\"\xed\xa0\x80\"}",
            b"{\"\xff\":1}",
            b"{\"a\":{\"\xff\":1}}",
            b"{\"a\":{\"\\ud800\":1}}",
            b"\xef\xbb\xbf{}",
            b"{} {}",
            b"",
            b"nul",
        ];
        for &body in cases {
            let oracle = serde_json::from_slice::<serde_json::Value>(body).is_ok();
            assert_eq!(JsonBody::is_valid(body), oracle, "{:?}", String::from_utf8_lossy(body));
        }
        assert!(!JsonBody::is_valid(b"1e400"), "stricter than IgnoredAny: a number must fit an f64");
        assert!(!JsonBody::is_valid(b"\"\\ud800\""), "stricter than IgnoredAny: no lone surrogates");
    }
}
