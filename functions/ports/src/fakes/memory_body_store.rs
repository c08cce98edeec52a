use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hookline_domain::body_ref::BodyRef;

use crate::body_store::{BodyStore, BodyStoreError};

/// A body store in memory that can be told to fail, and whose objects a test can remove or
/// corrupt (as an expiry or a bad disk would).
#[derive(Clone, Default)]
pub struct MemoryBodyStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<u8>>,
    failing: bool,
}

/// The bucket name the fake puts in its references.
pub const MEMORY_BUCKET: &str = "memory-bodies";

impl MemoryBodyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following call fail (as if the store were unreachable) or succeed again.
    pub fn fail(&self, failing: bool) {
        self.state.lock().unwrap().failing = failing;
    }

    pub fn keys(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    pub fn remove(&self, key: &str) {
        self.state.lock().unwrap().objects.remove(key);
    }

    /// Flips the first byte of the object under `key`.
    pub fn corrupt(&self, key: &str) {
        if let Some(first) = self.state.lock().unwrap().objects.get_mut(key).and_then(|body| body.first_mut()) {
            *first ^= 1;
        }
    }

    fn unavailable() -> BodyStoreError {
        BodyStoreError::Unavailable { kind: "unavailable", message: "memory body store set to fail".into() }
    }
}

impl BodyStore for MemoryBodyStore {
    async fn put(&self, key: &str, body: Vec<u8>, sha256: &[u8; 32]) -> Result<BodyRef, BodyStoreError> {
        let mut state = self.state.lock().unwrap();
        if state.failing {
            return Err(Self::unavailable());
        }
        let reference = BodyRef::new(MEMORY_BUCKET, key, body.len(), sha256);
        // As S3 refuses a body whose checksum is not the one sent with it.
        if !reference.matches(&body) {
            return Err(BodyStoreError::Corrupt { key: key.into() });
        }
        state.objects.insert(key.to_owned(), body);
        Ok(reference)
    }

    async fn get(&self, reference: &BodyRef) -> Result<Vec<u8>, BodyStoreError> {
        let state = self.state.lock().unwrap();
        if state.failing {
            return Err(Self::unavailable());
        }
        let body =
            state.objects.get(&reference.key).ok_or_else(|| BodyStoreError::Missing { key: reference.key.clone() })?;
        if !reference.matches(body) {
            return Err(BodyStoreError::Corrupt { key: reference.key.clone() });
        }
        Ok(body.clone())
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::body_ref::sha256;

    use super::*;

    #[tokio::test]
    async fn stores_reads_and_reports_what_went_wrong() {
        let store = MemoryBodyStore::new();
        let body = vec![1u8; 300_000];
        let digest = sha256(&body);
        let reference = store.put("bodies/s/a/b", body.clone(), &digest).await.unwrap();
        assert_eq!(store.get(&reference).await.unwrap(), body);
        assert!(matches!(store.put("k", vec![2], &digest).await, Err(BodyStoreError::Corrupt { .. })));
        store.corrupt("bodies/s/a/b");
        assert!(matches!(store.get(&reference).await, Err(BodyStoreError::Corrupt { .. })));
        store.remove("bodies/s/a/b");
        let missing = store.get(&reference).await.unwrap_err();
        assert!(matches!(missing, BodyStoreError::Missing { .. }) && !missing.retryable());
        store.fail(true);
        assert!(store.put("k", body, &digest).await.unwrap_err().retryable());
    }
}
