//! The processor function: SQS batches in, exactly-once effects out.
//!
//! [`processor`] holds the per-record flow (parse, claim, handle, complete or fail) over the
//! ports; [`invocation`] is one Lambda invocation around it (deadline, batch response,
//! metrics); [`stored_body`] reads a body that travels by reference before the handler sees
//! it; [`destinations`] is the default handler; [`run`] is the function around a handler
//! (configuration, AWS adapters, the runtime), which `main.rs` calls with the default one.

pub mod config;
pub mod deadline;
pub mod destinations;
#[cfg(any(test, feature = "fault-injection"))]
pub mod fault_injection;
pub mod invocation;
pub mod metrics;
pub mod outcome;
pub mod processor;
pub mod run;
pub mod stored_body;

pub use config::ProcessorConfig;
pub use destinations::DefaultHandler;
pub use invocation::{Invocation, unacknowledged};
pub use outcome::RecordOutcome;
pub use processor::{Processor, ProcessorSettings};
pub use run::{Setup, default_handler, run, run_with};
pub use stored_body::StoredBodies;
