//! Properties every signature scheme must have, checked through the public `verify`/`sign`
//! dispatch and `SigningKey::from_config` only. The per-scheme modules carry published
//! vectors and a few per-scheme properties with a fixed key; these range over every scheme
//! (generic shapes included), random keys, random times and bodies of any bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::signature::{
    GenericHmacOptions, HmacAlgorithm, KeyError, MetaOptions, Scheme, SignatureEncoding, SignatureError, SigningKey,
    SquareOptions, UrlOptions, Verified, VerifyRequest, sign, verify,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Every header name any scheme reads, plus a few it does not.
const HEADER_NAMES: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "stripe-signature",
    "x-hub-signature-256",
    "x-shopify-hmac-sha256",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-signature",
    "x-partner-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "x-hub-signature",
    "paddle-signature",
    "x-zm-request-timestamp",
    "x-zm-signature",
    "twitch-eventsub-message-id",
    "twitch-eventsub-message-timestamp",
    "twitch-eventsub-message-signature",
    "linear-signature",
    "x-gitlab-token",
    "x-square-hmacsha256-signature",
    "x-signature-ed25519",
    "x-signature-timestamp",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
    "x-twilio-signature",
    "x-hubspot-signature-v3",
    "x-hubspot-request-timestamp",
    "content-type",
    "x-other",
];

/// Hex digits of the scheme's MAC.
fn hex_mac_len(scheme: &Scheme) -> usize {
    match scheme {
        Scheme::Hmac(GenericHmacOptions { algorithm: HmacAlgorithm::Sha1, .. }) => 40,
        _ => 64,
    }
}

fn generic(header: &str, encoding: SignatureEncoding, prefix: Option<String>, sha1: bool) -> Scheme {
    Scheme::Hmac(GenericHmacOptions {
        algorithm: if sha1 { HmacAlgorithm::Sha1 } else { HmacAlgorithm::Sha256 },
        header: HeaderName::from_bytes(header.as_bytes()).unwrap(),
        encoding,
        prefix,
    })
}

/// Every scheme, the generic one in any shape a configuration can give it (a configured
/// prefix is non-empty visible ASCII).
fn any_scheme() -> impl Strategy<Value = Scheme> {
    let generic = (
        prop::sample::select(&["x-signature", "x-partner-signature", "x-hub-signature-256"][..]),
        any::<bool>(),
        prop::option::of("[!-~]{1,10}"),
        any::<bool>(),
    )
        .prop_map(|(header, base64, prefix, sha1)| {
            let encoding = if base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex };
            generic(header, encoding, prefix, sha1)
        });
    prop_oneof![
        Just(Scheme::StandardWebhooks),
        Just(Scheme::Stripe),
        Just(Scheme::GitHub),
        Just(Scheme::Shopify),
        Just(Scheme::Slack),
        Just(Scheme::Paddle),
        Just(Scheme::Zoom),
        Just(square()),
        Just(meta()),
        generic,
    ]
}

fn meta() -> Scheme {
    Scheme::Meta(MetaOptions { verify_token: SigningKey::from_bytes(*b"meta-verify-token") })
}

fn square() -> Scheme {
    Scheme::Square(SquareOptions { notification_url: "https://hooks.example.com/webhooks/square".into() })
}

/// [`any_scheme`] and the schemes `sign` cannot sign for any key, body and time (Twitch
/// formats its time as a date, Linear signs a timestamp inside the body, GitLab sends the key
/// itself as a header, Discord signs with a private key, HubSpot's milliseconds overflow near
/// the end of time, Twilio signs the decoded form parameters rather than the bytes, Mailgun
/// signs inside the body): each is signed and verified in its own module's tests; here they
/// are only fed hostile input.
fn every_scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        any_scheme(),
        Just(Scheme::Twitch),
        Just(Scheme::Linear),
        Just(Scheme::GitLab),
        Just(Scheme::Discord),
        Just(Scheme::SendGrid),
        Just(Scheme::Twilio(UrlOptions { public_url: "https://hooks.example.com/webhooks/twilio".into() })),
        Just(Scheme::HubSpotV3(UrlOptions { public_url: "https://hooks.example.com/webhooks/hubspot".into() })),
        Just(Scheme::Mailgun),
    ]
}

