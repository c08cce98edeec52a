//! Properties of the sources configuration parser: any input is refused or accepted without
//! a panic, valid documents keep every observable field, and errors never quote secrets.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::signature::{
    GenericHmacOptions, HmacAlgorithm, Scheme, SignatureEncoding, SigningKey, SquareOptions,
};
use hookline_domain::source::{ContentTypes, DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES_CEILING};
use hookline_domain::sources::{MAX_SECRETS_PER_SOURCE, MAX_TOLERANCE_SECONDS};
use hookline_domain::{ConfigError, SourcesConfig};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const FIELDS: &[&str] = &[
    "scheme",
    "secrets",
    "tolerance_seconds",
    "max_body_bytes",
    "content_types",
    "forward_headers",
    "header",
    "encoding",
    "prefix",
    "id_header",
];
const SCHEMES: &[&str] = &[
    "standard_webhooks",
    "stripe",
    "github",
    "shopify",
    "slack",
    "paddle",
    "zoom",
    "twitch",
    "linear",
    "gitlab",
    "square",
    "hmac_sha256",
    "hmac_sha1",
];

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(SCHEMES).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("[a-z_]{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values that are plausible for some field: the right type for one, the wrong for others.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(SCHEMES).prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::from),
        vec("[ -~]{0,12}", 0..4).prop_map(|v| json!(v)),
        vec(prop::sample::select(&["application/json", "*", "text/plain", "a/b;c", "", "x"][..]), 0..3)
            .prop_map(|v| json!(v)),
        any::<u64>().prop_map(Value::from),
        (0u64..5000u64).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any_json(),
    ]
}

/// Documents shaped like a sources configuration, with fields of any value.
fn document_like() -> impl Strategy<Value = Value> {
    let source = btree_map(prop::sample::select(FIELDS), field_value(), 0..8)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    btree_map("[a-z0-9_ A-Z-]{0,10}", source, 0..4)
        .prop_map(|sources| json!({ "sources": Value::Object(sources.into_iter().collect::<Map<_, _>>()) }))
}

/// A valid source: its JSON and what the parsed [`Source`] must hold.
#[derive(Debug, Clone)]
struct ValidSource {
    json: Value,
    scheme: Scheme,
    keys: Vec<SigningKey>,
    tolerance_seconds: u64,
    max_body_bytes: usize,
    content_types: Option<ContentTypes>,
    forward_headers: Vec<String>,
    id_header: Option<String>,
}

