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
    /// Counts the writes: [`DeadLetterLedger::record`] writes only over the version it read.
    pub version: u64,
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
    /// Records a sighting over `previous`, the record as read (`None`: there was none), and
    /// answers `false`, writing nothing, when the record changed since: the caller reads it
    /// again and decides anew. A new dead-letter message adds to the history; the same one
    /// seen again only refreshes the entry. A [`LedgerStatus::Duplicate`] sighting only adds
    /// to the history: the record keeps its status and its latest entry.
    fn record(
        &self,
        entry: &LedgerEntry,
        previous: Option<&LedgerRecord>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn get(&self, event_id: &str) -> impl Future<Output = Result<Option<LedgerRecord>, StoreError>> + Send;

    /// Every record, optionally only those with `status`.
    fn list(&self, status: Option<LedgerStatus>) -> impl Future<Output = Result<Vec<LedgerRecord>, StoreError>> + Send;

    /// Marks an event as sent back by an operator.
    fn mark(&self, event_id: &str, status: LedgerStatus) -> impl Future<Output = Result<(), StoreError>> + Send;
}
