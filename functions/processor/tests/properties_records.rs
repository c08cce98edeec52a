//! Properties of the processor's edge: Lambda's SQS records of any shape are converted or
//! refused with a typed error, and a record body of any text is either an envelope that is
//! processed or a malformed record that is dead-lettered as it was, never a panic.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::SqsEvent;
use hookline_aws::lambda_sqs::inbound_records;
use hookline_domain::Envelope;
use hookline_domain::InboundRecord;
use hookline_domain::backoff::Backoff;
use hookline_domain::dead_letter::attribute as dead_letter_attribute;
use hookline_ports::fakes::{
    FixedClock, MemoryIdempotencyStore, MemoryQueue, MemoryVisibility, ScriptedHandler, sample_envelope,
};
use hookline_processor::{Processor, ProcessorSettings, RecordOutcome};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: i64 = 1_795_867_200_000;
const DEADLINE: i64 = NOW + 30_000;

/// Any character, with those JSON and SQS treat specially made frequent.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        3 => prop::char::range(' ', '~'),
        1 => prop::sample::select(vec!['"', '\\', '{', '}', '\0', '\n', '\u{fffd}', '\u{fffe}', '\u{ffff}', 'é']),
    ];
    vec(c, 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// An optional JSON string, sometimes of the wrong type.
fn optional_string() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        4 => any_text(20).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(Value::from),
    ])
}

fn message_attribute() -> impl Strategy<Value = Value> {
    (
        prop::option::of(any_text(20)),
        prop::option::of(prop_oneof![Just("String"), Just("Number"), Just("Binary"), Just("String.custom")]),
        prop::option::of(prop_oneof!["[A-Za-z0-9+/]{0,12}={0,2}", any_text(6)]),
    )
        .prop_map(|(string_value, data_type, binary_value)| {
            let mut attribute = json!({});
            if let Some(s) = string_value {
                attribute["stringValue"] = json!(s);
            }
            if let Some(t) = data_type {
                attribute["dataType"] = json!(t);
            }
            if let Some(b) = binary_value {
                attribute["binaryValue"] = json!(b);
            }
            attribute
        })
}

/// A Lambda SQS record as JSON: every field optional, any text, counts of any spelling.
fn record_json() -> impl Strategy<Value = Value> {
    (
        optional_string(),
        optional_string(),
        prop::option::of(prop_oneof![any_text(80), envelope_text()]),
        prop::option::of(prop_oneof!["[0-9]{1,12}", any_text(6), Just("-1".to_owned()), Just("0".to_owned())]),
        btree_map(any_text(12), message_attribute(), 0..4),
    )
        .prop_map(|(message_id, receipt_handle, body, receive_count, attributes)| {
            let mut record = json!({ "eventSource": "aws:sqs" });
            if let Some(id) = message_id {
                record["messageId"] = id;
            }
            if let Some(handle) = receipt_handle {
                record["receiptHandle"] = handle;
            }
            if let Some(body) = body {
                record["body"] = json!(body);
            }
            if let Some(count) = receive_count {
                record["attributes"] = json!({ "ApproximateReceiveCount": count });
            }
            record["messageAttributes"] = Value::Object(attributes.into_iter().collect());
            record
        })
}

/// The text of a real envelope of any body.
fn envelope_text() -> impl Strategy<Value = String> {
    ("[a-z]{1,8}", "[!-~]{1,20}", vec(any::<u8>(), 0..100))
        .prop_map(|(source, id, body)| sample_envelope(&format!("{source}:{id}"), &body).to_json())
}

/// Record bodies: any text, near-envelopes (one field of a real envelope given any value),
/// and real envelopes.
fn record_body() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "version",
        "source",
        "event_id",
        "scheme",
        "received_at",
        "content_type",
        "headers",
        "body_encoding",
        "body",
        "unknown",
    ]);
    let value = prop_oneof![
        any_text(20).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!({ "k": 1 })),
        Just(json!("base64")),
    ];
    prop_oneof![
        2 => any_text(120),
        2 => (envelope_text(), field, value).prop_map(|(text, field, value)| {
            let mut object: Value = serde_json::from_str(&text).unwrap();
            object[field] = value;
            object.to_string()
        }),
        1 => envelope_text(),
    ]
}

