//! Hookline's AWS adapters: the ports of `hookline-ports` implemented with the AWS SDK.
//!
//! Endpoints, region and credentials come from the environment (`AWS_ENDPOINT_URL`,
//! `AWS_REGION`, ...; the functions read only what Lambda sets, the CLI the standard chain),
//! so the same code talks to AWS or to the local emulator without knowing which.

pub mod dynamo_events_sink;
pub mod dynamo_idempotency_store;
pub mod dynamo_ledger;
mod dynamo_values;
pub mod eventbridge_bus;
#[cfg(any(test, feature = "lambda"))]
pub mod lambda_sqs;
pub mod s3_body_store;
pub mod sdk;
pub mod secrets_manager_sources;
pub mod sqs_queue;
pub mod sqs_visibility;

pub use aws_config::SdkConfig;
pub use dynamo_events_sink::DynamoEventsSink;
pub use dynamo_idempotency_store::DynamoIdempotencyStore;
pub use dynamo_ledger::DynamoLedger;
pub use eventbridge_bus::EventBridgeBus;
pub use s3_body_store::{S3BodyStore, s3_client};
pub use sdk::{MissingEnvironment, SdkTimeouts, lambda_sdk_config, load_sdk_config};
pub use secrets_manager_sources::SecretsManagerSourcesLoader;
pub use sqs_queue::SqsQueue;
pub use sqs_visibility::SqsVisibility;
