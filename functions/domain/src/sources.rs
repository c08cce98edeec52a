//! The sources configuration document: which senders exist and how each one signs.
//!
//! The document is JSON (stored in AWS Secrets Manager, see the README):
//! `{"sources": {"<name>": {"scheme": "...", "secrets": ["..."], ...}}}`. It is validated
//! as a whole: one bad source rejects the document, so a typo never half-applies.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::destination::Destinations;
use crate::signature::{
    GenericHmacOptions, HmacAlgorithm, MetaOptions, Scheme, SignatureEncoding, SigningKey, SquareOptions, UrlOptions,
};
use crate::source::{ContentTypes, DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES_CEILING, Source, SourceName};

/// Most live secrets one source may have (rotation keeps two or three live).
pub const MAX_SECRETS_PER_SOURCE: usize = 10;
/// Largest timestamp tolerance a source may configure.
pub const MAX_TOLERANCE_SECONDS: u64 = 3600;
/// Shortest secret any source may have: below 128 bits, a guessed secret is within reach.
pub const MIN_SECRET_BYTES: usize = 16;
/// Standard Webhooks' own minimum for a `whsec_` secret, decoded (its specification: 24 to 64
/// bytes).
pub const MIN_STANDARD_WEBHOOKS_SECRET_BYTES: usize = 24;

/// The shortest secret `scheme` accepts, and how its length is counted.
fn minimum_secret(scheme: &Scheme) -> (usize, &'static str) {
    match scheme {
        Scheme::StandardWebhooks => (MIN_STANDARD_WEBHOOKS_SECRET_BYTES, " once base64-decoded"),
        _ => (MIN_SECRET_BYTES, ""),
    }
}

/// A validated sources configuration.
#[derive(Debug, Clone, Default)]
pub struct SourcesConfig {
    sources: BTreeMap<String, Source>,
}

/// Why a configuration document was refused. Messages name the source and the field, never
/// a secret's value: serde's own messages can quote input, so they are not passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("sources configuration is not valid JSON (line {line}, column {column})")]
    Syntax { line: usize, column: usize },
    #[error(
        "sources configuration does not have the expected shape (line {line}, column {column}): \
         unknown field, missing field or wrong type"
    )]
    Shape { line: usize, column: usize },
    #[error("source name {0:?} is invalid: use 1-64 lower-case letters, digits, '-' or '_'")]
    InvalidSourceName(String),
    #[error("source {source_name}: {problem}")]
    InvalidSource { source_name: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    sources: BTreeMap<String, RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    scheme: String,
    secrets: Vec<String>,
    tolerance_seconds: Option<u64>,
    max_body_bytes: Option<usize>,
    content_types: Option<Vec<String>>,
    #[serde(default)]
    forward_headers: Vec<String>,
    /// Square's signed notification URL.
    notification_url: Option<String>,
    /// Meta's verify token (the GET endpoint check).
    verify_token: Option<String>,
    /// The URL Twilio or HubSpot was given (they sign the URL).
    public_url: Option<String>,
    // Options of the generic `hmac_sha256` and `hmac_sha1` schemes.
    header: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    id_header: Option<String>,
    /// For schemes whose delivery id is unsigned: deduplicate on the body's hash (default).
    dedupe_by_body: Option<bool>,
    /// Where the source's events go: `"events_table"` (the default), `"eventbridge"`, or a list.
    destination: Option<crate::destination::DestinationConfig>,
}