fn any_key() -> impl Strategy<Value = SigningKey> {
    vec(any::<u8>(), 1..80).prop_map(SigningKey::from_bytes)
}

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..512)
}

/// A non-empty visible-ASCII message id (what `sign` accepts for Standard Webhooks).
fn any_message_id() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

fn into_map(pairs: Vec<(HeaderName, HeaderValue)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name, value);
    }
    map
}

fn run(
    scheme: &Scheme,
    headers: &HeaderMap,
    body: &[u8],
    keys: &[SigningKey],
    tolerance_seconds: u64,
    now_unix: i64,
) -> Result<Verified, SignatureError> {
    verify(scheme, &VerifyRequest { headers, body, query: "", keys, tolerance_seconds, now_unix })
}

/// Whether the scheme writes its MAC as hex (whose letters may change case and still decode).
fn is_hex(scheme: &Scheme) -> bool {
    match scheme {
        Scheme::Stripe
        | Scheme::GitHub
        | Scheme::Meta(_)
        | Scheme::Slack
        | Scheme::Paddle
        | Scheme::Zoom
        | Scheme::Twitch
        | Scheme::Linear
        | Scheme::Discord => true,
        Scheme::Hmac(options) => options.encoding == SignatureEncoding::Hex,
        Scheme::Mailgun => true,
        Scheme::StandardWebhooks
        | Scheme::Shopify
        | Scheme::GitLab
        | Scheme::Square(_)
        | Scheme::SendGrid
        | Scheme::Twilio(_)
        | Scheme::HubSpotV3(_) => false,
    }
}

/// The header carrying the MAC itself.
fn signature_header(scheme: &Scheme) -> HeaderName {
    match scheme {
        Scheme::StandardWebhooks => HeaderName::from_static("webhook-signature"),
        Scheme::Stripe => HeaderName::from_static("stripe-signature"),
        Scheme::GitHub | Scheme::Meta(_) => HeaderName::from_static("x-hub-signature-256"),
        Scheme::Shopify => HeaderName::from_static("x-shopify-hmac-sha256"),
        Scheme::Slack => HeaderName::from_static("x-slack-signature"),
        Scheme::Paddle => HeaderName::from_static("paddle-signature"),
        Scheme::Zoom => HeaderName::from_static("x-zm-signature"),
        Scheme::Twitch => HeaderName::from_static("twitch-eventsub-message-signature"),
        Scheme::Linear => HeaderName::from_static("linear-signature"),
        Scheme::GitLab => HeaderName::from_static("x-gitlab-token"),
        Scheme::Discord => HeaderName::from_static("x-signature-ed25519"),
        Scheme::SendGrid => HeaderName::from_static("x-twilio-email-event-webhook-signature"),
        Scheme::Square(_) => HeaderName::from_static("x-square-hmacsha256-signature"),
        Scheme::Twilio(_) => HeaderName::from_static("x-twilio-signature"),
        Scheme::HubSpotV3(_) => HeaderName::from_static("x-hubspot-signature-v3"),
        // Mailgun signs in the body; no header carries it.
        Scheme::Mailgun => HeaderName::from_static("x-other"),
        Scheme::Hmac(options) => options.header.clone(),
    }
}

const NOW: i64 = 1_795_867_200;
const TOLERANCE: u64 = 300;

