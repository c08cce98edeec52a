//! Bodies that travel by reference (the claim-check pattern): read from the body store and
//! checked against their SHA-256 before the handler sees the envelope.
//!
//! It wraps the handler, so it runs under the claim: a duplicate of a completed event is
//! acknowledged without reading its body (a handler that records itself reads it, since its
//! one write is also the duplicate check), and a failure to read is the handler's failure,
//! classified like any other. A missing object (expired by the bucket's lifecycle rule, or
//! deleted) and an object that is not the body its reference names are permanent: the event
//! is dead-lettered with that reason, and reprocess parks it with it in the ledger. A store
//! that does not answer is transient: retried with backoff.

use hookline_domain::Envelope;
use hookline_ports::{BodyStore, BodyStoreError, Claim, Delivery, Handled, HandlerError, Recorded, WebhookHandler};

/// Error classes of the failures to read a stored body, as the ledger records them.
pub mod class {
    pub const MISSING: &str = "StoredBodyMissing";
    pub const CORRUPT: &str = "StoredBodyCorrupt";
    pub const UNAVAILABLE: &str = "BodyStoreUnavailable";
}

/// A handler that sees every envelope with its body, wherever the body travelled.
pub struct StoredBodies<H, B> {
    inner: H,
    store: B,
}

impl<H, B> StoredBodies<H, B> {
    pub fn new(inner: H, store: B) -> Self {
        StoredBodies { inner, store }
    }
}

impl<H: WebhookHandler, B: BodyStore> StoredBodies<H, B> {
    /// `event` with its body, read from the store when it travels by reference.
    async fn resolved<'a>(&self, event: &'a Envelope) -> Result<std::borrow::Cow<'a, Envelope>, HandlerError> {
        let Some(reference) = &event.stored_body else {
            return Ok(std::borrow::Cow::Borrowed(event));
        };
        let body = self.store.get(reference).await.map_err(read_failure)?;
        // The reference stays: a handler may keep it rather than the body (the events sink
        // does, for bodies larger than a DynamoDB item).
        Ok(std::borrow::Cow::Owned(Envelope { body, ..event.clone() }))
    }
}

impl<H: WebhookHandler, B: BodyStore> WebhookHandler for StoredBodies<H, B> {
    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        let event = self.resolved(event).await?;
        self.inner.handle(&event, claim).await
    }

    fn records_itself(&self, event: &Envelope) -> bool {
        self.inner.records_itself(event)
    }

    async fn handle_unclaimed(&self, event: &Envelope, delivery: Delivery) -> Result<Recorded, HandlerError> {
        let event = self.resolved(event).await?;
        self.inner.handle_unclaimed(&event, delivery).await
    }
}

fn read_failure(error: BodyStoreError) -> HandlerError {
    match error {
        BodyStoreError::Missing { key } => HandlerError::permanent(
            class::MISSING,
            format!("the stored body {key} is gone: expired after the bucket's retention, or deleted"),
        ),
        BodyStoreError::Corrupt { key } => HandlerError::permanent(
            class::CORRUPT,
            format!("the stored body {key} is not the body its reference names (size or SHA-256)"),
        ),
        BodyStoreError::Unavailable { kind, .. } => {
            HandlerError::transient(class::UNAVAILABLE, format!("the body store did not answer ({kind})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use hookline_domain::body_ref::{body_key, sha256};
    use hookline_domain::idempotency::FailureKind;
    use hookline_ports::fakes::{MemoryBodyStore, sample_envelope};

    use super::*;

    /// Keeps every envelope it is handed.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Envelope>>>);

    impl Recorder {
        fn seen(&self) -> Vec<Envelope> {
            self.0.lock().unwrap().clone()
        }
    }

    impl WebhookHandler for Recorder {
        async fn handle(&self, event: &Envelope, _claim: &Claim) -> Result<Handled, HandlerError> {
            self.0.lock().unwrap().push(event.clone());
            Ok(Handled::Done)
        }
    }

    fn claim() -> Claim {
        Claim { event_id: "acme:evt_1".into(), token: "t".into(), attempt: 1, expires_at: 0 }
    }

    async fn stored(store: &MemoryBodyStore, body: &[u8]) -> Envelope {
        let mut envelope = sample_envelope("acme:evt_1", b"");
        let digest = sha256(body);
        let reference = store.put(&body_key("acme", "acme:evt_1", &digest), body.to_vec(), &digest).await.unwrap();
        envelope.body = Vec::new();
        envelope.stored_body = Some(reference);
        envelope
    }

    #[tokio::test]
    async fn the_handler_sees_the_stored_body_and_its_reference() {
        let store = MemoryBodyStore::new();
        let body = vec![b'x'; 300 * 1024];
        let envelope = stored(&store, &body).await;
        let inner = Recorder::default();
        let handler = StoredBodies::new(inner.clone(), store);
        assert_eq!(handler.handle(&envelope, &claim()).await, Ok(Handled::Done));
        let seen = inner.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].body, body);
        assert_eq!(seen[0].stored_body, envelope.stored_body);
    }

    #[tokio::test]
    async fn an_inline_body_is_handed_over_without_the_store() {
        let store = MemoryBodyStore::new();
        store.fail(true);
        let inner = Recorder::default();
        let handler = StoredBodies::new(inner.clone(), store);
        let envelope = sample_envelope("acme:evt_1", br#"{"a":1}"#);
        assert_eq!(handler.handle(&envelope, &claim()).await, Ok(Handled::Done));
        assert_eq!(inner.seen()[0].body, br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn a_missing_or_corrupt_body_is_permanent_and_an_unavailable_store_transient() {
        let store = MemoryBodyStore::new();
        let envelope = stored(&store, b"large body").await;
        let key = envelope.stored_body.as_ref().unwrap().key.clone();
        let inner = Recorder::default();
        let handler = StoredBodies::new(inner.clone(), store.clone());

        store.fail(true);
        let error = handler.handle(&envelope, &claim()).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Transient, class::UNAVAILABLE));
        store.fail(false);

        store.corrupt(&key);
        let error = handler.handle(&envelope, &claim()).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Permanent, class::CORRUPT));
        assert!(error.message.contains(&key), "{}", error.message);

        store.remove(&key);
        let error = handler.handle(&envelope, &claim()).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Permanent, class::MISSING));
        assert!(error.message.contains("expired"), "{}", error.message);
        assert!(inner.seen().is_empty(), "the handler never ran without its body");
    }
}
