//! The one-pass probe against the code it replaced, kept here as the reference: a full
//! serde_json parse into a derived struct, after the UTF-8 and nesting checks, and a second
//! parse with `IgnoredAny` on a data error.

use proptest::prelude::*;
use serde::Deserialize;

use super::*;
use crate::json_limits;

#[derive(Default, Deserialize)]
struct ReferenceProbe {
    #[serde(default, deserialize_with = "string_or_none")]
    id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "string_or_none")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "string_or_none")]
    challenge: Option<String>,
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

fn reference_read(body: &[u8]) -> Option<JsonProbe> {
    if !json_limits::within_limits(body) {
        return None;
    }
    let ignored = || serde_json::from_slice::<serde::de::IgnoredAny>(body).ok().map(|_| JsonProbe::default());
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return ignored();
    }
    match serde_json::from_slice::<ReferenceProbe>(body) {
        Ok(p) => Some(JsonProbe { id: p.id, kind: p.kind, challenge: p.challenge }),
        Err(e) if e.is_data() => ignored(),
        Err(_) => None,
    }
}

fn assert_agrees(body: &[u8]) {
    assert_eq!(JsonProbe::read(body), reference_read(body), "{:?}", String::from_utf8_lossy(body));
}

#[test]
fn reads_the_fields_as_the_reference_does() {
    let cases: &[&[u8]] = &[
        br#"{"id":"evt_1","type":"t","challenge":"c"}"#,
        br#"{"id":42,"type":null,"challenge":["c"]}"#,
        br#"{"\u0069d":"escaped key","ty\u0070e":"\u00e9\ud83d\ude00"}"#,
        br#"{"id":"a","id":"b"}"#,
        br#"{"id":"a","x":1,"id":1e400}"#,
        br#"{"id":1e400}"#,
        br#"{"x":1e400}"#,
        br#"{"id":"a","id":"b","type":1e400}"#,
        br#"{"type":1e400,"id":"a","id":"b"}"#,
        br#"{"id":"\ud800"}"#,
        br#"{"x":"\ud800"}"#,
        br#"{"\ud800":1}"#,
        br#"{"id":"a","id":"b","\ud800":1}"#,
        br#"{"x":{"\ud800":1}}"#,
        br#"{"id":{"\ud800":1}}"#,
        br#"{"id":["\udc00"]}"#,
        br#"{"id":"\ud800\u0041"}"#,
        br#"{"id":"\ud83d\ude00"}"#,
        br#"{"id":null,"id":null}"#,
        br#"{"id":"a","id":"b"} x"#,
        br#"{"id":"a"} x"#,
        br#"["id","evt"]"#,
        br#"  {"challenge":"c","type":"url_verification"}  "#,
        br#"{"data":{"id":"nested"}}"#,
        br#"{"id":"a",}"#,
        b"{\"id\":\"a\x01\"}",
        b"\x0c{\"id\":\"a\"}",
        b"{\"id\":\"\xff\"}",
        b"{\"id\":-0.0e-0}",
        b"{\"id\":123456789012345678901234567890}",
        b"{\"id\":1.7976931348623157e308,\"type\":1.8e308}",
    ];
    for &body in cases {
        assert_agrees(body);
    }
}

/// JSON-ish text: the structural bytes, escapes, the field names and values that stress the
/// probe's quirks, whitespace and the odd invalid byte.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b" ",
        b"\n",
        b"\"",
        b"\\",
        b"\"id\"",
        b"\"type\"",
        b"\"challenge\"",
        b"\"\\u0069d\"",
        b"\"x\"",
        b"\"evt_1\"",
        b"\"url_verification\"",
        b"\\u",
        b"\\ud800",
        b"\\udc00",
        b"\\ud83d\\ude00",
        b"d800",
        b"00e9",
        b"1",
        b"0",
        b"-",
        b".",
        b"e",
        b"1e400",
        b"true",
        b"null",
        b"fals",
        b"\xc3\xa9",
        b"\xff",
        b"\x01",
        b"\t",
    ]);
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// A valid JSON value as text, compact or pretty, with the probe's fields frequent.
fn json_document() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("(id|type|challenge|[a-z]{1,4})", inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    });
    (value, any::<bool>()).prop_map(|(value, pretty)| {
        if pretty { serde_json::to_vec_pretty(&value).unwrap() } else { serde_json::to_vec(&value).unwrap() }
    })
}

/// JSON text built from pieces where serde_json's readings differ: repeated and escaped
/// keys, numbers past `f64`, lone surrogate escapes, at the top level and nested. Mostly
/// valid JSON grammar; which of it intake accepts is the question.
fn quirky_document() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop::sample::select(vec![
        "null",
        "true",
        "1",
        "-0.5e3",
        "1e400",
        "-1e400",
        "0e999999",
        "123456789012345678901234567890",
        r#""evt_1""#,
        r#""url_verification""#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud83d\ude00""#,
        r#""\ud800\u0041""#,
        r#""\u00e9""#,
        r#""é""#,
        r#""\\\"""#,
        r#""\/""#,
        r#""""#,
    ])
    .prop_map(str::to_owned);
    let key = prop::sample::select(vec![
        r#""id""#,
        r#""type""#,
        r#""challenge""#,
        r#""\u0069d""#,
        r#""typ\u0065""#,
        r#""\ud800""#,
        r#""x""#,
        r#""é""#,
    ]);
    let space = prop::sample::select(vec!["", " ", "\n  "]);
    let object = move |value: BoxedStrategy<String>| {
        (prop::collection::vec((key.clone(), value), 0..5), space.clone()).prop_map(|(members, space)| {
            let members: Vec<String> = members.iter().map(|(k, v)| format!("{k}:{space}{v}")).collect();
            format!("{{{space}{}{space}}}", members.join(&format!(",{space}")))
        })
    };
    let nested_object = object.clone();
    let value = leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            nested_object(inner),
        ]
    });
    prop_oneof![1 => value.clone(), 3 => object(value.boxed())].prop_map(String::into_bytes)
}

/// A valid document with a few bytes replaced, inserted or removed, or a member repeated.
fn mutated_document() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..4, prop::sample::select(&b"{}[],:\"\\ 01e-.\xc3\xa9\xffu"[..]));
    (json_document(), prop::collection::vec(edit, 1..4)).prop_map(|(mut body, edits)| {
        for (index, kind, byte) in edits {
            let at = index.index(body.len() + 1);
            match kind {
                0 if at < body.len() => body[at] = byte,
                1 => body.insert(at, byte),
                2 if at < body.len() => {
                    body.remove(at);
                }
                _ => {
                    // Repeat the text from `at` to the next comma: often a whole member.
                    let end = body[at..].iter().position(|&b| b == b',').map_or(body.len(), |p| at + p + 1);
                    let copy = body[at..end].to_vec();
                    body.splice(at..at, copy);
                }
            }
        }
        body
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_the_reference_on_jsonish_bytes(body in jsonish()) {
        prop_assert_eq!(JsonProbe::read(&body), reference_read(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn agrees_with_the_reference_on_json_documents(body in json_document()) {
        prop_assert!(JsonProbe::read(&body).is_some());
        prop_assert_eq!(JsonProbe::read(&body), reference_read(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn agrees_with_the_reference_on_quirky_documents(body in quirky_document()) {
        prop_assert_eq!(JsonProbe::read(&body), reference_read(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn agrees_with_the_reference_on_mutated_documents(body in mutated_document()) {
        prop_assert_eq!(JsonProbe::read(&body), reference_read(&body), "{:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn agrees_with_the_reference_on_any_bytes(body in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(JsonProbe::read(&body), reference_read(&body));
    }
}
