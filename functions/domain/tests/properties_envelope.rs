//! Properties of the envelope (the SQS message body carrying a webhook byte-exactly) and of
//! the dead-letter decisions and status parsers that read what the queues carry.

use std::collections::BTreeMap;

use hookline_domain::Envelope;
use hookline_domain::IntakeBody;
use hookline_domain::body_ref::BodyRef;
use hookline_domain::dead_letter::{
    self, DeadLetterDecision, DeadLetterFacts, LedgerStatus, MAX_DELAY_SECONDS, ParkReason, Parked, ReplayPolicy,
};
use hookline_domain::envelope::{
    DESTINATIONS_ENVELOPE_VERSION, ENVELOPE_VERSION, EnvelopeBody, EnvelopeError, EventType, MAX_EMBEDDED_JSON_DEPTH,
    Origin, READABLE_ENVELOPE_VERSIONS, REFERENCE_ENVELOPE_VERSION, attribute, is_embeddable_json,
};
use hookline_domain::idempotency::{FailureKind, RecordStatus, RecordedError};
use hookline_domain::json_body::MAX_JSON_NESTING_DEPTH;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// Any character, with the ones JSON, SQS and UTF-8 handling treat specially made frequent.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => prop::char::range(' ', '~'),
        1 => prop::sample::select(vec![
            '"', '\\', '/', '\0', '\u{7}', '\u{8}', '\t', '\n', '\u{c}', '\r', '\u{1f}', '\u{7f}', '\u{80}',
            '\u{2028}', '\u{d7ff}', '\u{e000}', '\u{feff}', '\u{fffd}', '\u{fffe}', '\u{ffff}', '\u{10000}',
            '\u{10ffff}', 'é', '😀',
        ]),
    ]
}

fn any_text(max: usize) -> impl Strategy<Value = String> {
    vec(any_char(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Bodies of any bytes, text bodies (which take the UTF-8 path) of any characters, and JSON
/// bodies (which travel as themselves unless they hold U+FFFE or U+FFFF or nest too deep).
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..600), any_text(300).prop_map(String::into_bytes), any_json_body()]
}

/// JSON texts of any strings and numbers, compact or pretty, with any JSON whitespace
/// around them, and nesting near the deepest an envelope can carry.
fn any_json_body() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any_text(20).prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            btree_map(any_text(10), inner, 0..6).prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let whitespace = || "[ \t\r\n]{0,3}";
    // Up to the deepest intake accepts, one more than an envelope can carry.
    let deep = (MAX_JSON_NESTING_DEPTH - 3..=MAX_JSON_NESTING_DEPTH)
        .prop_map(|depth| serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap());
    (whitespace(), prop_oneof![4 => value, 1 => deep], any::<bool>(), whitespace()).prop_map(
        |(before, value, pretty, after)| {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) };
            format!("{before}{}{after}", text.unwrap()).into_bytes()
        },
    )
}

/// A source name and an event id ingest could make for it.
fn any_identity() -> impl Strategy<Value = (String, String)> {
    ("[a-z0-9][a-z0-9_-]{0,20}", "[!-~]{1,40}").prop_map(|(source, id)| (source.clone(), format!("{source}:{id}")))
}

fn any_envelope() -> impl Strategy<Value = Envelope> {
    (
        any_identity(),
        any_text(20),
        any_text(30),
        prop::option::of(any_text(30)),
        (btree_map(any_text(20), any_text(40), 0..6), btree_map(any_text(20), any_text(40), 0..3)),
        prop::option::of(("[!-~]{1,40}", any::<bool>())),
        any_body(),
        (prop::option::weighted(0.25, any_reference()), 1u8..4),
    )
        .prop_map(
            |(
                (source, event_id),
                scheme,
                received_at,
                content_type,
                (headers, signed_headers),
                event_type,
                body,
                (stored_body, destinations),
            )| {
                // A body that travels by reference is empty until a reader resolves it.
                let body = if stored_body.is_some() { Vec::new() } else { body };
                Envelope {
                    source,
                    event_id,
                    scheme,
                    received_at,
                    content_type,
                    headers,
                    signed_headers,
                    event_type: event_type.and_then(|(name, signed)| {
                        EventType::new(&name, if signed { Origin::Signed } else { Origin::Unsigned })
                    }),
                    body_is_json: stored_body.is_none() && is_embeddable_json(&body),
                    // 1: the events table, 2: EventBridge, 3: both.
                    destinations: hookline_domain::Destinations::from_list(
                        hookline_domain::Destination::ALL
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| destinations & (1 << i) != 0)
                            .map(|(_, d)| d),
                    )
                    .expect("1..4 names at least one"),
                    stored_body,
                    body,
                }
            },
        )
}

