use std::sync::{Arc, Mutex};

use hookline_domain::QueueMessage;

use crate::queue::{MessageId, Queue, QueueError};

/// A queue that keeps messages in memory and can be told to fail.
#[derive(Clone, Default)]
pub struct MemoryQueue {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    messages: Vec<QueueMessage>,
    failing: bool,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following send fail (as if the queue were unreachable) or succeed again.
    pub fn fail(&self, failing: bool) {
        self.state.lock().unwrap().failing = failing;
    }

    pub fn messages(&self) -> Vec<QueueMessage> {
        self.state.lock().unwrap().messages.clone()
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: QueueMessage) -> Result<MessageId, QueueError> {
        let mut state = self.state.lock().unwrap();
        if state.failing {
            return Err(QueueError {
                retryable: true,
                kind: "unavailable",
                message: "memory queue set to fail".into(),
                source: None,
            });
        }
        state.messages.push(message);
        Ok(MessageId(format!("memory-{}", state.messages.len())))
    }
}
