use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookline_domain::idempotency::{IdempotencyRecord, RecordStatus, RecordedError, claimable, classify_conflict};

use crate::idempotency_store::{Claim, ClaimOutcome, ClaimRequest, IdempotencyStore, LOCK_LOST, StoreError};

/// The idempotency store's rules over a map, with optional latency per request (for
/// benchmarks) and a request counter.
#[derive(Clone, Default)]
pub struct MemoryIdempotencyStore {
    records: Arc<Mutex<HashMap<String, (IdempotencyRecord, String)>>>,
    latency: Duration,
    requests: Arc<AtomicU64>,
    tokens: Arc<AtomicU64>,
}

impl MemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request sleeps `latency` first, like a network round trip.
    pub fn with_latency(latency: Duration) -> Self {
        MemoryIdempotencyStore { latency, ..Self::default() }
    }

    pub fn record(&self, event_id: &str) -> Option<IdempotencyRecord> {
        self.records.lock().unwrap().get(event_id).map(|(record, _)| record.clone())
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    async fn round_trip(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    fn update_held(
        &self,
        claim: &Claim,
        operation: &'static str,
        change: impl FnOnce(&mut IdempotencyRecord),
    ) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap();
        match records.get_mut(&claim.event_id) {
            Some((record, token)) if *token == claim.token && record.status == RecordStatus::InProgress => {
                change(record);
                Ok(())
            }
            _ => Err(StoreError { operation, retryable: true, message: LOCK_LOST.into(), source: None }),
        }
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(&self, request: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        self.round_trip().await;
        let mut records = self.records.lock().unwrap();
        let existing = records.get(&request.event_id).map(|(record, _)| record);
        if !claimable(existing, &request.fingerprint, request.now_millis) {
            return Ok(ClaimOutcome::Conflict(classify_conflict(existing.unwrap(), &request.fingerprint)));
        }
        let still_counts = existing.filter(|r| r.expires_at * 1000 > request.now_millis);
        let attempt = still_counts.map_or(0, |r| r.attempts) + 1;
        let last_error = still_counts.and_then(|r| r.last_error.clone());
        let token = format!("memory-{}", self.tokens.fetch_add(1, Ordering::SeqCst));
        records.insert(
            request.event_id.clone(),
            (
                IdempotencyRecord {
                    event_id: request.event_id.clone(),
                    status: RecordStatus::InProgress,
                    fingerprint: request.fingerprint.clone(),
                    lock_expires_at_millis: request.lock_expires_at_millis,
                    expires_at: request.expires_at,
                    attempts: attempt,
                    last_error,
                },
                token.clone(),
            ),
        );
        Ok(ClaimOutcome::Claimed(Claim {
            event_id: request.event_id.clone(),
            token,
            attempt,
            expires_at: request.expires_at,
        }))
    }

    async fn complete(&self, claim: &Claim, expires_at: i64) -> Result<(), StoreError> {
        self.round_trip().await;
        self.update_held(claim, "complete", |record| {
            record.status = RecordStatus::Completed;
            record.expires_at = expires_at;
        })
    }

    async fn get(&self, event_id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.round_trip().await;
        Ok(self.record(event_id))
    }

    async fn release(&self, claim: &Claim, error: &RecordedError) -> Result<(), StoreError> {
        self.round_trip().await;
        self.update_held(claim, "release", |record| {
            record.status = RecordStatus::Failed;
            record.lock_expires_at_millis = 0;
            record.last_error = Some(error.clone());
        })
    }
}
