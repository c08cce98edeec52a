//! Signature verification over the exact raw request bytes.
//!
//! Verification is pure: raw body + headers + signing keys + the current time in, a typed
//! result out. Every comparison of a computed signature against a received one is
//! constant-time. Each scheme lives in its own file.

mod discord;
mod generic_hmac;
mod github;
mod gitlab;
mod hmac_sha256;
mod hubspot;
pub(crate) mod key;
mod linear;
pub(crate) mod mailgun;
mod paddle;
mod sendgrid;
mod shopify;
mod slack;
mod square;
pub mod standard_webhooks;
mod stripe;
mod timestamp;
mod timestamped_list;
pub(crate) mod twilio;
mod twitch;
pub mod zoom;

pub use hmac_sha256::matching_token;
pub use key::{KeyError, SigningKey};
/// HubSpot's (signed) request timestamp header.
pub const HUBSPOT_TIMESTAMP: &str = hubspot::TIMESTAMP;
/// The header Twitch carries its (signed) message id in.
pub const TWITCH_MESSAGE_ID: &str = twitch::MESSAGE_ID;

use http::HeaderMap;

/// How a source signs its requests. The shape of each variant's options is part of the
/// sources configuration document (see the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>` entries separated by spaces), `whsec_` base64 keys; Svix's `svix-*` names too.
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` over `{t}.{body}`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
    GitHub,
    /// Meta (WhatsApp, Instagram, Messenger): `X-Hub-Signature-256: sha256=<hex>` over the body
    /// with the app secret, GitHub's format; a `GET` endpoint check answered with the verify
    /// token.
    Meta(MetaOptions),
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body.
    Shopify,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`.
    Slack,
    /// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]` over `{ts}:{body}`.
    Paddle,
    /// Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`.
    Zoom,
    /// Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over message id,
    /// timestamp (RFC 3339, as sent) and body.
    Twitch,
    /// Linear: `Linear-Signature: <hex>` over the body; the body's `webhookTimestamp` (ms)
    /// within the tolerance.
    Linear,
    /// Discord: `X-Signature-Ed25519: <hex>` over `{X-Signature-Timestamp}{body}`, under the
    /// application's public key.
    Discord,
    /// SendGrid's Event Webhook: `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>`, ECDSA
    /// P-256 / SHA-256 over `{timestamp}{body}` under the verification key.
    SendGrid,
    /// GitLab: `X-Gitlab-Token`, the secret token itself (nothing is signed).
    GitLab,
    /// Square: `x-square-hmacsha256-signature: <base64>` over the notification URL and body.
    Square(SquareOptions),
    /// Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 over the public URL (query included)
    /// and the sorted POST parameters; a JSON body through the URL's signed `bodySHA256`.
    Twilio(UrlOptions),
    /// HubSpot v3: `X-HubSpot-Signature-v3: <base64>` over method, URI, body and
    /// `X-HubSpot-Request-Timestamp` (ms).
    HubSpotV3(UrlOptions),
    /// Mailgun: the body's `signature` object, HMAC-SHA256 over its timestamp and token.
    Mailgun,
    /// Any sender that puts an HMAC (SHA-256, or SHA-1 for older senders such as Intercom's
    /// `X-Hub-Signature: sha1=`) of the body in one header.
    Hmac(GenericHmacOptions),
}

/// Options of the Meta scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaOptions {
    /// The verify token configured in the app's webhook settings, held as a key so that it is
    /// never shown (`Debug` redacts it).
    pub verify_token: SigningKey,
}

/// Options of the Square scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquareOptions {
    /// The subscription's notification URL exactly as configured at Square: it is signed.
    pub notification_url: String,
}

/// Options of a scheme that signs the URL the sender requested (Twilio, HubSpot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOptions {
    /// The URL configured at the provider, without a query: API Gateway's view of the host can
    /// differ from the sender's (a custom domain). The query string is appended as received.
    pub public_url: String,
}

/// The hash of an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    /// SHA-1, which HMAC still uses safely (its collisions do not give HMAC forgeries), for
    /// senders that offer nothing else.
    Sha1,
}

/// Options of the generic HMAC scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericHmacOptions {
    pub algorithm: HmacAlgorithm,
    /// The header carrying the signature (matched case-insensitively).
    pub header: http::HeaderName,
    /// How the signature bytes are written in the header.
    pub encoding: SignatureEncoding,
    /// A literal prefix before the encoded signature, e.g. `sha256=`. Required when set.
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    Hex,
    Base64,
}

