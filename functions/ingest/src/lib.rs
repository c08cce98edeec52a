//! The ingest function: `POST /webhooks/{source}` behind API Gateway (HTTP API, payload v2).
//!
//! [`service`] holds the flow (decide, enqueue, observe) over the ports; [`http`] only
//! converts between `lambda_http` and that flow; `main.rs` wires AWS clients in.

pub mod config;
pub mod http;
pub mod service;

pub use config::IngestConfig;
pub use service::{IngestService, Outcome};