proptest! {
    /// Arbitrary header maps (any names the schemes read, repeated or not, values of any
    /// bytes a header value can hold), any body, any keys, window and clock: `verify`
    /// returns, and an `Ok` names a key that exists and carries a timestamp exactly when the
    /// scheme signs one.
    #[test]
    fn verify_never_panics_on_arbitrary_requests(
        scheme in every_scheme(),
        headers in vec((prop::sample::select(HEADER_NAMES), vec(any::<u8>(), 0..120)), 0..8),
        body in any_body(),
        keys in vec(any_key(), 0..3),
        tolerance_seconds in any::<u64>(),
        now_unix in any::<i64>(),
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                map.append(name, value);
            }
        }
        if let Ok(verified) = run(&scheme, &map, &body, &keys, tolerance_seconds, now_unix) {
            prop_assert!(verified.key_index < keys.len());
            prop_assert_eq!(verified.signed_at.is_some(), scheme.is_timestamped());
        }
        if keys.is_empty() {
            prop_assert_eq!(run(&scheme, &map, &body, &keys, tolerance_seconds, now_unix), Err(SignatureError::NoKeys));
        }
    }

    /// Structured but hostile values in each scheme's own headers (printable ASCII built from
    /// the characters the parsers split on) never panic either.
    #[test]
    fn verify_never_panics_on_near_miss_header_values(
        scheme in every_scheme(),
        values in vec("[0-9a-fv=, t+/A-F.:-]{0,90}", 4),
        body in any_body(),
        key in any_key(),
    ) {
        let names: Vec<HeaderName> = match &scheme {
            Scheme::StandardWebhooks => vec!["webhook-id".parse().unwrap(), "webhook-timestamp".parse().unwrap(), signature_header(&scheme)],
            Scheme::Slack => vec!["x-slack-request-timestamp".parse().unwrap(), signature_header(&scheme)],
            Scheme::Zoom => vec!["x-zm-request-timestamp".parse().unwrap(), signature_header(&scheme)],
            Scheme::Discord => vec!["x-signature-timestamp".parse().unwrap(), signature_header(&scheme)],
            Scheme::SendGrid => {
                vec!["x-twilio-email-event-webhook-timestamp".parse().unwrap(), signature_header(&scheme)]
            }
            Scheme::HubSpotV3(_) => vec!["x-hubspot-request-timestamp".parse().unwrap(), signature_header(&scheme)],
            Scheme::Twitch => vec![
                "twitch-eventsub-message-id".parse().unwrap(),
                "twitch-eventsub-message-timestamp".parse().unwrap(),
                signature_header(&scheme),
            ],
            _ => vec![signature_header(&scheme)],
        };
        let mut map = HeaderMap::new();
        for (name, value) in names.into_iter().zip(&values) {
            map.insert(name, HeaderValue::from_str(value).unwrap());
        }
        let result = run(&scheme, &map, &body, std::slice::from_ref(&key), TOLERANCE, NOW);
        prop_assert!(!matches!(result, Err(SignatureError::NoKeys | SignatureError::MissingHeader(_))), "{:?}", result);
    }

    /// What `sign` produces verifies, for any body (empty and non-UTF-8 included), any key,
    /// any signing time a Unix timestamp can be, and any clock within the window; with
    /// several live keys, the index reported is the first key equal to the signing key.
    #[test]
    fn a_signed_request_verifies(
        scheme in any_scheme(),
        key in any_key(),
        others in vec(any_key(), 0..3),
        position in any::<Index>(),
        body in any_body(),
        signed_at in 0..=i64::MAX,
        skew in any::<i64>(),
        tolerance_seconds in 0..=3600u64,
        message_id in any_message_id(),
    ) {
        let headers = into_map(sign(&scheme, &key, &body, signed_at, &message_id));
        prop_assert!(!headers.is_empty());
        let mut keys = others;
        keys.insert(position.index(keys.len() + 1), key.clone());
        let expected_index = keys.iter().position(|k| *k == key).unwrap();
        let window = tolerance_seconds as i64;
        let now = signed_at.saturating_add(skew.rem_euclid(2 * window + 1) - window);
        let expected_signed_at = scheme.is_timestamped().then_some(signed_at);
        prop_assert_eq!(
            run(&scheme, &headers, &body, &keys, tolerance_seconds, now),
            Ok(Verified { key_index: expected_index, signed_at: expected_signed_at })
        );
    }

    /// Flipping any one bit of a signed body makes it fail, with every scheme and shape.
    #[test]
    fn flipping_any_body_bit_fails(
        scheme in any_scheme(),
        key in any_key(),
        body in vec(any::<u8>(), 1..512),
        bit in any::<Index>(),
        message_id in any_message_id(),
    ) {
        let headers = into_map(sign(&scheme, &key, &body, NOW, &message_id));
        let mut tampered = body.clone();
        let bit = bit.index(body.len() * 8);
        tampered[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(
            run(&scheme, &headers, &tampered, std::slice::from_ref(&key), TOLERANCE, NOW),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    /// Flipping any one bit of any signed header value (the MAC, its prefix or labels, the
    /// signed timestamp, the Standard Webhooks id) makes verification fail whenever the
    /// result is still a header value. The one exception is by design: a hex MAC is read in
    /// either case, so flipping the case bit of a hex letter a-f in the MAC still verifies.
    #[test]
    fn flipping_any_bit_of_a_signed_header_fails(
        scheme in any_scheme(),
        key in any_key(),
        body in any_body(),
        which in any::<Index>(),
        bit in any::<Index>(),
        message_id in any_message_id(),
    ) {
        let pairs = sign(&scheme, &key, &body, NOW, &message_id);
        let (name, value) = pairs[which.index(pairs.len())].clone();
        let mut bytes = value.as_bytes().to_vec();
        let bit = bit.index(bytes.len() * 8);
        let (at, mask) = (bit / 8, 1u8 << (bit % 8));
        let original = bytes[at];
        bytes[at] ^= mask;
        let Ok(tampered) = HeaderValue::from_bytes(&bytes) else {
            return Ok(());
        };
        let mut headers = into_map(pairs);
        headers.insert(name.clone(), tampered);
        let result = run(&scheme, &headers, &body, std::slice::from_ref(&key), TOLERANCE, NOW);
        let case_of_a_hex_mac_letter = is_hex(&scheme)
            && name == signature_header(&scheme)
            && at >= bytes.len() - hex_mac_len(&scheme)
            && mask == 0x20
            && original.is_ascii_hexdigit()
            && original.is_ascii_alphabetic();
        if case_of_a_hex_mac_letter {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            prop_assert!(result.is_err(), "{} {:?} verified", name, String::from_utf8_lossy(&bytes));
        }
    }

    /// No key other than the signing key verifies a signed request.
    #[test]
    fn other_keys_never_verify(
        scheme in any_scheme(),
        key in any_key(),
        others in vec(any_key(), 1..4),
        body in any_body(),
        message_id in any_message_id(),
    ) {
        prop_assume!(others.iter().all(|k| *k != key));
        let headers = into_map(sign(&scheme, &key, &body, NOW, &message_id));
        prop_assert_eq!(
            run(&scheme, &headers, &body, &others, TOLERANCE, NOW),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    /// The replay window, through the public API: a timestamped scheme accepts a signed
    /// request exactly when the clock is within the tolerance of the signing time (in either
    /// direction, whatever the values, without overflow); the others ignore time.
    #[test]
    fn the_window_is_exactly_the_tolerance(
        scheme in any_scheme(),
        key in any_key(),
        body in vec(any::<u8>(), 0..64),
        signed_at in prop_oneof![0..=i64::MAX, Just(0), Just(i64::MAX), NOW - 1000..NOW + 1000],
        now in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), NOW - 1000..NOW + 1000],
        tolerance_seconds in prop_oneof![any::<u64>(), 0..=1000u64, Just(u64::MAX)],
    ) {
        let headers = into_map(sign(&scheme, &key, &body, signed_at, "msg_window"));
        let result = run(&scheme, &headers, &body, std::slice::from_ref(&key), tolerance_seconds, now);
        let distance = (i128::from(now) - i128::from(signed_at)).unsigned_abs();
        if !scheme.is_timestamped() {
            prop_assert_eq!(result, Ok(Verified { key_index: 0, signed_at: None }));
        } else if distance <= u128::from(tolerance_seconds) {
            prop_assert_eq!(result, Ok(Verified { key_index: 0, signed_at: Some(signed_at) }));
        } else {
            prop_assert_eq!(result, Err(SignatureError::TimestampOutsideTolerance { signed_at, now, tolerance_seconds }));
        }
    }

    /// Timestamp parsing, through the schemes whose timestamp is a header of its own: any
    /// other text than the signed one fails; text that is not plain decimal digits is
    /// reported as malformed, never as a mismatch or a window error.
    #[test]
    fn any_other_timestamp_text_fails(
        slack in any::<bool>(),
        key in any_key(),
        text in prop_oneof!["[ -~]{0,24}", "[0-9]{1,25}", "[+-][0-9]{1,19}", Just(String::new())],
        message_id in any_message_id(),
    ) {
        let (scheme, header) =
            if slack { (Scheme::Slack, "x-slack-request-timestamp") } else { (Scheme::StandardWebhooks, "webhook-timestamp") };
        let mut headers = into_map(sign(&scheme, &key, b"{}", NOW, &message_id));
        prop_assume!(text != NOW.to_string());
        headers.insert(header, HeaderValue::from_str(&text).unwrap());
        let result = run(&scheme, &headers, b"{}", std::slice::from_ref(&key), TOLERANCE, NOW);
        prop_assert!(result.is_err());
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            prop_assert_eq!(result, Err(SignatureError::MalformedHeader { header, reason: "timestamp is not decimal digits" }));
        }
    }

    /// Configured secrets of any text never panic the key parser. Every scheme but Standard
    /// Webhooks keys on the secret's bytes as they are; Standard Webhooks on the base64 it
    /// holds after an optional `whsec_`.
    #[test]
    fn key_parsing_never_panics_and_follows_the_rules(scheme in any_scheme(), secret in "\\PC{0,40}|[A-Za-z0-9+/=_]{0,40}|whsec_[A-Za-z0-9+/=]{0,40}") {
        let parsed = SigningKey::from_config(&scheme, &secret);
        match (&scheme, parsed) {
            (_, Err(KeyError::Empty)) => {
                let decoded = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(&secret));
                prop_assert!(secret.is_empty() || (scheme == Scheme::StandardWebhooks && decoded.is_ok_and(|d| d.is_empty())));
            }
            (Scheme::StandardWebhooks, Err(KeyError::NotBase64)) => {
                prop_assert!(STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(&secret)).is_err());
            }
            (Scheme::StandardWebhooks, Ok(key)) => {
                prop_assert_eq!(key.as_bytes(), STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(&secret)).unwrap());
            }
            (_, Ok(key)) => prop_assert_eq!(key.as_bytes(), secret.as_bytes()),
            (_, Err(other)) => prop_assert!(false, "{:?} for {:?}", other, scheme),
        }
    }

    /// A Standard Webhooks secret is any key bytes in base64, with or without `whsec_`.
    #[test]
    fn standard_webhooks_keys_round_trip_through_base64(bytes in vec(any::<u8>(), 1..64)) {
        let encoded = STANDARD.encode(&bytes);
        let expected = SigningKey::from_bytes(bytes);
        prop_assert_eq!(SigningKey::from_config(&Scheme::StandardWebhooks, &encoded), Ok(expected.clone()));
        prop_assert_eq!(SigningKey::from_config(&Scheme::StandardWebhooks, &format!("whsec_{encoded}")), Ok(expected));
    }
}