/// Characters SQS accepts in a message body or attribute value.
fn sqs_accepts(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

struct World {
    store: MemoryIdempotencyStore,
    handler: ScriptedHandler,
    dlq: MemoryQueue,
}

impl World {
    fn new() -> Self {
        World { store: MemoryIdempotencyStore::new(), handler: ScriptedHandler::new(), dlq: MemoryQueue::new() }
    }

    fn process(&self, records: Vec<InboundRecord>) -> Vec<hookline_processor::processor::RecordReport> {
        let processor = Processor::new(
            self.store.clone(),
            self.handler.clone(),
            MemoryVisibility::new(),
            self.dlq.clone(),
            FixedClock(NOW),
            ProcessorSettings { backoff: Backoff::new(2, 900), ..ProcessorSettings::default() },
        );
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(processor.process_batch(records, DEADLINE))
    }
}

proptest! {
    /// Any Lambda SQS event JSON: it is refused by the event's own deserialiser, or
    /// converted; the conversion refuses the batch (typed error) exactly when a record has
    /// no usable message id, and otherwise keeps ids, bodies and string attributes and reads
    /// the receive count (1 when absent or unreadable).
    #[test]
    fn sqs_events_of_any_shape_convert_or_fail_typed(records in vec(record_json(), 0..5)) {
        let event = json!({ "Records": records });
        let Ok(parsed) = serde_json::from_value::<SqsEvent>(event.clone()) else {
            return Ok(());
        };
        let expected_ids: Vec<Option<String>> = parsed
            .records
            .iter()
            .map(|r| r.message_id.clone().filter(|id| !id.is_empty()))
            .collect();
        let expected: Vec<(String, u32, BTreeMap<String, String>)> = parsed
            .records
            .iter()
            .map(|r| {
                let count = r.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
                let strings = r
                    .message_attributes
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.string_value.clone()?)))
                    .collect();
                (r.body.clone().unwrap_or_default(), count, strings)
            })
            .collect();
        match inbound_records(parsed) {
            Err(_) => prop_assert!(expected_ids.iter().any(Option::is_none)),
            Ok(converted) => {
                prop_assert!(expected_ids.iter().all(Option::is_some));
                prop_assert_eq!(converted.len(), expected.len());
                for ((record, id), (body, count, attributes)) in converted.iter().zip(&expected_ids).zip(&expected) {
                    prop_assert_eq!(Some(&record.message_id), id.as_ref());
                    prop_assert_eq!(&record.body, body);
                    prop_assert_eq!(record.receive_count, *count);
                    prop_assert_eq!(&record.attributes, attributes);
                }
            }
        }
    }

    /// A batch of records with any bodies: every record gets a report, in order. A body
    /// that is an envelope is handled once and acknowledged; any other body is never handed
    /// to the handler, is dead-lettered as it arrived with the `MalformedEnvelope` class and
    /// its original message id, and the dead letter carries only text SQS accepts.
    #[test]
    fn records_of_any_body_are_processed_or_dead_lettered(bodies in vec(record_body(), 1..6)) {
        let world = World::new();
        let records: Vec<InboundRecord> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| InboundRecord {
                message_id: format!("m{i}"),
                receipt_handle: format!("rh{i}"),
                body: body.clone(),
                receive_count: 1,
                attributes: BTreeMap::new(),
            })
            .collect();
        let reports = world.process(records);
        prop_assert_eq!(reports.len(), bodies.len());
        let dead_letters = world.dlq.messages();
        let mut expected_calls = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, (report, body)) in reports.iter().zip(&bodies).enumerate() {
            prop_assert_eq!(&report.message_id, &format!("m{i}"));
            match Envelope::from_json(body) {
                Ok(envelope) => {
                    let first = seen.insert(envelope.event_id.clone());
                    if first {
                        prop_assert!(matches!(report.outcome, RecordOutcome::Processed), "{:?}", report.outcome);
                        expected_calls.push(envelope.event_id);
                    } else {
                        prop_assert!(
                            matches!(report.outcome, RecordOutcome::Duplicate | RecordOutcome::DeadLettered { .. }),
                            "{:?}",
                            report.outcome
                        );
                    }
                }
                Err(_) => {
                    prop_assert_eq!(&report.outcome, &RecordOutcome::DeadLettered { class: "MalformedEnvelope".into() });
                    let sent = dead_letters
                        .iter()
                        .find(|m| {
                            m.attributes.iter().any(|(k, v)| *k == dead_letter_attribute::ORIGINAL_MESSAGE_ID && *v == format!("m{i}"))
                        });
                    prop_assert!(sent.is_some_and(|m| m.body == *body));
                }
            }
        }
        let mut calls = world.handler.calls();
        calls.sort();
        expected_calls.sort();
        prop_assert_eq!(calls, expected_calls);
        for message in &dead_letters {
            for (name, value) in &message.attributes {
                let refused: Vec<char> = value.chars().filter(|c| !sqs_accepts(*c)).collect();
                prop_assert!(refused.is_empty(), "attribute {} would be refused by SQS: {:?}", name, value);
            }
        }
    }
}
