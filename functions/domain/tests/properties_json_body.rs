//! `JsonBody::read` accepts exactly what `serde_json::from_slice::<Value>` reads, and keeps
//! what that `Value` holds: the top-level `id`, `type` and `challenge` strings and the
//! deepest nesting.

use hookline_domain::json_body::{JsonBody, MAX_JSON_NESTING_DEPTH};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

fn serde_json_accepts(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok()
}

/// Whether the body reads, and reads the same as bytes and (where it is UTF-8) as text.
fn is_valid(body: &[u8]) -> bool {
    let read = JsonBody::read(body);
    if let Ok(text) = std::str::from_utf8(body) {
        assert_eq!(JsonBody::read_text(text), read, "{text:?}");
    }
    read.is_some()
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Bytes from JSON's alphabet and the places it is strict: structure, escapes, number
/// parts, literals and their prefixes, whitespace JSON has and some it has not, control
/// characters, UTF-8 and bytes that are not.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"",
        b"\"",
        b"\"a\"",
        b"\\",
        b"\\\"",
        b"\\\\",
        b"\\/",
        b"\\n",
        b"\\u00e9",
        b"\\ud800",
        b"\\u12",
        b"\\x",
        b"0",
        b"1",
        b"9",
        b"-",
        b"+",
        b".",
        b"e",
        b"E",
        b"true",
        b"false",
        b"null",
        b"tru",
        b"nul",
        b" ",
        b"\n",
        b"\t",
        b"\r",
        b"\x0c",
        b"\x00",
        b"\x1f",
        b"\x7f",
        b"\xc3\xa9",
        b"\xe2\x82\xac",
        b"\xf0\x9f\x98\x80",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xef\xbf\xbf",
        b"\xff",
        b"abcdefghij",
    ]);
    vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

/// An object key: often one of the fields intake keeps.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(vec!["id", "type", "challenge"]).prop_map(String::from), "\\PC{0,6}"]
}

/// A JSON value: compact or pretty, with strings holding anything.
fn json_value() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6).prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    });
    (value, any::<bool>()).prop_map(|(value, pretty)| {
        if pretty { serde_json::to_vec_pretty(&value).unwrap() } else { serde_json::to_vec(&value).unwrap() }
    })
}

/// A JSON value with a few bytes replaced, inserted or removed.
fn mutated_value() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<u8>(), prop::sample::select(&b"{}[],:\"\\ 0-.eu\n"[..]));
    (json_value(), vec(edit, 1..4)).prop_map(|(mut body, edits)| {
        for (index, kind, any_byte, json_byte) in edits {
            let at = index.index(body.len() + 1);
            let byte = if any_byte % 4 == 0 { any_byte } else { json_byte };
            match kind {
                0 if at < body.len() => body[at] = byte,
                1 => body.insert(at, byte),
                _ if at < body.len() => {
                    body.remove(at);
                }
                _ => {}
            }
        }
        body
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn agrees_with_serde_json_on_jsonish_bytes(body in jsonish()) {
        prop_assert_eq!(is_valid(&body), serde_json_accepts(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    /// Generated objects have no repeated keys, so each field is the `Value`'s.
    #[test]
    fn reads_every_json_value_as_serde_json_does(body in json_value(), field in prop::sample::select(vec!["id", "type", "challenge"])) {
        let value: Value = serde_json::from_slice(&body).unwrap();
        let read = JsonBody::read(&body);
        prop_assert!(read.is_some(), "{:?}", String::from_utf8_lossy(&body));
        let read = read.unwrap();
        prop_assert_eq!(read.depth, depth(&value));
        let kept = match field { "id" => &read.id, "type" => &read.kind, _ => &read.challenge };
        prop_assert_eq!(kept.as_deref(), value.get(field).and_then(Value::as_str));
    }

    /// A body with the three fields as strings at the top level, among others.
    #[test]
    fn keeps_the_top_level_fields(id in "\\PC{0,12}", kind in "\\PC{0,12}", rest in json_value()) {
        let rest: Value = serde_json::from_slice(&rest).unwrap();
        let body = serde_json::json!({"data": {"id": "inner"}, "id": id, "rest": rest, "type": kind, "challenge": 7});
        let read = JsonBody::read(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!((read.id, read.kind, read.challenge), (Some(id), Some(kind), None));
    }

    #[test]
    fn agrees_with_serde_json_on_mutated_values(body in mutated_value()) {
        prop_assert_eq!(is_valid(&body), serde_json_accepts(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn agrees_with_serde_json_on_any_bytes(body in vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(is_valid(&body), serde_json_accepts(&body));
    }

    /// Nesting around the limit, of arrays and objects mixed, with and without a value inside.
    #[test]
    fn agrees_with_serde_json_on_nesting_around_the_limit(
        opens in vec(any::<bool>(), MAX_JSON_NESTING_DEPTH - 2..MAX_JSON_NESTING_DEPTH + 3),
        inner in prop::sample::select(vec!["", "1", "\"[{\"", "[]", "{}"]),
    ) {
        let mut body = String::new();
        for &object in &opens {
            body.push_str(if object { "{\"k\":" } else { "[" });
        }
        body.push_str(if inner.is_empty() { "0" } else { inner });
        for &object in opens.iter().rev() {
            body.push(if object { '}' } else { ']' });
        }
        prop_assert_eq!(is_valid(body.as_bytes()), serde_json_accepts(body.as_bytes()), "{}", body);
        prop_assert_eq!(is_valid(body.as_bytes()), serde_json::from_str::<Value>(&body).is_ok());
    }
}
