//! Hookline's command-line tool, as a library so its pieces are tested like the rest.

pub mod apigw_event;
pub mod dead_letters;
pub mod dlq;
pub mod local_env;
pub mod redrive;
pub mod samples;
pub mod signer;
pub mod sqs_redrive;
