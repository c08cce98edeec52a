//! One configured webhook source: who signs, with which keys, and what it may send.

use crate::signature::{Scheme, SigningKey};

/// Body size ceiling that no configuration can raise: Lambda's limit for a synchronous
/// invocation's request (6,291,456 bytes), which holds the whole API Gateway event around the
/// body, so no larger body can reach ingest. How large a body really gets through depends on
/// how the event carries it (escaped text, or base64): the README's "Large webhooks" gives the
/// limits per kind of body. A body too large for one queue message travels by reference.
pub const MAX_BODY_BYTES_CEILING: usize = 6_291_456;

/// Default body limit of a source that sets none: the ceiling, so that only AWS's own limits
/// refuse a body.
pub const DEFAULT_MAX_BODY_BYTES: usize = MAX_BODY_BYTES_CEILING;

/// Default distance allowed between a signed timestamp and now, in both directions.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// A source's name as it appears in `POST /webhooks/{source}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceName(String);

impl SourceName {
    /// Lower-case ASCII letters, digits, `-` and `_`, starting with a letter or digit, at most
    /// 64 characters: safe in URLs, log fields, metric dimensions and DynamoDB keys.
    pub fn parse(name: &str) -> Option<Self> {
        let bytes = name.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 64
            && bytes[0].is_ascii_alphanumeric()
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_');
        valid.then(|| SourceName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which request content types a source accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentTypes {
    /// Any content type, or none.
    Any,
    /// One of these media types (lower-case, without parameters).
    OneOf(Vec<String>),
}

impl ContentTypes {
    /// Whether a `Content-Type` header value (or its absence) is accepted.
    pub fn accepts(&self, content_type: Option<&str>) -> bool {
        match self {
            ContentTypes::Any => true,
            ContentTypes::OneOf(allowed) => {
                content_type.map(media_type).is_some_and(|media| allowed.iter().any(|a| a.eq_ignore_ascii_case(media)))
            }
        }
    }
}

/// The media type of a `Content-Type` value: what precedes any `;` parameters, trimmed.
pub fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Whether a media type carries JSON (`application/json` or any `+json` suffix).
pub fn is_json_media_type(media: &str) -> bool {
    media.eq_ignore_ascii_case("application/json")
        || media.get(media.len().saturating_sub(5)..).is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

/// A validated source. Built only by [`crate::sources::SourcesConfig`].
#[derive(Debug, Clone)]
pub struct Source {
    pub name: SourceName,
    pub scheme: Scheme,
    /// Live signing keys, in configuration order; any one may match.
    pub keys: Vec<SigningKey>,
    pub tolerance_seconds: u64,
    pub max_body_bytes: usize,
    pub content_types: ContentTypes,
    /// Lower-case names of request headers copied into the envelope, beyond the scheme's own.
    pub forward_headers: Vec<http::HeaderName>,
    /// For the generic scheme: the header that carries the sender's event id, if any.
    pub id_header: Option<http::HeaderName>,
    /// Whether a source whose delivery id travels in a header the signature does not cover
    /// ([`Source::unsigned_id_header`]) is deduplicated on the body's SHA-256 instead: then a
    /// captured delivery replayed with a fresh id header is the same event, not a new one.
    /// The scheme's default ([`Scheme::dedupes_by_body_by_default`]) unless configured, e.g.
    /// off for senders that legitimately repeat identical bodies.
    pub dedupe_by_body: bool,
    /// Where its events go (`destination`; default: the events table).
    pub destinations: crate::destination::Destinations,
}

impl Source {
    /// The header carrying the sender's delivery or event id where the signature does not
    /// cover it: the generic scheme's configured `id_header`, or the scheme's own.
    pub fn unsigned_id_header(&self) -> Option<&str> {
        self.id_header.as_ref().map(http::HeaderName::as_str).or_else(|| self.scheme.unsigned_id_header())
    }

    /// The header the event id is read from, when it is an unsigned one that is used: not
    /// when the source deduplicates by body.
    pub fn event_id_header(&self) -> Option<&str> {
        self.unsigned_id_header().filter(|_| !self.dedupe_by_body)
    }

    /// The scheme's default content types, used when a source configures none.
    pub(crate) fn default_content_types(scheme: &Scheme) -> ContentTypes {
        let list: &[&str] = match scheme {
            Scheme::StandardWebhooks
            | Scheme::Stripe
            | Scheme::Shopify
            | Scheme::Hmac(_)
            | Scheme::Paddle
            | Scheme::Zoom
            | Scheme::Twitch
            | Scheme::Linear
            | Scheme::GitLab
            | Scheme::Discord
            | Scheme::SendGrid
            | Scheme::Meta(_)
            | Scheme::Square(_)
            | Scheme::HubSpotV3(_)
            | Scheme::Mailgun => &["application/json"],
            // GitHub can be set to deliver form-encoded payloads; Slack's slash commands and
            // interactivity are form-encoded while its Events API is JSON; Twilio posts forms,
            // and JSON for some products (its hash in the URL).
            Scheme::GitHub | Scheme::Slack | Scheme::Twilio(_) => {
                &["application/json", "application/x-www-form-urlencoded"]
            }
        };
        ContentTypes::OneOf(list.iter().map(|s| (*s).to_owned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_url_and_key_safe() {
        assert!(SourceName::parse("stripe").is_some());
        assert!(SourceName::parse("shop-1_eu").is_some());
        for bad in ["", "Stripe", "-x", "a/b", "a b", "ä", &"x".repeat(65)] {
            assert!(SourceName::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn content_type_matching_ignores_parameters_and_case() {
        let json = ContentTypes::OneOf(vec!["application/json".into()]);
        assert!(json.accepts(Some("application/json")));
        assert!(json.accepts(Some("Application/JSON; charset=utf-8")));
        assert!(!json.accepts(Some("text/plain")));
        assert!(!json.accepts(None));
        assert!(ContentTypes::Any.accepts(None));
    }

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/cloudevents+json"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type("json"));
    }
}
