use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hookline_domain::SourcesConfig;

use crate::sources::{SourcesError, SourcesLoader, SourcesProvider};

/// A loader serving a document from memory, counting loads, able to fail.
#[derive(Clone)]
pub struct MemorySourcesLoader {
    document: Arc<Mutex<Vec<u8>>>,
    failing: Arc<AtomicBool>,
    loads: Arc<AtomicUsize>,
}

impl MemorySourcesLoader {
    pub fn new(document: &[u8]) -> Self {
        MemorySourcesLoader {
            document: Arc::new(Mutex::new(document.to_vec())),
            failing: Arc::default(),
            loads: Arc::default(),
        }
    }

    pub fn set(&self, document: &[u8]) {
        *self.document.lock().unwrap() = document.to_vec();
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl SourcesLoader for MemorySourcesLoader {
    async fn load(&self) -> Result<Vec<u8>, SourcesError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SourcesError::Fetch { message: "memory loader set to fail".into(), source: None });
        }
        Ok(self.document.lock().unwrap().clone())
    }
}

/// A provider that always answers with one configuration.
#[derive(Clone)]
pub struct StaticSources(pub Arc<SourcesConfig>);

impl SourcesProvider for StaticSources {
    async fn current(&self) -> Result<Arc<SourcesConfig>, SourcesError> {
        Ok(self.0.clone())
    }
}
