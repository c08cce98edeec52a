//! In-memory fakes of the ports, for unit tests and benchmarks.

mod fixed_clock;
mod memory_body_store;
mod memory_event_bus;
mod memory_event_store;
mod memory_idempotency_store;
mod memory_ledger;
mod memory_queue;
mod memory_sources;
mod memory_visibility;
mod sample_envelope;
mod scripted_handler;

pub use fixed_clock::FixedClock;
pub use memory_body_store::{MEMORY_BUCKET, MemoryBodyStore};
pub use memory_event_bus::MemoryEventBus;
pub use memory_event_store::MemoryEventStore;
pub use memory_idempotency_store::MemoryIdempotencyStore;
pub use memory_ledger::MemoryLedger;
pub use memory_queue::MemoryQueue;
pub use memory_sources::{MemorySourcesLoader, StaticSources};
pub use memory_visibility::MemoryVisibility;
pub use sample_envelope::sample_envelope;
pub use scripted_handler::ScriptedHandler;
