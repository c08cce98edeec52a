//! Hookline's ports: the narrow interfaces its functions use to reach the outside world.
//!
//! Each port has an AWS adapter in `hookline-aws` and an in-memory fake in `fakes` (the `fakes` feature), so
//! domain flows are unit-tested without a network and integration-tested against the
//! emulator with the very same code.

pub mod body_store;
pub mod clock;
pub mod event_bus;
pub mod event_store;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod handler;
pub mod idempotency_store;
pub mod ledger;
pub mod queue;
pub mod sources;
pub mod visibility;

pub use body_store::{BodyStore, BodyStoreError};
pub use clock::{Clock, SystemClock};
pub use event_bus::{BusEvent, EventBus, PublishError};
pub use event_store::{EventStore, EventStoreError};
pub use handler::{Delivery, Handled, HandlerError, Recorded, WebhookHandler};
pub use idempotency_store::{Claim, ClaimOutcome, ClaimRequest, IdempotencyStore, StoreError};
pub use ledger::{DeadLetterLedger, LedgerRecord, LedgerSighting};
pub use queue::{MessageId, Queue, QueueError};
pub use sources::{RefreshingSources, SourcesError, SourcesLoader, SourcesProvider};
pub use visibility::MessageVisibility;
