//! The processor function: SQS batches in, exactly-once effects out.
//!
//! [`processor`] holds the per-record flow (parse, claim, handle, complete or fail) over the
//! ports; [`invocation`] is one Lambda invocation around it (deadline, batch response,
//! metrics); [`stored_body`] reads a body that travels by reference before the handler sees
//! it; `main.rs` reads the configuration and wires the AWS adapters in.

pub mod config;
pub mod deadline;
#[cfg(any(test, feature = "fault-injection"))]
pub mod fault_injection;
pub mod invocation;
pub mod metrics;
pub mod outcome;
pub mod processor;
pub mod stored_body;

pub use config::ProcessorConfig;
pub use invocation::{Invocation, unacknowledged};
pub use outcome::RecordOutcome;
pub use processor::{Processor, ProcessorSettings};
pub use stored_body::StoredBodies;
