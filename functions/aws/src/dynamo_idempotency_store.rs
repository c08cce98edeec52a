//! [`IdempotencyStore`] over DynamoDB: one conditional write per step.
//!
//! Table: partition key `event_id` (S); TTL attribute `expires_at` (Unix seconds).
//! The claim is a conditional `UpdateItem` rather than a `PutItem` so that the attempt
//! count and the last error survive from one attempt to the next; on a conflict
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD` hands back the stored record, so a
//! conflict costs no second read.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, Update};
use hookline_domain::idempotency::{FailureKind, IdempotencyRecord, RecordStatus, RecordedError, classify_conflict};
use hookline_ports::idempotency_store::LOCK_LOST;
use hookline_ports::{Claim, ClaimOutcome, ClaimRequest, IdempotencyStore, StoreError};

use crate::dynamo_values::{n, s, store_error};

/// Attribute names of an idempotency record.
pub mod field {
    pub const EVENT_ID: &str = "event_id";
    pub const STATUS: &str = "status";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const LOCK_EXPIRES_AT: &str = "lock_expires_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ATTEMPTS: &str = "attempts";
    pub const TOKEN: &str = "claim_token";
    pub const LAST_ERROR_KIND: &str = "last_error_kind";
    pub const LAST_ERROR_CLASS: &str = "last_error_class";
    pub const LAST_ERROR_MESSAGE: &str = "last_error_message";
    pub const UPDATED_AT: &str = "updated_at";
}

const CLAIM_CONDITION: &str = "attribute_not_exists(event_id) OR expires_at <= :now_s \
     OR (#status <> :completed AND lock_expires_at <= :now_ms AND fingerprint = :fp)";
const HELD_CONDITION: &str = "claim_token = :token AND #status = :in_progress";

#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn new_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl DynamoIdempotencyStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoIdempotencyStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The COMPLETED write for `claim`.
    fn completion_update(&self, claim: &Claim, expires_at: i64) -> Update {
        Update::builder()
            .table_name(&self.table)
            .key(field::EVENT_ID, s(&claim.event_id))
            .update_expression("SET #status = :completed, expires_at = :exp, updated_at = :now REMOVE claim_token")
            .condition_expression(HELD_CONDITION)
            .expression_attribute_names("#status", field::STATUS)
            .expression_attribute_values(":completed", s(RecordStatus::Completed.as_str()))
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":now", n(now_seconds()))
            .build()
            .expect("table, key and update expression are set")
    }
}

/// Parses a stored record; `None` when the item is not one (missing fields).
pub fn parse_record(item: &HashMap<String, AttributeValue>) -> Option<IdempotencyRecord> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
    let last_error = match (text(field::LAST_ERROR_CLASS), text(field::LAST_ERROR_KIND)) {
        (Some(class), kind) => Some(RecordedError::new(
            if kind.as_deref() == Some("permanent") { FailureKind::Permanent } else { FailureKind::Transient },
            class,
            text(field::LAST_ERROR_MESSAGE).unwrap_or_default(),
        )),
        (None, _) => None,
    };
    Some(IdempotencyRecord {
        event_id: text(field::EVENT_ID)?,
        status: RecordStatus::parse(&text(field::STATUS)?)?,
        fingerprint: text(field::FINGERPRINT).unwrap_or_default(),
        lock_expires_at_millis: number(field::LOCK_EXPIRES_AT).unwrap_or(0),
        expires_at: number(field::EXPIRES_AT).unwrap_or(i64::MAX / 1000),
        attempts: number(field::ATTEMPTS).unwrap_or(0).try_into().unwrap_or(u32::MAX),
        last_error,
    })
}

impl IdempotencyStore for DynamoIdempotencyStore {
    async fn claim(&self, request: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        let token = new_token();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(field::EVENT_ID, s(&request.event_id))
            .update_expression(
                "SET #status = :in_progress, fingerprint = :fp, lock_expires_at = :lock, expires_at = :exp, \
                 claim_token = :token, updated_at = :now_s ADD attempts :one",
            )
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#status", field::STATUS)
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .expression_attribute_values(":completed", s(RecordStatus::Completed.as_str()))
            .expression_attribute_values(":fp", s(&request.fingerprint))
            .expression_attribute_values(":lock", n(request.lock_expires_at_millis))
            .expression_attribute_values(":exp", n(request.expires_at))
            .expression_attribute_values(":token", s(&token))
            .expression_attribute_values(":now_s", n(request.now_millis.div_euclid(1000)))
            .expression_attribute_values(":now_ms", n(request.now_millis))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let attempt = output
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(field::ATTEMPTS))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Ok(ClaimOutcome::Claimed(Claim {
                    event_id: request.event_id.clone(),
                    token,
                    attempt,
                    expires_at: request.expires_at,
                }))
            }
            Err(SdkError::ServiceError(service)) if service.err().is_conditional_check_failed_exception() => {
                let UpdateItemError::ConditionalCheckFailedException(failed) = service.into_err() else {
                    unreachable!("checked just above")
                };
                let record = failed.item().and_then(parse_record).ok_or_else(|| StoreError {
                    operation: "claim",
                    retryable: true,
                    message: "condition failed but the stored record could not be read back".into(),
                    source: None,
                })?;
                Ok(ClaimOutcome::Conflict(classify_conflict(&record, &request.fingerprint)))
            }
            Err(error) => Err(store_error("claim", error)),
        }
    }

    async fn get(&self, event_id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(field::EVENT_ID, s(event_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("get", e))?;
        Ok(output.item.as_ref().and_then(parse_record))
    }

    async fn complete(&self, claim: &Claim, expires_at: i64) -> Result<(), StoreError> {
        let update = self.completion_update(claim, expires_at);
        let result = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await;
        held_result("complete", result)
    }

    async fn release(&self, claim: &Claim, error: &RecordedError) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(field::EVENT_ID, s(&claim.event_id))
            .update_expression(
                "SET #status = :failed, lock_expires_at = :zero, last_error_kind = :kind, \
                 last_error_class = :class, last_error_message = :message, updated_at = :now REMOVE claim_token",
            )
            .condition_expression(HELD_CONDITION)
            .expression_attribute_names("#status", field::STATUS)
            .expression_attribute_values(":failed", s(RecordStatus::Failed.as_str()))
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":kind", s(error.kind.as_str()))
            .expression_attribute_values(":class", s(non_empty(&error.class)))
            .expression_attribute_values(":message", s(non_empty(&error.message)))
            .expression_attribute_values(":now", n(now_seconds()))
            .send()
            .await;
        held_result("release", result)
    }
}

/// DynamoDB refuses empty strings in key-less attributes of some APIs; keep a marker.
fn non_empty(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

fn held_result<T>(
    operation: &'static str,
    result: Result<T, SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(service)) if service.err().is_conditional_check_failed_exception() => {
            Err(StoreError { operation, retryable: true, message: LOCK_LOST.into(), source: None })
        }
        Err(error) => Err(store_error(operation, error)),
    }
}
