//! The reprocess function: every dead letter is recorded in the ledger, then dropped (its
//! event already completed), replayed to the main queue with a jittered delay (transient
//! failures with replay budget left), or parked (reported as failed, so the dead-letter
//! queue's redrive policy moves it to the parking queue).
//!
//! [`reprocessor`] decides and acts per dead letter over the ports; [`invocation`] is one
//! Lambda invocation around it; `main.rs` reads the configuration and wires the AWS adapters.

pub mod config;
pub mod invocation;
pub mod metrics;
pub mod reprocessor;

pub use config::ReprocessConfig;
pub use invocation::Invocation;
pub use reprocessor::{DeadLetterOutcome, Reprocessor};
