//! In-memory fakes of the ports, for unit tests and benchmarks.

mod fixed_clock;
mod memory_queue;
mod memory_sources;

pub use fixed_clock::FixedClock;
pub use memory_queue::MemoryQueue;
pub use memory_sources::{MemorySourcesLoader, StaticSources};