impl SourcesConfig {
    /// Parses and validates a configuration document.
    pub fn from_json(document: &[u8]) -> Result<Self, ConfigError> {
        let raw: RawDocument = serde_json::from_slice(document).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            // serde_json reports an array with more elements than the struct has fields as
            // trailing characters, a syntax error, although the document is valid JSON.
            let valid_json = e.is_data() || serde_json::from_slice::<serde::de::IgnoredAny>(document).is_ok();
            if valid_json { ConfigError::Shape { line, column } } else { ConfigError::Syntax { line, column } }
        })?;
        let mut sources = BTreeMap::new();
        for (name, raw_source) in raw.sources {
            let source_name = SourceName::parse(&name).ok_or_else(|| ConfigError::InvalidSourceName(name.clone()))?;
            let source = build_source(source_name, raw_source)
                .map_err(|problem| ConfigError::InvalidSource { source_name: name.clone(), problem })?;
            sources.insert(name, source);
        }
        Ok(SourcesConfig { sources })
    }

    /// Builds a configuration from already-validated sources (tests, benchmarks).
    pub fn from_sources(sources: impl IntoIterator<Item = Source>) -> Self {
        SourcesConfig { sources: sources.into_iter().map(|s| (s.name.as_str().to_owned(), s)).collect() }
    }

    pub fn get(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }
}

fn build_source(name: SourceName, raw: RawSource) -> Result<Source, String> {
    let scheme = parse_scheme(&raw)?;
    if !matches!(scheme, Scheme::Hmac(_)) {
        for (field, value) in [
            ("header", &raw.header),
            ("encoding", &raw.encoding),
            ("prefix", &raw.prefix),
            ("id_header", &raw.id_header),
        ] {
            if value.is_some() {
                return Err(format!("`{field}` only applies to the hmac_sha256 and hmac_sha1 schemes"));
            }
        }
    }
    if raw.secrets.is_empty() {
        return Err("`secrets` must hold at least one secret".into());
    }
    if raw.secrets.len() > MAX_SECRETS_PER_SOURCE {
        return Err(format!("`secrets` holds more than {MAX_SECRETS_PER_SOURCE} secrets"));
    }
    let (minimum, counted) = minimum_secret(&scheme);
    let keys = raw
        .secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            let key = SigningKey::from_config(&scheme, secret).map_err(|e| format!("secret #{i}: {e}"))?;
            if key.is_secret() && key.as_bytes().len() < minimum {
                return Err(format!(
                    "secret #{i} is shorter than {minimum} bytes{counted}: use a longer random secret"
                ));
            }
            Ok(key)
        })
        .collect::<Result<Vec<_>, _>>()?;

    if raw.notification_url.is_some() && !matches!(scheme, Scheme::Square(_)) {
        return Err("`notification_url` only applies to the square scheme".into());
    }
    if raw.verify_token.is_some() && !matches!(scheme, Scheme::Meta(_)) {
        return Err("`verify_token` only applies to the meta scheme".into());
    }
    if raw.public_url.is_some() && !matches!(scheme, Scheme::Twilio(_) | Scheme::HubSpotV3(_)) {
        return Err("`public_url` only applies to the twilio and hubspot_v3 schemes".into());
    }
    let tolerance_seconds = raw.tolerance_seconds.unwrap_or(scheme.default_tolerance_seconds());
    if raw.tolerance_seconds.is_some() && !scheme.is_timestamped() {
        return Err(format!("`tolerance_seconds` does not apply to the {} scheme", scheme.name()));
    }
    if tolerance_seconds == 0 || tolerance_seconds > MAX_TOLERANCE_SECONDS {
        return Err(format!("`tolerance_seconds` must be 1..={MAX_TOLERANCE_SECONDS}"));
    }

    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if max_body_bytes == 0 || max_body_bytes > MAX_BODY_BYTES_CEILING {
        return Err(format!(
            "`max_body_bytes` must be 1..={MAX_BODY_BYTES_CEILING}: the most one Lambda invocation can carry"
        ));
    }

    let content_types = match raw.content_types {
        None => Source::default_content_types(&scheme),
        Some(list) if list.iter().any(|t| t == "*") => ContentTypes::Any,
        Some(list) if list.is_empty() => return Err("`content_types` is empty".into()),
        Some(list) => ContentTypes::OneOf(
            list.into_iter()
                .map(|t| {
                    let valid = t.split('/').count() == 2 && t.bytes().all(|b| b.is_ascii_graphic() && b != b';');
                    valid
                        .then(|| t.to_ascii_lowercase())
                        .ok_or_else(|| format!("`content_types` entry {t:?} is not a media type like application/json"))
                })
                .collect::<Result<_, _>>()?,
        ),
    };

    let forward_headers =
        raw.forward_headers.iter().map(|h| parse_header_name("forward_headers", h)).collect::<Result<_, _>>()?;
    let id_header = raw.id_header.as_deref().map(|h| parse_header_name("id_header", h)).transpose()?;
    if raw.dedupe_by_body.is_some() && id_header.is_none() && scheme.unsigned_id_header().is_none() {
        return Err(format!(
            "`dedupe_by_body` only applies to a scheme whose delivery id header is unsigned (github, shopify, linear, \
             gitlab, twilio, or a generic scheme with `id_header`), not to {}",
            scheme.name()
        ));
    }

    let destinations = match &raw.destination {
        None => Destinations::default(),
        Some(config) => Destinations::from_config(config)?,
    };
    let scheme_dedupes_by_body = scheme.dedupes_by_body_by_default();
    Ok(Source {
        name,
        scheme,
        keys,
        tolerance_seconds,
        max_body_bytes,
        content_types,
        forward_headers,
        id_header,
        dedupe_by_body: raw.dedupe_by_body.unwrap_or(scheme_dedupes_by_body),
        destinations,
    })
}

