//! Claiming, completing and releasing events' idempotency records.

use std::future::Future;

use hookline_domain::idempotency::{ClaimConflict, IdempotencyRecord, RecordedError};

/// One attempt to claim an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub event_id: String,
    pub fingerprint: String,
    pub now_millis: i64,
    pub lock_expires_at_millis: i64,
    /// Unix seconds after which the record stops counting (DynamoDB TTL attribute).
    pub expires_at: i64,
}

/// A held claim. `token` is unique to this claim: completing or releasing checks it, so an
/// invocation whose lock expired and was taken over can no longer change the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub event_id: String,
    pub token: String,
    /// This claim's attempt number (1 for the first).
    pub attempt: u32,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed(Claim),
    Conflict(ClaimConflict),
}

/// A store request that failed. Always worth retrying later unless `retryable` says not.
#[derive(Debug, thiserror::Error)]
#[error("idempotency store {operation} failed: {message}")]
pub struct StoreError {
    pub operation: &'static str,
    pub retryable: bool,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The lock held by a claim was lost (expired and taken over) before it completed.
pub const LOCK_LOST: &str = "lock_lost";

pub trait IdempotencyStore: Send + Sync {
    /// Claims the event in one conditional write; a conflict returns the stored record's
    /// classification without a second read.
    fn claim(&self, request: &ClaimRequest) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;

    /// Marks the claimed event COMPLETED, living until `expires_at`.
    fn complete(&self, claim: &Claim, expires_at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records the failure (attempt count, error) and releases the lock so the next receive
    /// can claim it.
    fn release(&self, claim: &Claim, error: &RecordedError) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads an event's record (the dead-letter path asks what happened to it).
    fn get(&self, event_id: &str) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
}
