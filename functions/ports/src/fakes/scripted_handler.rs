use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookline_domain::Envelope;

use crate::handler::{Handled, HandlerError, WebhookHandler};
use crate::idempotency_store::Claim;

/// A handler whose behaviour per event id is scripted, and which records every effect.
#[derive(Clone, Default)]
pub struct ScriptedHandler {
    state: Arc<Mutex<State>>,
    work: Duration,
}

#[derive(Default)]
struct State {
    transient_failures_left: HashMap<String, u32>,
    permanent: Vec<String>,
    calls: Vec<String>,
    effects: Vec<String>,
}

impl ScriptedHandler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Each call takes `work` (simulated I/O).
    pub fn with_work(work: Duration) -> Self {
        ScriptedHandler { work, ..Self::default() }
    }

    /// The next `times` calls for `event_id` fail transiently.
    pub fn fail_transiently(&self, event_id: &str, times: u32) {
        self.state.lock().unwrap().transient_failures_left.insert(event_id.to_owned(), times);
    }

    /// Every call for `event_id` fails permanently.
    pub fn fail_permanently(&self, event_id: &str) {
        self.state.lock().unwrap().permanent.push(event_id.to_owned());
    }

    /// Event ids of every call, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Event ids whose effect happened (successful calls), in order.
    pub fn effects(&self) -> Vec<String> {
        self.state.lock().unwrap().effects.clone()
    }
}

impl WebhookHandler for ScriptedHandler {
    async fn handle(&self, event: &Envelope, _claim: &Claim) -> Result<Handled, HandlerError> {
        self.state.lock().unwrap().calls.push(event.event_id.clone());
        if !self.work.is_zero() {
            tokio::time::sleep(self.work).await;
        }
        let mut state = self.state.lock().unwrap();
        if state.permanent.contains(&event.event_id) {
            return Err(HandlerError::permanent("ScriptedPoison", "this event always fails"));
        }
        if let Some(left) = state.transient_failures_left.get_mut(&event.event_id).filter(|left| **left > 0) {
            *left -= 1;
            return Err(HandlerError::transient("ScriptedOutage", "downstream unavailable"));
        }
        state.effects.push(event.event_id.clone());
        Ok(Handled::Done)
    }
}