fn valid_source() -> impl Strategy<Value = ValidSource> {
    (
        prop::sample::select(SCHEMES),
        // At least the minimum lengths (24 bytes decoded for Standard Webhooks, 16 otherwise).
        vec(vec(any::<u8>(), 24..64), 1..=MAX_SECRETS_PER_SOURCE),
        vec("[!-~]{16,40}", 1..=MAX_SECRETS_PER_SOURCE),
        prop::option::of(1..=MAX_TOLERANCE_SECONDS),
        prop::option::of(1..=MAX_BODY_BYTES_CEILING),
        prop::option::of(prop_oneof![
            vec("[A-Za-z]{1,10}/[A-Za-z0-9.+-]{1,12}", 1..4),
            Just(vec!["*".to_owned()]),
            Just(vec!["application/json".to_owned(), "*".to_owned()]),
        ]),
        vec("[A-Za-z][A-Za-z0-9-]{0,20}", 0..4),
        ("[A-Za-z][A-Za-z0-9-]{0,20}", any::<bool>(), prop::option::of("[!-~]{0,8}")),
        prop::option::of("[A-Za-z][A-Za-z0-9-]{0,20}"),
    )
        .prop_map(
            |(scheme_name, raw_keys, text_secrets, tolerance, max_body, content_types, forward, generic, id_header)| {
                let mut json = json!({ "scheme": scheme_name });
                let (scheme, keys, secrets): (Scheme, Vec<SigningKey>, Vec<String>) = match scheme_name {
                    "standard_webhooks" => {
                        let secrets = raw_keys
                            .iter()
                            .enumerate()
                            .map(|(i, k)| format!("{}{}", if i % 2 == 0 { "whsec_" } else { "" }, STANDARD.encode(k)))
                            .collect();
                        (Scheme::StandardWebhooks, raw_keys.into_iter().map(SigningKey::from_bytes).collect(), secrets)
                    }
                    other => {
                        let scheme = match other {
                            "stripe" => Scheme::Stripe,
                            "github" => Scheme::GitHub,
                            "shopify" => Scheme::Shopify,
                            "slack" => Scheme::Slack,
                            "paddle" => Scheme::Paddle,
                            "zoom" => Scheme::Zoom,
                            "twitch" => Scheme::Twitch,
                            "linear" => Scheme::Linear,
                            "gitlab" => Scheme::GitLab,
                            "square" => {
                                let url = "https://hooks.example.com/webhooks/square";
                                json["notification_url"] = json!(url);
                                Scheme::Square(SquareOptions { notification_url: url.into() })
                            }
                            _ => {
                                let (header, base64, prefix) = &generic;
                                json["header"] = json!(header);
                                json["encoding"] = json!(if *base64 { "base64" } else { "hex" });
                                if let Some(prefix) = prefix {
                                    json["prefix"] = json!(prefix);
                                }
                                Scheme::Hmac(GenericHmacOptions {
                                    algorithm: if other == "hmac_sha1" {
                                        HmacAlgorithm::Sha1
                                    } else {
                                        HmacAlgorithm::Sha256
                                    },
                                    header: header.to_ascii_lowercase().parse().unwrap(),
                                    encoding: if *base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex },
                                    prefix: prefix.clone().filter(|p| !p.is_empty()),
                                })
                            }
                        };
                        let keys = text_secrets.iter().map(|s| SigningKey::from_bytes(s.as_bytes())).collect();
                        (scheme, keys, text_secrets)
                    }
                };
                json["secrets"] = json!(secrets);
                let tolerance = tolerance.filter(|_| scheme.is_timestamped());
                if let Some(t) = tolerance {
                    json["tolerance_seconds"] = json!(t);
                }
                if let Some(m) = max_body {
                    json["max_body_bytes"] = json!(m);
                }
                if let Some(list) = &content_types {
                    json["content_types"] = json!(list);
                }
                json["forward_headers"] = json!(forward);
                let id_header = id_header.filter(|_| matches!(scheme, Scheme::Hmac(_)));
                if let Some(h) = &id_header {
                    json["id_header"] = json!(h);
                }
                let tolerance_seconds = tolerance.unwrap_or(scheme.default_tolerance_seconds());
                ValidSource {
                    json,
                    scheme,
                    keys,
                    tolerance_seconds,
                    max_body_bytes: max_body.unwrap_or(DEFAULT_MAX_BODY_BYTES),
                    content_types: content_types.map(|list| {
                        if list.iter().any(|t| t == "*") {
                            ContentTypes::Any
                        } else {
                            ContentTypes::OneOf(list.iter().map(|t| t.to_ascii_lowercase()).collect())
                        }
                    }),
                    forward_headers: forward.iter().map(|h| h.to_ascii_lowercase()).collect(),
                    id_header: id_header.map(|h| h.to_ascii_lowercase()),
                }
            },
        )
}

fn source_name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,63}"
}

