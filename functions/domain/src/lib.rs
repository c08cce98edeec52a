//! Hookline's domain: everything that decides what happens to a webhook, with no I/O.
//!
//! Nothing in this crate talks to AWS, reads the clock or the environment: callers pass
//! bytes, headers, configuration and the current time in, and get typed results out.

pub mod backoff;
pub mod body_ref;
pub mod bus_event;
pub mod dead_letter;
pub mod destination;
pub mod envelope;
pub mod event_id;
pub mod idempotency;
pub mod instant;
pub mod intake;
pub mod json_body;
pub mod signature;
pub mod source;
pub mod sources;

pub use destination::{Destination, Destinations};
pub use envelope::{Envelope, InboundRecord, QueueMessage};
pub use intake::{Decision, Handshake, IntakeBody, IntakeRequest, Rejection, RequestBody, decide};
pub use sources::{ConfigError, SourcesConfig};
