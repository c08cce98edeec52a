use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hookline_domain::Envelope;

use crate::event_store::{EventStore, EventStoreError};
use crate::handler::Recorded;

/// An events table in memory: event id -> (fingerprint, attempt), written once.
#[derive(Clone, Default)]
pub struct MemoryEventStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    items: BTreeMap<String, (String, u32)>,
    writes: usize,
    failing: bool,
}

impl MemoryEventStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following write fail transiently (a throttled table), or succeed again.
    pub fn fail(&self, failing: bool) {
        self.state.lock().unwrap().failing = failing;
    }

    /// Event ids stored, in order of id.
    pub fn event_ids(&self) -> Vec<String> {
        self.state.lock().unwrap().items.keys().cloned().collect()
    }

    /// The attempt stored with `event_id`.
    pub fn attempt(&self, event_id: &str) -> Option<u32> {
        self.state.lock().unwrap().items.get(event_id).map(|(_, attempt)| *attempt)
    }

    /// Conditional writes asked for, whatever their answer.
    pub fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }
}

impl EventStore for MemoryEventStore {
    async fn store(&self, event: &Envelope, attempt: u32) -> Result<Recorded, EventStoreError> {
        let mut state = self.state.lock().unwrap();
        state.writes += 1;
        if state.failing {
            return Err(EventStoreError { retryable: true, message: "memory events table set to fail".into() });
        }
        let fingerprint = event.body_sha256_hex();
        Ok(match state.items.get(&event.event_id) {
            None => {
                state.items.insert(event.event_id.clone(), (fingerprint, attempt));
                Recorded::Stored
            }
            Some((stored, _)) if *stored == fingerprint => Recorded::AlreadyStored,
            Some((stored, _)) => Recorded::Conflict { stored_fingerprint: stored.clone() },
        })
    }

    async fn stored_fingerprint(&self, event_id: &str) -> Result<Option<String>, EventStoreError> {
        let state = self.state.lock().unwrap();
        if state.failing {
            return Err(EventStoreError { retryable: true, message: "memory events table set to fail".into() });
        }
        Ok(state.items.get(event_id).map(|(fingerprint, _)| fingerprint.clone()))
    }
}