fn parse_scheme(raw: &RawSource) -> Result<Scheme, String> {
    Ok(match raw.scheme.as_str() {
        "standard_webhooks" => Scheme::StandardWebhooks,
        "stripe" => Scheme::Stripe,
        "github" => Scheme::GitHub,
        "shopify" => Scheme::Shopify,
        "slack" => Scheme::Slack,
        "paddle" => Scheme::Paddle,
        "zoom" => Scheme::Zoom,
        "twitch" => Scheme::Twitch,
        "linear" => Scheme::Linear,
        "gitlab" => Scheme::GitLab,
        "meta" => {
            let token = raw.verify_token.as_deref().filter(|t| !t.is_empty());
            let token = token.ok_or("the meta scheme needs `verify_token`, the app's webhook verify token")?;
            Scheme::Meta(MetaOptions { verify_token: SigningKey::from_bytes(token.as_bytes()) })
        }
        "discord" => Scheme::Discord,
        "sendgrid" => Scheme::SendGrid,
        "square" => {
            let url = raw.notification_url.as_deref().ok_or("the square scheme needs `notification_url`")?;
            // The URL is signed byte for byte, so it must be exactly what Square was given.
            if !url.starts_with("https://") || !url.bytes().all(|b| b.is_ascii_graphic()) {
                return Err("`notification_url` must be the https:// URL configured at Square".into());
            }
            Scheme::Square(SquareOptions { notification_url: url.to_owned() })
        }
        "twilio" => Scheme::Twilio(UrlOptions { public_url: public_url(raw, "twilio")? }),
        "hubspot_v3" => Scheme::HubSpotV3(UrlOptions { public_url: public_url(raw, "hubspot_v3")? }),
        "mailgun" => Scheme::Mailgun,
        generic @ ("hmac_sha256" | "hmac_sha1") => {
            let algorithm = if generic == "hmac_sha1" { HmacAlgorithm::Sha1 } else { HmacAlgorithm::Sha256 };
            let header =
                raw.header.as_deref().ok_or_else(|| format!("the {generic} scheme needs `header`")).and_then(|h| {
                    parse_header_name("header", h).map_err(|_| "`header` is not a valid header name".to_owned())
                })?;
            let encoding = match raw.encoding.as_deref().unwrap_or("hex") {
                "hex" => SignatureEncoding::Hex,
                "base64" => SignatureEncoding::Base64,
                other => return Err(format!("`encoding` {other:?} is not hex or base64")),
            };
            let prefix = raw.prefix.clone().filter(|p| !p.is_empty());
            if prefix.as_deref().is_some_and(|p| !p.bytes().all(|b| b.is_ascii_graphic())) {
                return Err("`prefix` must be visible ASCII".into());
            }
            Scheme::Hmac(GenericHmacOptions { algorithm, header, encoding, prefix })
        }
        other => {
            return Err(format!(
                "unknown scheme {other:?}: use standard_webhooks, stripe, github, shopify, slack, paddle, zoom, twitch, \
                 linear, gitlab, square, discord, sendgrid, meta, twilio, hubspot_v3, mailgun, hmac_sha256 or hmac_sha1"
            ));
        }
    })
}

