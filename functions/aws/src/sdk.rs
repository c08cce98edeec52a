//! Shared SDK configuration: loaded once per cold start, with bounded timeouts so a stuck
//! dependency turns into a fast, explicit failure (a 503 for ingest) rather than a hung
//! invocation.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Timeouts and retries for one function's SDK clients.
#[derive(Debug, Clone, Copy)]
pub struct SdkTimeouts {
    pub connect: Duration,
    /// One HTTP attempt.
    pub attempt: Duration,
    /// All attempts of one operation together.
    pub operation: Duration,
    pub max_attempts: u32,
}

impl Default for SdkTimeouts {
    fn default() -> Self {
        SdkTimeouts {
            connect: Duration::from_millis(1_000),
            attempt: Duration::from_millis(2_000),
            operation: Duration::from_millis(5_000),
            max_attempts: 3,
        }
    }
}

/// Loads the standard configuration chain with `timeouts` applied.
pub async fn load_sdk_config(timeouts: SdkTimeouts) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.operation)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(timeouts.max_attempts))
        .load()
        .await
}
