use std::sync::{Arc, Mutex};

use crate::queue::QueueError;
use crate::visibility::MessageVisibility;

/// Records every visibility change as (receipt handle, seconds).
#[derive(Clone, Default)]
pub struct MemoryVisibility {
    changes: Arc<Mutex<Vec<(String, u32)>>>,
}

impl MemoryVisibility {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn changes(&self) -> Vec<(String, u32)> {
        self.changes.lock().unwrap().clone()
    }
}

impl MessageVisibility for MemoryVisibility {
    async fn delay(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.changes.lock().unwrap().push((receipt_handle.to_owned(), seconds));
        Ok(())
    }
}
