use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hookline_domain::dead_letter::{LedgerEntry, LedgerStatus};

use crate::idempotency_store::StoreError;
use crate::ledger::{DeadLetterLedger, LedgerRecord, LedgerSighting};

/// The ledger's rules over a map; it can be told to fail, or to refuse writes for good.
#[derive(Clone, Default)]
pub struct MemoryLedger {
    records: Arc<Mutex<BTreeMap<String, LedgerRecord>>>,
    failing: Arc<AtomicBool>,
    refusing: Arc<AtomicBool>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following read and write fail (as if DynamoDB were unreachable) or succeed again.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes every following write fail as not retryable (as DynamoDB refuses an item over
    /// its size limit with a ValidationException), or succeed again; reads still work.
    pub fn refuse_writes(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    fn available(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError { operation, retryable: true, message: "ledger unavailable".into(), source: None });
        }
        Ok(())
    }
}

fn sighting(entry: &LedgerEntry) -> LedgerSighting {
    LedgerSighting {
        seen_at_millis: entry.seen_at_millis,
        message_id: entry.message_id.clone(),
        status: entry.status,
        error_class: entry.failure.as_ref().map(|f| f.class.clone()),
        error_message: entry.failure.as_ref().map(|f| f.message.clone()),
    }
}

impl DeadLetterLedger for MemoryLedger {
    async fn record(&self, entry: &LedgerEntry, previous: Option<&LedgerRecord>) -> Result<bool, StoreError> {
        self.available("record")?;
        if self.refusing.load(Ordering::SeqCst) {
            return Err(StoreError {
                operation: "record",
                retryable: false,
                message: "item too large".into(),
                source: None,
            });
        }
        let mut records = self.records.lock().unwrap();
        if records.get(&entry.event_id).map(|r| r.version) != previous.map(|p| p.version) {
            return Ok(false);
        }
        let record = records.entry(entry.event_id.clone()).or_insert_with(|| LedgerRecord {
            latest: entry.clone(),
            first_seen_millis: entry.seen_at_millis,
            history: Vec::new(),
            version: 0,
        });
        record.version += 1;
        if entry.status == LedgerStatus::Duplicate {
            record.history.push(sighting(entry));
            record.latest.seen_at_millis = entry.seen_at_millis;
            return Ok(true);
        }
        if record.latest.message_id != entry.message_id || record.history.is_empty() {
            record.history.push(sighting(entry));
        }
        record.latest = entry.clone();
        Ok(true)
    }

    async fn get(&self, event_id: &str) -> Result<Option<LedgerRecord>, StoreError> {
        self.available("get")?;
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
            record.version += 1;
        }
        Ok(())
    }
}