impl Scheme {
    /// The name used in configuration, logs and message attributes.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard_webhooks",
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::Meta(_) => "meta",
            Scheme::Shopify => "shopify",
            Scheme::Slack => "slack",
            Scheme::Paddle => "paddle",
            Scheme::Zoom => "zoom",
            Scheme::Twitch => "twitch",
            Scheme::Linear => "linear",
            Scheme::GitLab => "gitlab",
            Scheme::Discord => "discord",
            Scheme::SendGrid => "sendgrid",
            Scheme::Square(_) => "square",
            Scheme::Twilio(_) => "twilio",
            Scheme::HubSpotV3(_) => "hubspot_v3",
            Scheme::Mailgun => "mailgun",
            Scheme::Hmac(GenericHmacOptions { algorithm: HmacAlgorithm::Sha256, .. }) => "hmac_sha256",
            Scheme::Hmac(GenericHmacOptions { algorithm: HmacAlgorithm::Sha1, .. }) => "hmac_sha1",
        }
    }

    /// Whether this scheme signs a timestamp that must fall within the tolerance.
    pub fn is_timestamped(&self) -> bool {
        matches!(
            self,
            Scheme::StandardWebhooks
                | Scheme::Stripe
                | Scheme::Slack
                | Scheme::Paddle
                | Scheme::Zoom
                | Scheme::Twitch
                | Scheme::Linear
                | Scheme::Discord
                | Scheme::SendGrid
                | Scheme::HubSpotV3(_)
                | Scheme::Mailgun
        )
    }

    /// The replay window a source of this scheme gets unless it configures one: the
    /// provider's own advice where it gives one (Twitch: 10 minutes; Linear: one minute),
    /// otherwise 300 s.
    pub fn default_tolerance_seconds(&self) -> u64 {
        match self {
            Scheme::Twitch => 600,
            Scheme::Linear => 60,
            _ => crate::source::DEFAULT_TOLERANCE_SECONDS,
        }
    }

    /// Whether the scheme signs inside the body rather than in headers (Mailgun's `signature`
    /// object): [`sign`] gives it no headers, and [`signed_body`] writes the signature.
    pub fn signs_inside_body(&self) -> bool {
        matches!(self, Scheme::Mailgun)
    }

    /// Whether a source of this scheme whose delivery id is unsigned is deduplicated on the
    /// body's hash unless configured otherwise: not Linear, whose body carries the time of each
    /// attempt (a retry is a new body) and whose tolerance bounds a replay instead.
    pub fn dedupes_by_body_by_default(&self) -> bool {
        !matches!(self, Scheme::Linear)
    }

    /// The header carrying the sender's delivery or event id where the signature does not
    /// cover it: a sender sets it beside the signature headers.
    pub fn unsigned_id_header(&self) -> Option<&'static str> {
        match self {
            Scheme::GitHub => Some("x-github-delivery"),
            Scheme::Shopify => Some("x-shopify-webhook-id"),
            Scheme::Linear => Some("linear-delivery"),
            Scheme::GitLab => Some("x-gitlab-event-uuid"),
            Scheme::Twilio(_) => Some("i-twilio-idempotency-token"),
            _ => None,
        }
    }
}

/// Everything verification needs; nothing it does not.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The exact bytes the sender signed (after base64-decoding an API Gateway body).
    pub body: &'a [u8],
    /// The raw query string as received (without `?`; empty when there is none): signed by
    /// the schemes that sign the URL.
    pub query: &'a str,
    /// Live keys, newest first; any one of them may match (rotation).
    pub keys: &'a [SigningKey],
    /// Accepted distance between the signed timestamp and `now_unix`, in both directions.
    pub tolerance_seconds: u64,
    /// The current time, seconds since the Unix epoch.
    pub now_unix: i64,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Index in `keys` of the key that matched.
    pub key_index: usize,
    /// The signed timestamp, for timestamped schemes.
    pub signed_at: Option<i64>,
}

/// Why a request's signature was not accepted. Every variant becomes the same generic 401;
/// the variant is only logged, never returned to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    #[error("headers of two naming schemes of the same signature (e.g. webhook-* and svix-*)")]
    AmbiguousHeaders,
    #[error("malformed header {header}: {reason}")]
    MalformedHeader { header: &'static str, reason: &'static str },
    #[error("signed timestamp {signed_at} is more than {tolerance_seconds}s away from now ({now})")]
    TimestampOutsideTolerance { signed_at: i64, now: i64, tolerance_seconds: u64 },
    #[error("signed body is malformed: {0}")]
    MalformedBody(&'static str),
    #[error("no signature matches any live key")]
    NoMatchingSignature,
    #[error("no live key is configured")]
    NoKeys,
}

