//! The default [`WebhookHandler`]: stores each event in a DynamoDB events table, writing the
//! event and the COMPLETED marker in one `TransactWriteItems`, so the effect happens exactly
//! once even if the function dies right after it.
//!
//! Table: partition key `event_id` (S). Bodies up to [`MAX_STORED_BODY_BYTES`] are stored
//! as binary (`body`). A larger one, which always travels by reference (ingest's inline
//! threshold is below this size), is kept as that reference (`body_ref`: bucket, key, size,
//! SHA-256), since a DynamoDB item is limited to 400 KB: the object lives for the bucket's
//! `BodyRetentionDays`, so a consumer that needs the body longer copies it. An inline body
//! above the size (possible only for a message written by something other than ingest) is
//! kept as its SHA-256 with `body_omitted = true`.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use hookline_domain::Envelope;
use hookline_ports::{Claim, Handled, HandlerError, IdempotencyStore, WebhookHandler};

use crate::dynamo_idempotency_store::DynamoIdempotencyStore;

/// Largest body stored inline (DynamoDB items are limited to 400 KB including names).
pub const MAX_STORED_BODY_BYTES: usize = 350_000;

#[derive(Debug, Clone)]
pub struct DynamoEventsSink {
    client: aws_sdk_dynamodb::Client,
    table: String,
    store: DynamoIdempotencyStore,
}

impl DynamoEventsSink {
    /// `store` must be the idempotency store the processor claims with.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, store: DynamoIdempotencyStore) -> Self {
        DynamoEventsSink { client, table: table.into(), store }
    }

    fn event_put(&self, event: &Envelope, claim: &Claim) -> Put {
        let mut put = Put::builder()
            .table_name(&self.table)
            .item("event_id", AttributeValue::S(event.event_id.clone()))
            .item("source", AttributeValue::S(event.source.clone()))
            .item("scheme", AttributeValue::S(event.scheme.clone()))
            .item("received_at", AttributeValue::S(event.received_at.clone()))
            .item("attempt", AttributeValue::N(claim.attempt.to_string()))
            .item("body_sha256", AttributeValue::S(event.body_sha256_hex()))
            .condition_expression("attribute_not_exists(event_id)");
        if let Some(content_type) = &event.content_type {
            put = put.item("content_type", AttributeValue::S(content_type.clone()));
        }
        let map = |headers: &std::collections::BTreeMap<String, String>| {
            AttributeValue::M(headers.iter().map(|(k, v)| (k.clone(), AttributeValue::S(v.clone()))).collect())
        };
        if !event.headers.is_empty() {
            put = put.item("headers", map(&event.headers));
        }
        if !event.signed_headers.is_empty() {
            put = put.item("signed_headers", map(&event.signed_headers));
        }
        if let Some(event_type) = &event.event_type {
            put = put
                .item("event_type", AttributeValue::S(event_type.name.clone()))
                .item("event_type_origin", AttributeValue::S(event_type.origin.as_str().to_owned()));
        }
        put = match &event.stored_body {
            _ if event.body.len() <= MAX_STORED_BODY_BYTES => {
                put.item("body", AttributeValue::B(Blob::new(event.body.clone())))
            }
            Some(reference) => put.item(
                "body_ref",
                AttributeValue::M(
                    [
                        ("bucket", AttributeValue::S(reference.bucket.clone())),
                        ("key", AttributeValue::S(reference.key.clone())),
                        ("size", AttributeValue::N(reference.size.to_string())),
                        ("sha256", AttributeValue::S(reference.sha256.clone())),
                    ]
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value))
                    .collect(),
                ),
            ),
            None => {
                tracing::warn!(bytes = event.body.len(), "body too large for a DynamoDB item; storing its hash only");
                put.item("body_omitted", AttributeValue::Bool(true))
            }
        };
        put.build().expect("table, item and condition are set")
    }
}

impl WebhookHandler for DynamoEventsSink {
    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(self.event_put(event, claim)).build())
            .transact_items(
                TransactWriteItem::builder().update(self.store.completion_update(claim, claim.expires_at)).build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Handled::DoneAndCompleted),
            Err(SdkError::ServiceError(service)) => {
                let message = DisplayErrorContext(service.err()).to_string();
                let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.into_err() else {
                    return Err(HandlerError::transient("EventsTableUnavailable", message));
                };
                let codes: Vec<&str> =
                    cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
                match codes.as_slice() {
                    // The event is already stored (its marker expired since): the effect
                    // exists, so only the marker is missing.
                    ["ConditionalCheckFailed", "None"] => self
                        .store
                        .complete(claim, claim.expires_at)
                        .await
                        .map(|()| Handled::DoneAndCompleted)
                        .map_err(|e| HandlerError::transient("CompleteFailed", e.to_string())),
                    [_, "ConditionalCheckFailed"] => {
                        Err(HandlerError::transient("LockLost", "the claim expired and was taken over"))
                    }
                    _ => Err(HandlerError::transient("TransactionCanceled", format!("reasons: {codes:?}"))),
                }
            }
            Err(error) => {
                Err(HandlerError::transient("EventsTableUnavailable", DisplayErrorContext(&error).to_string()))
            }
        }
    }
}
