//! The events table ([`EventStore`]): one item per event, written by one conditional
//! `PutItem` that is its own idempotency record. The write succeeds only for a new event id;
//! when the id is already there, DynamoDB hands back the stored item
//! (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), and its `body_sha256` tells a duplicate
//! (the same payload: nothing is written) from a payload conflict (another body under the
//! same id). So the events-table destination needs no claim and no COMPLETED marker: one
//! write per webhook.
//!
//! Table: partition key `event_id` (S). Bodies up to [`MAX_STORED_BODY_BYTES`] are stored
//! as binary (`body`). A larger one, which always travels by reference (ingest's inline
//! threshold is below this size), is kept as that reference (`body_ref`: bucket, key, size,
//! SHA-256), since a DynamoDB item is limited to 400 KB: the object lives for the bucket's
//! `BodyRetentionDays`, so a consumer that needs the body longer copies it. An inline body
//! above the size (possible only for a message written by something other than ingest) is
//! kept as its SHA-256 with `body_omitted = true`.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use hookline_domain::Envelope;
use hookline_ports::{EventStore, EventStoreError, Recorded};

use crate::dynamo_values::store_error;

/// Largest body stored inline (DynamoDB items are limited to 400 KB including names).
pub const MAX_STORED_BODY_BYTES: usize = 350_000;

#[derive(Debug, Clone)]
pub struct DynamoEventsSink {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Attribute names of an event's item that the sink reads back.
pub mod field {
    pub const EVENT_ID: &str = "event_id";
    pub const BODY_SHA256: &str = "body_sha256";
}

impl DynamoEventsSink {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoEventsSink { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn event_put(&self, event: &Envelope, attempt: u32) -> PutItemFluentBuilder {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("event_id", AttributeValue::S(event.event_id.clone()))
            .item("source", AttributeValue::S(event.source.clone()))
            .item("scheme", AttributeValue::S(event.scheme.clone()))
            .item("received_at", AttributeValue::S(event.received_at.clone()))
            .item("attempt", AttributeValue::N(attempt.to_string()))
            .item(field::BODY_SHA256, AttributeValue::S(event.body_sha256_hex()))
            .condition_expression("attribute_not_exists(event_id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
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
        put
    }
}

impl EventStore for DynamoEventsSink {
    async fn store(&self, event: &Envelope, attempt: u32) -> Result<Recorded, EventStoreError> {
        let fingerprint = event.body_sha256_hex();
        match self.event_put(event, attempt).send().await {
            Ok(_) => Ok(Recorded::Stored),
            Err(SdkError::ServiceError(service)) if service.err().is_conditional_check_failed_exception() => {
                let PutItemError::ConditionalCheckFailedException(failed) = service.into_err() else {
                    unreachable!("checked just above")
                };
                let stored =
                    failed.item().and_then(|item| item.get(field::BODY_SHA256)).and_then(|v| v.as_s().ok()).cloned();
                match stored {
                    Some(stored) if stored == fingerprint => Ok(Recorded::AlreadyStored),
                    Some(stored) => Ok(Recorded::Conflict { stored_fingerprint: stored }),
                    None => Err(EventStoreError {
                        retryable: true,
                        message: "the event is stored, but its item could not be read back".into(),
                    }),
                }
            }
            Err(error) => Err(events_table_error("put", error)),
        }
    }

    async fn stored_fingerprint(&self, event_id: &str) -> Result<Option<String>, EventStoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(field::EVENT_ID, AttributeValue::S(event_id.to_owned()))
            .projection_expression(field::BODY_SHA256)
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| events_table_error("get", error))?;
        Ok(output.item.and_then(|item| item.get(field::BODY_SHA256).and_then(|v| v.as_s().ok()).cloned()))
    }
}

/// A failed request as an [`EventStoreError`], classified as the other DynamoDB adapters'
/// ([`store_error`]: a refused request is not retried).
fn events_table_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> EventStoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let error = store_error(operation, error);
    EventStoreError { retryable: error.retryable, message: error.message }
}