/// A URL-signing scheme's `public_url`: required, http(s), visible ASCII, and without a query
/// or fragment (the query is appended as received).
fn public_url(raw: &RawSource, scheme: &str) -> Result<String, String> {
    let url = raw.public_url.as_deref().ok_or_else(|| {
        format!("the {scheme} scheme needs `public_url`, the URL configured at the provider (it is signed)")
    })?;
    let http = url.starts_with("https://") || url.starts_with("http://");
    if !http || !url.bytes().all(|b| b.is_ascii_graphic()) || url.contains(['?', '#']) {
        return Err("`public_url` must be the http(s) URL configured at the provider, without a query".into());
    }
    Ok(url.to_owned())
}

fn parse_header_name(field: &str, name: &str) -> Result<http::HeaderName, String> {
    http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .map_err(|_| format!("`{field}` entry {name:?} is not a valid header name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = include_str!("../../../infra/local/sources.json");

    #[test]
    fn the_local_development_document_is_valid() {
        let config = SourcesConfig::from_json(LOCAL.as_bytes()).unwrap();
        assert_eq!(config.len(), 24);
        assert_eq!(config.get("bus").unwrap().destinations, Destinations::only(crate::Destination::EventBridge));
        assert_eq!(config.get("bus-both").unwrap().destinations.len(), 2);
        assert!(config.get("bus-switch").unwrap().destinations.is_default());
        assert_eq!(config.get("files").unwrap().content_types, ContentTypes::Any, "binary bodies, locally");
        assert_eq!(config.get("twitch").unwrap().tolerance_seconds, 600, "Twitch's own 10 minutes");
        assert_eq!(config.get("linear").unwrap().tolerance_seconds, 3600, "configured");
        let intercom = config.get("intercom").unwrap();
        assert_eq!(intercom.scheme.name(), "hmac_sha1");
        let partner = config.get("partner").unwrap();
        assert_eq!(partner.max_body_bytes, 65536);
        assert_eq!(partner.keys.len(), 2);
        assert!(matches!(partner.scheme, Scheme::Hmac(_)));
        assert_eq!(config.get("stripe").unwrap().tolerance_seconds, crate::source::DEFAULT_TOLERANCE_SECONDS);
    }

    #[test]
    fn a_source_names_its_destinations() {
        let doc = |destination: &str| {
            format!(r#"{{"sources":{{"s":{{"scheme":"github","secrets":["sixteen-byte-key"]{destination}}}}}}}"#)
        };
        let destinations = |destination: &str| {
            SourcesConfig::from_json(doc(destination).as_bytes()).map(|c| c.get("s").unwrap().destinations)
        };
        assert_eq!(destinations("").unwrap(), Destinations::default());
        assert_eq!(
            destinations(r#","destination":"eventbridge""#).unwrap(),
            Destinations::only(crate::Destination::EventBridge)
        );
        assert_eq!(destinations(r#","destination":["eventbridge","events_table"]"#).unwrap().len(), 2);
        for bad in [r#","destination":"sns""#, r#","destination":[]"#, r#","destination":7"#] {
            let error = destinations(bad).unwrap_err();
            assert!(matches!(error, ConfigError::InvalidSource { .. } | ConfigError::Shape { .. }), "{bad}: {error}");
        }
        assert!(destinations(r#","destination":"sns""#).unwrap_err().to_string().contains("`destination`"));
    }

    fn error_of(doc: &str) -> ConfigError {
        SourcesConfig::from_json(doc.as_bytes()).unwrap_err()
    }

    #[test]
    fn errors_never_quote_secret_values() {
        // A secret in the wrong place: serde's message would quote it.
        let err = error_of(r#"{"sources":{"s":{"scheme":"github","secrets":"hunter2-secret"}}}"#);
        assert!(matches!(err, ConfigError::Shape { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = error_of(r#"{"sources":{"s":{"scheme":"standard_webhooks","secrets":["whsec_!!hunter2"]}}}"#);
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("secret #0"), "{err}");
    }

    #[test]
    fn rejects_invalid_documents_with_a_clear_reason() {
        let cases = [
            ("{", "not valid JSON"),
            (r#"{"sources":{"Bad Name":{"scheme":"github","secrets":["sixteen-byte-key"]}}}"#, "source name"),
            (r#"{"sources":{"s":{"scheme":"nope","secrets":["sixteen-byte-key"]}}}"#, "unknown scheme"),
            (r#"{"sources":{"s":{"scheme":"github","secrets":[]}}}"#, "at least one secret"),
            (r#"{"sources":{"s":{"scheme":"github","secrets":[""]}}}"#, "secret #0"),
            (
                r#"{"sources":{"s":{"scheme":"github","secrets":["fifteen-byte-ky"]}}}"#,
                "secret #0 is shorter than 16 bytes",
            ),
            (
                r#"{"sources":{"s":{"scheme":"twitch","secrets":["sixteen-byte-key","short"]}}}"#,
                "secret #1 is shorter than 16 bytes",
            ),
            // 23 bytes, base64: below Standard Webhooks' 24.
            (
                r#"{"sources":{"s":{"scheme":"standard_webhooks","secrets":["whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="]}}}"#,
                "shorter than 24 bytes once base64-decoded",
            ),
            (r#"{"sources":{"s":{"scheme":"discord","secrets":["abcd"]}}}"#, "secret #0: Ed25519 public key"),
            (r#"{"sources":{"s":{"scheme":"sendgrid","secrets":["AAAA"]}}}"#, "secret #0: P-256 public key"),
            (
                r#"{"sources":{"s":{"scheme":"github","secrets":["sixteen-byte-key"],"tolerance_seconds":5}}}"#,
                "does not apply",
            ),
            (
                r#"{"sources":{"s":{"scheme":"stripe","secrets":["sixteen-byte-key"],"tolerance_seconds":0}}}"#,
                "tolerance_seconds",
            ),
            (
                r#"{"sources":{"s":{"scheme":"stripe","secrets":["sixteen-byte-key"],"max_body_bytes":7000000}}}"#,
                "max_body_bytes",
            ),
            (r#"{"sources":{"s":{"scheme":"hmac_sha256","secrets":["sixteen-byte-key"]}}}"#, "needs `header`"),
            (
                r#"{"sources":{"s":{"scheme":"hmac_sha256","secrets":["sixteen-byte-key"],"header":"X","encoding":"b32"}}}"#,
                "encoding",
            ),
            (r#"{"sources":{"s":{"scheme":"github","secrets":["sixteen-byte-key"],"header":"X"}}}"#, "only applies"),
            (
                r#"{"sources":{"s":{"scheme":"github","secrets":["sixteen-byte-key"],"content_types":["json"]}}}"#,
                "media type",
            ),
            (
                r#"{"sources":{"s":{"scheme":"github","secrets":["sixteen-byte-key"],"forward_headers":["bad header"]}}}"#,
                "header name",
            ),
            (r#"{"sources":{"s":{"scheme":"github","secrets":["sixteen-byte-key"],"typo":1}}}"#, "shape"),
            (
                r#"{"sources":{"s":{"scheme":"stripe","secrets":["sixteen-byte-key"],"dedupe_by_body":false}}}"#,
                "dedupe_by_body",
            ),
            (r#"{"sources":{"s":{"scheme":"twilio","secrets":["sixteen-byte-key"]}}}"#, "needs `public_url`"),
            (
                r#"{"sources":{"s":{"scheme":"hubspot_v3","secrets":["sixteen-byte-key"],"public_url":"https://h/x?a=1"}}}"#,
                "without a query",
            ),
            (
                r#"{"sources":{"s":{"scheme":"twilio","secrets":["sixteen-byte-key"],"public_url":"ftp://h/x"}}}"#,
                "http(s)",
            ),
            (
                r#"{"sources":{"s":{"scheme":"stripe","secrets":["sixteen-byte-key"],"public_url":"https://h/x"}}}"#,
                "only applies",
            ),
            (
                r#"{"sources":{"s":{"scheme":"hmac_sha1","secrets":["sixteen-byte-key"],"header":"X","dedupe_by_body":true}}}"#,
                "id_header",
            ),
            (r#"{"source":{}}"#, "shape"),
        ];
        for (doc, expected) in cases {
            let message = error_of(doc).to_string();
            assert!(message.contains(expected), "{doc}: {message}");
        }
    }

    #[test]
    fn secrets_of_the_minimum_length_are_accepted() {
        let doc = br#"{"sources":{
            "gh": {"scheme":"github","secrets":["sixteen-byte-key"]},
            "sw": {"scheme":"standard_webhooks","secrets":["whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz"]}
        }}"#;
        let config = SourcesConfig::from_json(doc).unwrap();
        assert_eq!(config.get("sw").unwrap().keys[0].as_bytes().len(), MIN_STANDARD_WEBHOOKS_SECRET_BYTES);
        assert_eq!(config.get("gh").unwrap().keys[0].as_bytes().len(), MIN_SECRET_BYTES);
    }

    #[test]
    fn sources_with_an_unsigned_delivery_id_deduplicate_by_body_unless_told_not_to() {
        let doc = br#"{"sources":{
            "gh": {"scheme":"github","secrets":["sixteen-byte-key"]},
            "gh-ids": {"scheme":"github","secrets":["sixteen-byte-key"],"dedupe_by_body":false},
            "linear": {"scheme":"linear","secrets":["sixteen-byte-key"]},
            "linear-hashed": {"scheme":"linear","secrets":["sixteen-byte-key"],"dedupe_by_body":true},
            "partner": {"scheme":"hmac_sha256","secrets":["sixteen-byte-key"],"header":"X-Sig","id_header":"X-Id"},
            "stripe": {"scheme":"stripe","secrets":["sixteen-byte-key"]}
        }}"#;
        let config = SourcesConfig::from_json(doc).unwrap();
        let id_header = |name: &str| config.get(name).unwrap().event_id_header();
        assert_eq!((id_header("gh"), id_header("gh-ids")), (None, Some("x-github-delivery")));
        assert_eq!((id_header("partner"), id_header("stripe")), (None, None));
        assert_eq!((id_header("linear"), id_header("linear-hashed")), (Some("linear-delivery"), None));
    }

    #[test]
    fn accepts_the_largest_body_limit_and_wildcard_content_types() {
        let doc = format!(
            r#"{{"sources":{{"s":{{"scheme":"hmac_sha256","secrets":["sixteen-byte-key","another-16-bytes"],"header":"X-Sig","encoding":"base64",
                "max_body_bytes":{MAX_BODY_BYTES_CEILING},"content_types":["*"],"id_header":"X-Id"}}}}}}"#
        );
        let config = SourcesConfig::from_json(doc.as_bytes()).unwrap();
        let s = config.get("s").unwrap();
        assert_eq!(s.max_body_bytes, MAX_BODY_BYTES_CEILING);
        assert_eq!(s.content_types, ContentTypes::Any);
        assert_eq!(s.id_header.as_ref().unwrap().as_str(), "x-id");
    }

    #[test]
    fn valid_json_of_the_wrong_shape_is_never_called_invalid_json() {
        // Shrunk by tests/properties_config.rs: `[{}, null]` was reported as a syntax error.
        for doc in [r#"[{}, null]"#, r#"{"sources":{"s":["github",["x"],null,null,null,[],null,null,null,null,0]}}"#] {
            assert!(matches!(error_of(doc), ConfigError::Shape { .. }), "{doc}: {:?}", error_of(doc));
        }
        assert!(matches!(error_of("[{}, nul"), ConfigError::Syntax { .. }));
    }

    #[test]
    fn an_empty_document_has_no_sources() {
        assert!(SourcesConfig::from_json(br#"{"sources":{}}"#).unwrap().is_empty());
    }
}
