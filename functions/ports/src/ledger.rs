//! The dead-letter ledger: a durable record of every dead letter, with its history.

use std::future::Future;

use hookline_domain::dead_letter::{LedgerEntry, LedgerStatus};

use crate::idempotency_store::StoreError;

/// A dead letter as stored: its latest sighting plus the history of failures seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    pub latest: LedgerEntry,
    pub first_seen_millis: i64,
    /// Distinct sightings (one per dead-letter message), oldest first: (seen at, status, failure class, message).
    pub history: Vec<LedgerSighting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSighting {
    pub seen_at_millis: i64,
    pub message_id: String,
    pub status: LedgerStatus,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

pub trait DeadLetterLedger: Send + Sync {
    /// Records a sighting. Seeing the same dead-letter message again (it is received more
    /// than once before it moves on) updates the entry without adding to its history.
    fn record(&self, entry: &LedgerEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get(&self, event_id: &str) -> impl Future<Output = Result<Option<LedgerRecord>, StoreError>> + Send;

    /// Every record, optionally only those with `status`.
    fn list(&self, status: Option<LedgerStatus>) -> impl Future<Output = Result<Vec<LedgerRecord>, StoreError>> + Send;

    /// Marks an event as sent back by an operator.
    fn mark(&self, event_id: &str, status: LedgerStatus) -> impl Future<Output = Result<(), StoreError>> + Send;
}
