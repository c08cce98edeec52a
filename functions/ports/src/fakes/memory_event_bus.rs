use std::collections::VecDeque;

use std::sync::{Arc, Mutex};

use crate::event_bus::{BusEvent, EventBus, PublishError};

/// An event bus in memory: keeps every event it took, and answers scripted failures first.
#[derive(Clone, Default)]
pub struct MemoryEventBus {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    taken: Vec<BusEvent>,
    /// Answers for the next entries, one per entry, before any is taken: each for the first
    /// entry whose detail holds its text (any entry when `None`).
    scripted: VecDeque<(Option<String>, PublishError)>,
    requests: usize,
}

impl MemoryEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next entries published get these answers, one each, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = PublishError>) {
        self.state.lock().unwrap().scripted.extend(errors.into_iter().map(|error| (None, error)));
    }

    /// The next entry whose detail holds `text` gets `error`.
    pub fn fail_matching(&self, text: &str, error: PublishError) {
        self.state.lock().unwrap().scripted.push_back((Some(text.to_owned()), error));
    }

    /// Every event taken, in order.
    pub fn events(&self) -> Vec<BusEvent> {
        self.state.lock().unwrap().taken.clone()
    }

    /// `PutEvents` requests made.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }
}

impl EventBus for MemoryEventBus {
    async fn publish(&self, events: &[BusEvent]) -> Vec<Result<(), PublishError>> {
        let mut state = self.state.lock().unwrap();
        state.requests += 1;
        events
            .iter()
            .map(|event| {
                let scripted = state
                    .scripted
                    .iter()
                    .position(|(text, _)| text.as_ref().is_none_or(|text| event.detail.contains(text.as_str())));
                match scripted.and_then(|index| state.scripted.remove(index)) {
                    Some((_, error)) => Err(error),
                    None => {
                        state.taken.push(event.clone());
                        Ok(())
                    }
                }
            })
            .collect()
    }
}