impl SignatureError {
    /// A short, stable label for logs and the rejected-by-reason metric.
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader(_) => "missing_header",
            SignatureError::DuplicateHeader(_) => "duplicate_header",
            SignatureError::AmbiguousHeaders => "ambiguous_headers",
            SignatureError::MalformedHeader { .. } => "malformed_header",
            SignatureError::MalformedBody(_) => "malformed_body",
            SignatureError::TimestampOutsideTolerance { .. } => "timestamp_out_of_tolerance",
            SignatureError::NoMatchingSignature => "signature_mismatch",
            SignatureError::NoKeys => "no_keys",
        }
    }
}

/// Verifies `request` under `scheme`.
pub fn verify(scheme: &Scheme, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    if request.keys.is_empty() {
        return Err(SignatureError::NoKeys);
    }
    match scheme {
        Scheme::StandardWebhooks => standard_webhooks::verify(request),
        Scheme::Stripe => stripe::verify(request),
        Scheme::GitHub | Scheme::Meta(_) => github::verify(request),
        Scheme::Shopify => shopify::verify(request),
        Scheme::Slack => slack::verify(request),
        Scheme::Paddle => paddle::FORMAT.verify(request),
        Scheme::Zoom => zoom::FORMAT.verify(request),
        Scheme::Twitch => twitch::verify(request),
        Scheme::Linear => linear::verify(request),
        Scheme::GitLab => gitlab::verify(request),
        Scheme::Discord => discord::verify(request),
        Scheme::SendGrid => sendgrid::verify(request),
        Scheme::Square(options) => square::verify(&options.notification_url, request),
        Scheme::Twilio(options) => twilio::verify(&options.public_url, request),
        Scheme::HubSpotV3(options) => hubspot::verify(&options.public_url, request),
        Scheme::Mailgun => mailgun::verify(request),
        Scheme::Hmac(options) => generic_hmac::verify(options, request),
    }
}

/// Produces the header(s) a sender using `scheme` would attach to `body` at `now_unix`,
/// signed with `key`. Used by the project's signing command and by tests; the inverse of
/// [`verify`]. `message_id` is required by Standard Webhooks and Twitch and ignored elsewhere.
///
/// Returns no headers when the result could never verify: a Standard Webhooks `message_id`
/// that is empty or not visible ASCII, or a generic-scheme prefix that is not visible ASCII.
pub fn sign(
    scheme: &Scheme,
    key: &SigningKey,
    body: &[u8],
    now_unix: i64,
    message_id: &str,
) -> Vec<(http::HeaderName, http::HeaderValue)> {
    match scheme {
        Scheme::StandardWebhooks => standard_webhooks::sign(key, body, now_unix, message_id),
        Scheme::Stripe => stripe::sign(key, body, now_unix),
        Scheme::GitHub | Scheme::Meta(_) => github::sign(key, body),
        Scheme::Shopify => shopify::sign(key, body),
        Scheme::Slack => slack::sign(key, body, now_unix),
        Scheme::Paddle => paddle::FORMAT.sign(key, body, now_unix),
        Scheme::Zoom => zoom::FORMAT.sign(key, body, now_unix),
        Scheme::Twitch => twitch::sign(key, body, now_unix, message_id),
        Scheme::Linear => linear::sign(key, body),
        Scheme::GitLab => gitlab::sign(key),
        Scheme::Discord => discord::sign(key, body, now_unix),
        Scheme::SendGrid => sendgrid::sign(key, body, now_unix),
        Scheme::Square(options) => square::sign(&options.notification_url, key, body),
        Scheme::Twilio(options) => twilio::sign(&options.public_url, key, body),
        Scheme::HubSpotV3(options) => hubspot::sign(&options.public_url, key, body, now_unix),
        // Signed inside the body: see [`signed_body`].
        Scheme::Mailgun => Vec::new(),
        Scheme::Hmac(options) => generic_hmac::sign(options, key, body),
    }
}

/// The body a sender using `scheme` would send for `body` at `now_unix`: `body` itself, except
/// for a scheme that signs inside the body (Mailgun: the `signature` object's `timestamp` and
/// `signature` are written, its `token` kept). `None` when such a body has no place for the
/// signature.
pub fn signed_body(scheme: &Scheme, key: &SigningKey, body: &[u8], now_unix: i64) -> Option<Vec<u8>> {
    match scheme {
        Scheme::Mailgun => mailgun::sign_body(key, body, now_unix),
        _ => Some(body.to_vec()),
    }
}
