//! The processor function: SQS batches in, exactly-once effects out.
//!
//! [`processor`] holds the per-record flow (parse, claim, handle, complete or fail) over the
//! ports; [`sqs_event`] converts Lambda's SQS event and batch response; `main.rs` wires the
//! AWS adapters in.

pub mod config;
pub mod deadline;
pub mod fault_injection;
pub mod metrics;
pub mod outcome;
pub mod processor;
pub mod sqs_event;

pub use config::ProcessorConfig;
pub use outcome::RecordOutcome;
pub use processor::{InboundRecord, Processor, ProcessorSettings};
