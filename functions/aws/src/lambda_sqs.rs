//! Lambda's SQS event in, its partial batch response (ReportBatchItemFailures) out: what the
//! processor and reprocess functions share of Lambda's event source mapping.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::InboundRecord;

/// A record Lambda delivered that cannot be processed at all (no message id): it cannot be
/// reported either, so the whole batch must fail for it to be retried.
#[derive(Debug, thiserror::Error)]
#[error("an SQS record has no messageId; failing the whole batch so that nothing is lost")]
pub struct UnidentifiableRecord;

/// Converts the event's records. Missing receipt handles or bodies become empty strings:
/// such a record then fails on its own (as a malformed envelope), never silently.
pub fn inbound_records(event: SqsEvent) -> Result<Vec<InboundRecord>, UnidentifiableRecord> {
    event.records.into_iter().map(inbound_record).collect()
}

fn inbound_record(message: SqsMessage) -> Result<InboundRecord, UnidentifiableRecord> {
    let message_id = message.message_id.filter(|id| !id.is_empty()).ok_or(UnidentifiableRecord)?;
    let receive_count =
        message.attributes.get("ApproximateReceiveCount").and_then(|count| count.parse().ok()).unwrap_or(1);
    Ok(InboundRecord {
        message_id,
        receipt_handle: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        receive_count,
        attributes: message
            .message_attributes
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.string_value?)))
            .collect(),
    })
}

/// The partial batch response listing exactly `failed` (ReportBatchItemFailures).
pub fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|message_id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_BATCH: &str = include_str!("../../../events/processor/good-batch.json");

    #[test]
    fn reads_the_sample_batch() {
        let event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        let records = inbound_records(event).unwrap();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| !r.receipt_handle.is_empty() && r.receive_count >= 1));
        assert_eq!(records[0].attributes["hookline.event_id"], "stripe:evt_sample_1");
    }

    /// Ingest writes a JSON body as itself; the middle record is as an earlier ingest wrote
    /// it, escaped in a string. Both read back as the same bytes.
    #[test]
    fn the_sample_batch_carries_bodies_as_json_and_as_text() {
        let event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        for (i, record) in inbound_records(event).unwrap().iter().enumerate() {
            let envelope = hookline_domain::Envelope::from_json(&record.body).unwrap();
            let expected = format!(r#"{{"id": "evt_sample_{}", "type": "charge.succeeded"}}"#, i + 1);
            assert_eq!(envelope.body, expected.as_bytes());
            assert_eq!(envelope.body_is_json, i != 1, "record {i}");
        }
    }

    #[test]
    fn the_response_lists_exactly_the_failed_ids_in_order() {
        let response = batch_response(["b".to_owned(), "e".to_owned()]);
        let ids: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(ids, ["b", "e"]);
        assert!(batch_response([]).batch_item_failures.is_empty());
    }

    #[test]
    fn a_record_without_message_id_fails_the_batch() {
        let mut event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        event.records[1].message_id = None;
        assert!(inbound_records(event).is_err());
    }
}
