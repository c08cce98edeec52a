//! Storing bodies too large for one queue message (the claim-check pattern).

use std::future::Future;

use hookline_domain::body_ref::BodyRef;

/// Why a body could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum BodyStoreError {
    /// The object is gone (expired by the bucket's lifecycle rule, or deleted): permanent.
    #[error("stored body {key} is missing (expired or deleted)")]
    Missing { key: String },
    /// The object is not the body the reference names (size or SHA-256): permanent.
    #[error("stored body {key} does not match the size and SHA-256 its reference names")]
    Corrupt { key: String },
    /// The store did not answer, or refused for now: the same call may succeed later.
    #[error("body store unavailable ({kind}): {message}")]
    Unavailable { kind: &'static str, message: String },
}

impl BodyStoreError {
    pub fn retryable(&self) -> bool {
        matches!(self, BodyStoreError::Unavailable { .. })
    }
}

/// A durable store of bodies, each under a key, read back by reference.
pub trait BodyStore: Send + Sync {
    /// Stores `body` under `key` with its SHA-256 as an integrity checksum the store checks on
    /// arrival; returns only once the body is durably stored.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        sha256: &[u8; 32],
    ) -> impl Future<Output = Result<BodyRef, BodyStoreError>> + Send;

    /// The body `reference` names, checked against its size and SHA-256.
    fn get(&self, reference: &BodyRef) -> impl Future<Output = Result<Vec<u8>, BodyStoreError>> + Send;
}