/// A reference ingest could make: a bucket, a key under `bodies/`, a size, a SHA-256.
fn any_reference() -> impl Strategy<Value = BodyRef> {
    ("[a-z0-9][a-z0-9.-]{2,40}", "[!-~]{1,80}", any::<u64>(), "[0-9a-f]{64}")
        .prop_map(|(bucket, rest, size, sha256)| BodyRef { bucket, key: format!("bodies/{rest}"), size, sha256 })
}

/// An envelope with short fixed fields around `body`, marked as intake would mark it.
fn minimal_envelope<B: EnvelopeBody>(body: B) -> Envelope<B> {
    Envelope {
        source: "s".into(),
        event_id: "s:1".into(),
        scheme: "github".into(),
        received_at: "2026-11-28T12:00:00.000Z".into(),
        content_type: None,
        headers: BTreeMap::new(),
        signed_headers: BTreeMap::new(),
        event_type: None,
        stored_body: None,
        body_is_json: is_embeddable_json(body.as_ref()),
        destinations: Default::default(),
        body,
    }
}

/// Characters SQS accepts in a message body or attribute value:
/// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
fn sqs_accepts(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

proptest! {
    /// Any envelope (any text in every field, any header map, any body bytes) survives
    /// `to_json` -> `from_json` exactly.
    #[test]
    fn envelopes_round_trip_through_json(envelope in any_envelope()) {
        prop_assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope));
    }

    /// The queue message carries the same JSON, the three routing attributes and no delay,
    /// and its body reads back as the same envelope.
    #[test]
    fn envelopes_round_trip_through_the_queue_message(envelope in any_envelope()) {
        let message = envelope.to_queue_message();
        prop_assert_eq!(&message.body, &envelope.to_json());
        prop_assert_eq!(message.delay_seconds, 0);
        let mut expected = vec![
            (attribute::SOURCE, envelope.source.clone()),
            (attribute::EVENT_ID, envelope.event_id.clone()),
            (attribute::SCHEME, envelope.scheme.clone()),
        ];
        if let Some(event_type) = &envelope.event_type {
            expected.push((attribute::EVENT_TYPE, event_type.name.clone()));
            expected.push((attribute::EVENT_TYPE_ORIGIN, event_type.origin.as_str().to_owned()));
        }
        prop_assert_eq!(&message.attributes, &expected);
        prop_assert_eq!(Envelope::from_json(&message.body), Ok(envelope));
    }

    /// SQS refuses a message whose body holds a character outside its allowed set, and a
    /// refused message is a webhook that can never be acknowledged: whatever the envelope
    /// holds, the body sent is made only of characters SQS accepts.
    #[test]
    fn queue_message_bodies_are_always_acceptable_to_sqs(envelope in any_envelope()) {
        let message = envelope.to_queue_message();
        let refused: Vec<char> = message.body.chars().filter(|c| !sqs_accepts(*c)).collect();
        prop_assert!(refused.is_empty(), "SQS would refuse {:?}", refused);
    }

    /// The body is never inflated beyond its base64 size plus the other fields.
    #[test]
    fn body_encoding_costs_at_most_base64(body in any_body()) {
        let envelope = minimal_envelope(body);
        let json = envelope.to_json();
        prop_assert!(json.len() <= envelope.body.len().div_ceil(3) * 4 + 200, "{} for {} bytes", json.len(), envelope.body.len());
    }

    /// A JSON body that may travel as itself does, byte for byte, as the envelope's last
    /// member; one that may not (U+FFFE, U+FFFF, or nesting too deep) is escaped. Either
    /// way serde_json reads the whole envelope as a `Value`.
    #[test]
    fn embeddable_json_bodies_travel_as_themselves(body in any_json_body()) {
        let text = String::from_utf8(body.clone()).unwrap();
        let envelope = Envelope { content_type: Some("application/json".into()), ..minimal_envelope(body) };
        let json = envelope.to_json();
        let embedded = json.ends_with(&format!(r#""body_encoding":"json","body":{text}}}"#));
        let nests = text.chars().filter(|c| *c == '[').count() <= MAX_EMBEDDED_JSON_DEPTH;
        prop_assert_eq!(embedded, !text.contains(['\u{FFFE}', '\u{FFFF}']) && nests, "{}", json);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "serde_json cannot read {}", json);
        prop_assert_eq!(Envelope::from_json(&json), Ok(envelope));
    }

    /// A body the HTTP layer holds as text is written exactly as the same bytes would be,
    /// without its UTF-8 being checked again.
    #[test]
    fn a_body_known_as_text_is_written_as_its_bytes_would_be(body in prop_oneof![any_text(300).prop_map(String::into_bytes), any_json_body()]) {
        let text = std::str::from_utf8(&body).unwrap();
        let as_text = minimal_envelope(IntakeBody::Text(text));
        let as_bytes = minimal_envelope(IntakeBody::Bytes(body.as_slice().into()));
        prop_assert_eq!(&as_text, &as_bytes);
        prop_assert_eq!(as_text.to_json(), as_bytes.to_json());
        prop_assert_eq!(Envelope::from_json(&as_text.to_json()), Ok(as_bytes.into_owned()));
    }

    /// A body that arrived as base64 is written as the same bytes would be: its own base64 text,
    /// where that is the encoding chosen, is what encoding the bytes writes.
    #[test]
    fn a_body_known_as_base64_is_written_as_its_bytes_would_be(body in any_body()) {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
        let as_base64 = minimal_envelope(IntakeBody::Decoded { bytes: body.clone(), base64: &encoded });
        let as_bytes = minimal_envelope(IntakeBody::Bytes(body.as_slice().into()));
        prop_assert_eq!(as_base64.to_json(), as_bytes.to_json());
        prop_assert_eq!(Envelope::from_json(&as_base64.to_json()), Ok(as_bytes.into_owned()));
    }

    /// `from_json` of any text returns: a typed error, or an envelope that then round-trips.
    #[test]
    fn from_json_of_arbitrary_text_never_panics(text in prop_oneof![any_text(200), "[{}\\[\\]\":,0-9a-z_ ]{0,200}"]) {
        if let Ok(envelope) = Envelope::from_json(&text) {
            prop_assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope));
        }
    }

    /// Mutations of a real envelope (a byte range replaced by arbitrary text) never panic;
    /// what still parses round-trips, and what fails says why with a typed error.
    #[test]
    fn mutated_envelopes_never_panic(
        envelope in any_envelope(),
        start in any::<prop::sample::Index>(),
        len in 0usize..12,
        insert in prop_oneof![any_text(6), "[{}\\[\\]\":,0-9a-z_=+/]{0,6}"],
    ) {
        let json = envelope.to_json();
        let mut start = start.index(json.len() + 1);
        while !json.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(json.len());
        while !json.is_char_boundary(end) {
            end += 1;
        }
        let mutated = format!("{}{}{}", &json[..start], insert, &json[end..]);
        match Envelope::from_json(&mutated) {
            Ok(parsed) => prop_assert_eq!(Envelope::from_json(&parsed.to_json()), Ok(parsed)),
            Err(
                EnvelopeError::Malformed(_)
                | EnvelopeError::UnsupportedVersion(_)
                | EnvelopeError::BadBase64
                | EnvelopeError::BodyNotString
                | EnvelopeError::Identity(_)
                | EnvelopeError::EventType
                | EnvelopeError::BodyReference,
            ) => {}
        }
    }

    /// Any source and event id: read exactly when ingest could have made them (a valid source
    /// name, and `{source}:` then 1-256 visible ASCII characters); refused as such otherwise.
    #[test]
    fn only_identities_ingest_makes_are_read(source in prop_oneof![any_text(12), "[a-z]{1,8}"],
                                             rest in prop_oneof![any_text(12), "[!-~]{0,12}", Just("x".repeat(257))],
                                             prefixed in any::<bool>()) {
        let event_id = if prefixed { format!("{source}:{rest}") } else { rest.clone() };
        let mut envelope = minimal_envelope(b"{}".to_vec());
        envelope.source = source.clone();
        envelope.event_id = event_id.clone();
        let valid_name = !source.is_empty() && source.len() <= 64
            && source.as_bytes()[0].is_ascii_alphanumeric()
            && source.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        let valid_id = event_id.strip_prefix(&format!("{source}:"))
            .is_some_and(|id| !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic()));
        match Envelope::from_json(&envelope.to_json()) {
            Ok(read) => {
                prop_assert!(valid_name && valid_id, "read {source:?} {event_id:?}");
                prop_assert_eq!(read, envelope);
            }
            Err(EnvelopeError::Identity(_)) => prop_assert!(!(valid_name && valid_id), "refused {source:?} {event_id:?}"),
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    /// The versions this reader knows are read; every other one is refused by number. A body
    /// reference is read only in version 4 or later: an envelope calling itself older that
    /// holds one is refused as such, and destinations only in version 5 or later.
    #[test]
    fn only_known_versions_are_read(envelope in any_envelope(), version in prop_oneof![any::<u32>(), 0u32..7]) {
        let routed = !envelope.destinations.is_default();
        let written = if routed {
            DESTINATIONS_ENVELOPE_VERSION
        } else if envelope.stored_body.is_some() {
            REFERENCE_ENVELOPE_VERSION
        } else {
            ENVELOPE_VERSION
        };
        let json = envelope.to_json().replacen(
            &format!("\"version\":{written}"),
            &format!("\"version\":{version}"),
            1,
        );
        if !READABLE_ENVELOPE_VERSIONS.contains(&version) {
            prop_assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::UnsupportedVersion(version)));
        } else if routed && version < DESTINATIONS_ENVELOPE_VERSION {
            prop_assert!(matches!(Envelope::from_json(&json), Err(EnvelopeError::Malformed(_))));
        } else if envelope.stored_body.is_some() && version < REFERENCE_ENVELOPE_VERSION {
            prop_assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::BodyReference));
        } else {
            prop_assert_eq!(Envelope::from_json(&json), Ok(envelope));
        }
    }

    /// A base64 body that does not decode is refused as such, never read as other bytes.
    #[test]
    fn undecodable_base64_bodies_are_refused(body in "[A-Za-z0-9+/=!_-]{0,40}") {
        let json = format!(
            r#"{{"version":1,"source":"s","event_id":"s:1","scheme":"github","received_at":"t","body_encoding":"base64","body":"{body}"}}"#
        );
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(&body) {
            Ok(bytes) => prop_assert_eq!(Envelope::from_json(&json).map(|e| e.body), Ok(bytes)),
            Err(_) => prop_assert_eq!(Envelope::from_json(&json), Err(EnvelopeError::BadBase64)),
        }
    }

    /// The ledger and idempotency status parsers take any text, accept exactly the names
    /// they write, and read back what they wrote.
    #[test]
    fn status_parsers_accept_exactly_their_own_names(text in prop_oneof![any_text(12), "(REPLAYED|PARKED|REDRIVEN|IN_PROGRESS|COMPLETED|FAILED)"]) {
        match LedgerStatus::parse(&text) {
            Some(status) => prop_assert_eq!(status.as_str(), text.as_str()),
            None => prop_assert!(!["REPLAYED", "PARKED", "REDRIVEN"].contains(&text.as_str())),
        }
        match RecordStatus::parse(&text) {
            Some(status) => prop_assert_eq!(status.as_str(), text.as_str()),
            None => prop_assert!([RecordStatus::InProgress, RecordStatus::Completed, RecordStatus::Failed].iter().all(|s| s.as_str() != text)),
        }
    }

    /// A dead letter's fate, for any facts, policy and random number (NaN and infinities
    /// included): never a panic; malformed bodies are parked, completed events dropped,
    /// permanent failures parked, replays counted up to the budget and delayed by at most
    /// what SQS accepts.
    #[test]
    fn dead_letter_decisions_respect_the_policy(
        is_envelope in any::<bool>(),
        completed in any::<bool>(),
        parked in prop_oneof![Just(Parked::No), Just(Parked::ThisLetter), Just(Parked::AnotherLetter)],
        failure in prop::option::of(any::<bool>()),
        replay_count in prop_oneof![any::<u32>(), 0u32..10],
        budget in prop_oneof![any::<u32>(), 0u32..10],
        base in any::<u32>(),
        cap in any::<u32>(),
        unit in prop_oneof![any::<f64>(), 0.0..1.0, Just(f64::NAN), Just(f64::INFINITY), Just(-0.0)],
    ) {
        let failure = failure.map(|permanent| {
            let kind = if permanent { FailureKind::Permanent } else { FailureKind::Transient };
            RecordedError::new(kind, "Class", "message")
        });
        let permanent = failure.as_ref().is_some_and(|f| f.kind == FailureKind::Permanent);
        let facts = DeadLetterFacts { is_envelope, completed, failure, replay_count, parked };
        let decision = dead_letter::decide(&facts, &ReplayPolicy::new(budget, base, cap), unit);
        let expected_park = if !is_envelope {
            Some(ParkReason::Malformed)
        } else if completed {
            prop_assert_eq!(&decision, &DeadLetterDecision::DropCompleted);
            None
        } else if parked != Parked::No {
            let expected = if parked == Parked::ThisLetter {
                DeadLetterDecision::Redriven
            } else {
                DeadLetterDecision::DropParkedDuplicate
            };
            prop_assert_eq!(&decision, &expected);
            None
        } else if permanent {
            Some(ParkReason::Permanent)
        } else if replay_count >= budget {
            Some(ParkReason::ReplayBudgetSpent)
        } else {
            None
        };
        match decision {
            DeadLetterDecision::Park { reason } => prop_assert_eq!(Some(reason), expected_park),
            DeadLetterDecision::DropCompleted => prop_assert!(is_envelope && completed),
            DeadLetterDecision::DropParkedDuplicate => prop_assert!(is_envelope && !completed && parked == Parked::AnotherLetter),
            DeadLetterDecision::Redriven => prop_assert!(is_envelope && !completed && parked == Parked::ThisLetter),
            DeadLetterDecision::Replay { delay_seconds, replay_count: next } => {
                prop_assert!(expected_park.is_none() && !completed && parked == Parked::No);
                prop_assert_eq!(next, replay_count + 1);
                prop_assert!(next <= budget);
                prop_assert!(delay_seconds <= MAX_DELAY_SECONDS);
            }
        }
    }
}
