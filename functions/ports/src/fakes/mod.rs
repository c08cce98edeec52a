//! In-memory fakes of the ports, for unit tests and benchmarks.

mod memory_queue;
mod memory_sources;

pub use memory_queue::MemoryQueue;
pub use memory_sources::{MemorySourcesLoader, StaticSources};
