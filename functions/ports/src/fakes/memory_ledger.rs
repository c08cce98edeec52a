use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hookline_domain::dead_letter::{LedgerEntry, LedgerStatus};

use crate::idempotency_store::StoreError;
use crate::ledger::{DeadLetterLedger, LedgerRecord, LedgerSighting};

/// The ledger's rules over a map.
#[derive(Clone, Default)]
pub struct MemoryLedger {
    records: Arc<Mutex<BTreeMap<String, LedgerRecord>>>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }
}

impl DeadLetterLedger for MemoryLedger {
    async fn record(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap();
        let record = records.entry(entry.event_id.clone()).or_insert_with(|| LedgerRecord {
            latest: entry.clone(),
            first_seen_millis: entry.seen_at_millis,
            history: Vec::new(),
        });
        if record.history.last().is_none_or(|last| last.message_id != entry.message_id) {
            record.history.push(LedgerSighting {
                seen_at_millis: entry.seen_at_millis,
                message_id: entry.message_id.clone(),
                status: entry.status,
                error_class: entry.failure.as_ref().map(|f| f.class.clone()),
                error_message: entry.failure.as_ref().map(|f| f.message.clone()),
            });
        }
        record.latest = entry.clone();
        Ok(())
    }

    async fn get(&self, event_id: &str) -> Result<Option<LedgerRecord>, StoreError> {
        Ok(self.records.lock().unwrap().get(event_id).cloned())
    }

    async fn list(&self, status: Option<LedgerStatus>) -> Result<Vec<LedgerRecord>, StoreError> {
        Ok(self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|r| status.is_none_or(|s| r.latest.status == s))
            .cloned()
            .collect())
    }

    async fn mark(&self, event_id: &str, status: LedgerStatus) -> Result<(), StoreError> {
        if let Some(record) = self.records.lock().unwrap().get_mut(event_id) {
            record.latest.status = status;
        }
        Ok(())
    }
}