proptest! {
    /// Any bytes: a typed error or a configuration, never a panic. Syntax errors point into
    /// the document.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop_oneof![vec(any::<u8>(), 0..300), "\\PC{0,200}".prop_map(String::into_bytes)]) {
        if let Err(ConfigError::Syntax { line, .. }) = SourcesConfig::from_json(&bytes) {
            prop_assert!(line >= 1 || bytes.is_empty());
        }
    }

    /// Any JSON value at all, and at the top of the document.
    #[test]
    fn arbitrary_json_values_never_panic(value in any_json()) {
        let text = serde_json::to_vec(&value).unwrap();
        let parsed = SourcesConfig::from_json(&text);
        prop_assert!(!matches!(parsed, Err(ConfigError::Syntax { .. })), "{:?}", parsed);
        let wrapped = serde_json::to_vec(&json!({ "sources": value })).unwrap();
        let _ = SourcesConfig::from_json(&wrapped);
    }

    /// Documents of the right outline with fields of any value (right or wrong type, in or
    /// out of range, for the wrong scheme) never panic, and whatever is accepted has only
    /// valid names, at least one key per source, and limits within their bounds.
    #[test]
    fn document_shaped_json_never_panics(document in document_like()) {
        let text = serde_json::to_vec(&document).unwrap();
        if let Ok(config) = SourcesConfig::from_json(&text) {
            for source in config.iter() {
                prop_assert!(hookline_domain::source::SourceName::parse(source.name.as_str()).is_some());
                prop_assert!((1..=MAX_SECRETS_PER_SOURCE).contains(&source.keys.len()));
                prop_assert!((1..=MAX_TOLERANCE_SECONDS).contains(&source.tolerance_seconds));
                prop_assert!((1..=MAX_BODY_BYTES_CEILING).contains(&source.max_body_bytes));
                prop_assert!(source.keys.iter().all(|k| !k.as_bytes().is_empty()));
            }
        }
    }

    /// A generated valid document parses, and every observable field of every source is
    /// what the document said (defaults where it said nothing, header names lower-cased).
    #[test]
    fn valid_documents_round_trip(sources in btree_map(source_name(), valid_source(), 0..5)) {
        let document = json!({
            "sources": sources.iter().map(|(name, s)| (name.clone(), s.json.clone())).collect::<Map<_, _>>()
        });
        let config = SourcesConfig::from_json(&serde_json::to_vec(&document).unwrap());
        let config = match config {
            Ok(config) => config,
            Err(e) => return Err(TestCaseError::fail(format!("{e} for {document}"))),
        };
        prop_assert_eq!(config.len(), sources.len());
        for (name, expected) in &sources {
            let source = config.get(name).unwrap();
            prop_assert_eq!(source.name.as_str(), name.as_str());
            prop_assert_eq!(&source.scheme, &expected.scheme);
            prop_assert_eq!(&source.keys, &expected.keys);
            prop_assert_eq!(source.tolerance_seconds, expected.tolerance_seconds);
            prop_assert_eq!(source.max_body_bytes, expected.max_body_bytes);
            if let Some(content_types) = &expected.content_types {
                prop_assert_eq!(&source.content_types, content_types);
            }
            let forward: Vec<&str> = source.forward_headers.iter().map(|h| h.as_str()).collect();
            prop_assert_eq!(forward, expected.forward_headers.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(source.id_header.as_ref().map(|h| h.as_str()), expected.id_header.as_deref());
        }
    }

    /// One bad source rejects the whole document: an unknown field, an out-of-range limit or
    /// an invalid name, added to any valid document.
    #[test]
    fn one_bad_source_rejects_the_document(
        sources in btree_map(source_name(), valid_source(), 1..4),
        which in any::<prop::sample::Index>(),
        defect in 0..5u8,
        bad_name in "[A-Z ./]{1,5}|[a-z0-9_-]{65,70}",
        out_of_range in prop_oneof![Just(0u64), (MAX_TOLERANCE_SECONDS + 1)..u64::MAX],
    ) {
        let mut document = json!({
            "sources": sources.iter().map(|(name, s)| (name.clone(), s.json.clone())).collect::<Map<_, _>>()
        });
        let name = sources.keys().nth(which.index(sources.len())).unwrap().clone();
        let scheme = sources[&name].scheme.clone();
        let source = &mut document["sources"][&name];
        match defect {
            0 => source["typo"] = json!(1),
            1 => source["secrets"] = json!([]),
            2 => source["max_body_bytes"] = json!((MAX_BODY_BYTES_CEILING as u64).saturating_add(out_of_range.max(1))),
            3 if scheme.is_timestamped() => source["tolerance_seconds"] = json!(out_of_range),
            3 => source["tolerance_seconds"] = json!(1),
            _ => {
                let moved = source.clone();
                document["sources"][&bad_name] = moved;
            }
        }
        let result = SourcesConfig::from_json(&serde_json::to_vec(&document).unwrap());
        prop_assert!(result.is_err(), "{}", document);
    }

    /// Whatever a document gets wrong, the error never repeats a secret's value.
    #[test]
    fn errors_never_quote_secrets(
        secret in "[A-Za-z0-9]{12,24}",
        scheme in prop::sample::select(SCHEMES),
        placement in 0..6u8,
    ) {
        let marker = format!("hunter2{secret}");
        let source = match placement {
            // Not base64 for Standard Webhooks; fine elsewhere, so add a defect after it.
            0 => json!({ "scheme": scheme, "secrets": [format!("whsec_!{marker}")], "typo": true }),
            1 => json!({ "scheme": scheme, "secrets": marker }),
            2 => json!({ "scheme": scheme, "secrets": [marker, 5] }),
            3 => json!({ "scheme": scheme, "secrets": [marker], "tolerance_seconds": 0 }),
            4 => json!({ "scheme": "no_such_scheme", "secrets": [marker] }),
            _ => json!({ "scheme": scheme, "secrets": vec![marker.clone(); MAX_SECRETS_PER_SOURCE + 1] }),
        };
        let document = json!({ "sources": { "s": source } });
        let error = SourcesConfig::from_json(&serde_json::to_vec(&document).unwrap()).map(|_| ()).unwrap_err();
        let shown = format!("{error} {error:?}");
        prop_assert!(!shown.contains(&marker), "{}", shown);
    }
}
