//! [`DeadLetterLedger`] over DynamoDB. Table: partition key `event_id` (S); no TTL, since
//! the ledger is what outlives the queues' retention.
//!
//! A record keeps the latest dead letter's envelope, unless it is larger than
//! [`MAX_RECORDED_ENVELOPE_BYTES`]: a DynamoDB item holds 400 KB, and an envelope that large
//! (an inline body written before the inline threshold existed, or a message from elsewhere)
//! would make every write of the record fail. Such a record keeps [`omitted_envelope`] in its
//! place: the envelope's size and SHA-256; the letter itself is in the queues, and its parked
//! copy is redriven from the parking queue. Envelopes that travel by reference are small.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use hookline_domain::dead_letter::{LedgerEntry, LedgerStatus};
use hookline_domain::idempotency::{FailureKind, RecordedError};
use hookline_ports::{DeadLetterLedger, LedgerRecord, LedgerSighting, StoreError};

use crate::dynamo_values::{n, s, store_error as error};

#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Largest envelope kept in a ledger record: with the record's other attributes and a long
/// history of sightings it stays under DynamoDB's 400 KB item limit.
pub const MAX_RECORDED_ENVELOPE_BYTES: usize = 300_000;

/// What a record keeps in place of an envelope over [`MAX_RECORDED_ENVELOPE_BYTES`]: not an
/// envelope (`Envelope::from_json` refuses it), a JSON object naming its size and SHA-256.
pub fn omitted_envelope(envelope: &str) -> String {
    format!(
        r#"{{"envelope_omitted":{{"reason":"larger than a ledger record holds; redrive the parked message itself","bytes":{},"sha256":"{}"}}}}"#,
        envelope.len(),
        hookline_domain::idempotency::fingerprint(envelope.as_bytes())
    )
}

const LATEST: &str = "SET #status = :status, envelope = :envelope, last_message_id = :mid, letter_id = :letter, \
     receive_count = :rc, letter_receive_count = :lrc, attempts = :attempts, replay_count = :replays, last_seen = :now, \
     first_seen = if_not_exists(first_seen, :now), #source = :source, error_kind = :kind, error_class = :class, \
     error_message = :message";
const APPEND: &str = "history = list_append(if_not_exists(history, :empty), :sighting)";

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLedger { client, table: table.into() }
    }

    fn update(
        &self,
        entry: &LedgerEntry,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let failure = entry.failure.as_ref();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("event_id", s(&entry.event_id))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#source", "source")
            .expression_attribute_values(":status", s(entry.status.as_str()))
            .expression_attribute_values(":envelope", s(recorded_envelope(&entry.envelope)))
            .expression_attribute_values(":mid", s(&entry.message_id))
            .expression_attribute_values(":letter", s(&entry.letter_id))
            .expression_attribute_values(":rc", n(entry.receive_count))
            .expression_attribute_values(":lrc", n(entry.letter_receive_count))
            .expression_attribute_values(":attempts", n(entry.attempts))
            .expression_attribute_values(":replays", n(entry.replay_count))
            .expression_attribute_values(":now", n(entry.seen_at_millis))
            .expression_attribute_values(":source", s(entry.source.as_deref().unwrap_or("-")))
            .expression_attribute_values(":kind", s(failure.map_or("-", |f| f.kind.as_str())))
            .expression_attribute_values(":class", s(failure.map_or("-", |f| f.class.as_str())))
            .expression_attribute_values(":message", s(failure.map_or("-", |f| f.message.as_str())))
    }
}

fn recorded_envelope(envelope: &str) -> std::borrow::Cow<'_, str> {
    if envelope.len() <= MAX_RECORDED_ENVELOPE_BYTES {
        std::borrow::Cow::Borrowed(envelope)
    } else {
        std::borrow::Cow::Owned(omitted_envelope(envelope))
    }
}

