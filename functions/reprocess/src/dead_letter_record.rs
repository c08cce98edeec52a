//! A dead-letter queue record, from Lambda's SQS event.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

/// One dead letter, with its string message attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRecord {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub receive_count: u32,
    pub attributes: BTreeMap<String, String>,
}

/// A record without a message id cannot be reported: the whole batch fails instead.
#[derive(Debug, thiserror::Error)]
#[error("an SQS record has no messageId; failing the whole batch so that nothing is lost")]
pub struct UnidentifiableRecord;

pub fn dead_letter_records(event: SqsEvent) -> Result<Vec<DeadLetterRecord>, UnidentifiableRecord> {
    event
        .records
        .into_iter()
        .map(|message| {
            Ok(DeadLetterRecord {
                message_id: message.message_id.filter(|id| !id.is_empty()).ok_or(UnidentifiableRecord)?,
                receipt_handle: message.receipt_handle.unwrap_or_default(),
                body: message.body.unwrap_or_default(),
                receive_count: message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                attributes: message
                    .message_attributes
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value.string_value?)))
                    .collect(),
            })
        })
        .collect()
}

/// Lists exactly the message ids given.
pub fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