fn sighting(entry: &LedgerEntry) -> AttributeValue {
    let failure = entry.failure.as_ref();
    AttributeValue::M(HashMap::from([
        ("at".to_owned(), n(entry.seen_at_millis)),
        ("message_id".to_owned(), s(&entry.message_id)),
        ("status".to_owned(), s(entry.status.as_str())),
        ("class".to_owned(), s(failure.map_or("-", |f| f.class.as_str()))),
        ("message".to_owned(), s(failure.map_or("-", |f| f.message.as_str()))),
    ]))
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).filter(|v| v.as_str() != "-").cloned()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn parse(item: &HashMap<String, AttributeValue>) -> Option<LedgerRecord> {
    let failure = text(item, "error_class").map(|class| {
        let kind = if text(item, "error_kind").as_deref() == Some("permanent") {
            FailureKind::Permanent
        } else {
            FailureKind::Transient
        };
        RecordedError::new(kind, class, text(item, "error_message").unwrap_or_default())
    });
    let history = item
        .get("history")
        .and_then(|v| v.as_l().ok())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_m().ok())
                .filter_map(|m| {
                    Some(LedgerSighting {
                        seen_at_millis: number(m, "at"),
                        message_id: text(m, "message_id")?,
                        status: LedgerStatus::parse(&text(m, "status")?)?,
                        error_class: text(m, "class"),
                        error_message: text(m, "message"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(LedgerRecord {
        latest: LedgerEntry {
            event_id: text(item, "event_id")?,
            source: text(item, "source"),
            envelope: text(item, "envelope").unwrap_or_default(),
            message_id: text(item, "last_message_id").unwrap_or_default(),
            letter_id: text(item, "letter_id").or_else(|| text(item, "last_message_id")).unwrap_or_default(),
            receive_count: number(item, "receive_count") as u32,
            letter_receive_count: number(item, "letter_receive_count") as u32,
            attempts: number(item, "attempts") as u32,
            failure,
            status: LedgerStatus::parse(&text(item, "status")?)?,
            replay_count: number(item, "replay_count") as u32,
            seen_at_millis: number(item, "last_seen"),
        },
        first_seen_millis: number(item, "first_seen"),
        history,
        version: number(item, "version") as u64,
    })
}

impl DeadLetterLedger for DynamoLedger {
    async fn record(&self, entry: &LedgerEntry, previous: Option<&LedgerRecord>) -> Result<bool, StoreError> {
        let version = previous.map_or(0, |p| p.version);
        let seen_before = previous.is_some_and(|p| p.latest.message_id == entry.message_id && !p.history.is_empty());
        let update = if entry.status == LedgerStatus::Duplicate {
            // Only the history grows: the latest entry stays the parked copy's.
            self.client
                .update_item()
                .table_name(&self.table)
                .key("event_id", s(&entry.event_id))
                .update_expression(format!("SET {APPEND}, last_seen = :now, version = :next"))
                .expression_attribute_values(":now", n(entry.seen_at_millis))
        } else if seen_before {
            self.update(entry).update_expression(format!("{LATEST}, version = :next"))
        } else {
            self.update(entry).update_expression(format!("{LATEST}, {APPEND}, version = :next"))
        };
        let update = if entry.status == LedgerStatus::Duplicate || !seen_before {
            update
                .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":sighting", AttributeValue::L(vec![sighting(entry)]))
        } else {
            update
        };
        // Written only over the version read; a record from before versions existed reads
        // as version 0, like a missing one.
        let update = update.expression_attribute_values(":next", n(version + 1));
        let update = if version == 0 {
            update.condition_expression("attribute_not_exists(version)")
        } else {
            update.condition_expression("version = :version").expression_attribute_values(":version", n(version))
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(error("record", e)),
        }
    }

    async fn get(&self, event_id: &str) -> Result<Option<LedgerRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("event_id", s(event_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error("get", e))?;
        Ok(output.item.as_ref().and_then(parse))
    }

    async fn list(&self, status: Option<LedgerStatus>) -> Result<Vec<LedgerRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let mut scan = self.client.scan().table_name(&self.table).set_exclusive_start_key(start);
            if let Some(status) = status {
                scan = scan
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let page = scan.send().await.map_err(|e| error("list", e))?;
            records.extend(page.items().iter().filter_map(parse));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        records.sort_by_key(|r| r.first_seen_millis);
        Ok(records)
    }

    async fn mark(&self, event_id: &str, status: LedgerStatus) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("event_id", s(event_id))
            // A new version, so that a reprocess decision read before this one is made again.
            .update_expression("SET #status = :status, version = if_not_exists(version, :zero) + :one")
            .condition_expression("attribute_exists(event_id)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("mark", e))
    }
}
