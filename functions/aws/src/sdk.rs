//! Shared SDK configuration: loaded once per cold start, with bounded timeouts so a stuck
//! dependency turns into a fast, explicit failure (a 503 for ingest) rather than a hung
//! invocation.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::sdk_config::{SharedCredentialsProvider, SharedHttpClient};

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

/// The SDK's HTTPS client (hyper + rustls, the system's root certificates) with ring as
/// rustls' crypto provider instead of the default aws-lc-rs: the same TLS 1.3/1.2 suites to AWS
/// endpoints, and each function binary about 2 MiB smaller, which Lambda fetches and maps on
/// every cold start.
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https()
}

fn timeout_config(timeouts: SdkTimeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build()
}

/// Loads the standard configuration chain (environment, profiles, SSO, web identity, IMDS...)
/// with `timeouts` applied: for the operator CLI and the tests, which run where a person's
/// credentials live.
pub async fn load_sdk_config(timeouts: SdkTimeouts) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts))
        .retry_config(RetryConfig::standard().with_max_attempts(timeouts.max_attempts))
        .load()
        .await
}

/// The configuration is incomplete: the variable Lambda always sets is missing.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not set (Lambda sets AWS_REGION and the AWS_* credentials of the function's role)")]
pub struct MissingEnvironment(&'static str);

/// The configuration of a Lambda function, from the variables Lambda sets in every execution
/// environment: `AWS_REGION` (or `AWS_DEFAULT_REGION`), the role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL` when set (the local
/// emulator). Not the whole chain of [`load_sdk_config`]: no profile files, SSO, STS or IMDS
/// exist in a Lambda environment, and leaving their providers out takes their code out of
/// every function binary and their lookups out of every cold start.
pub fn lambda_sdk_config(timeouts: SdkTimeouts) -> Result<SdkConfig, MissingEnvironment> {
    lambda_sdk_config_from(timeouts, |name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

fn lambda_sdk_config_from(
    timeouts: SdkTimeouts,
    var: impl Fn(&str) -> Option<String>,
) -> Result<SdkConfig, MissingEnvironment> {
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).ok_or(MissingEnvironment("AWS_REGION"))?;
    if var("AWS_ACCESS_KEY_ID").is_none() {
        return Err(MissingEnvironment("AWS_ACCESS_KEY_ID"));
    }
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        // Reads the variables at each refresh, as the SDK's own environment provider does.
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
        .http_client(https_client())
        .sleep_impl(TokioSleep::new())
        .time_source(SystemTimeSource::new())
        .timeout_config(timeout_config(timeouts))
        .retry_config(RetryConfig::standard().with_max_attempts(timeouts.max_attempts));
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<SdkConfig, MissingEnvironment> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        lambda_sdk_config_from(SdkTimeouts::default(), |name| vars.get(name).cloned())
    }

    #[test]
    fn reads_what_lambda_sets() {
        let sdk = config(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKIA"), ("AWS_SECRET_ACCESS_KEY", "s")])
            .unwrap();
        assert_eq!(sdk.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), None);
        assert!(sdk.credentials_provider().is_some() && sdk.http_client().is_some() && sdk.sleep_impl().is_some());
        assert_eq!(sdk.retry_config().map(RetryConfig::max_attempts), Some(3));
        assert_eq!(sdk.timeout_config().and_then(TimeoutConfig::operation_timeout), Some(Duration::from_secs(5)));
    }

    #[test]
    fn takes_the_default_region_and_an_endpoint_override() {
        let sdk = config(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ])
        .unwrap();
        assert_eq!(sdk.region().map(Region::as_ref), Some("us-east-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
    }

    #[test]
    fn fails_at_cold_start_without_a_region_or_credentials() {
        let error = config(&[("AWS_ACCESS_KEY_ID", "test")]).unwrap_err();
        assert!(error.to_string().starts_with("AWS_REGION is not set"), "{error}");
        let error = config(&[("AWS_REGION", "us-east-1")]).unwrap_err();
        assert!(error.to_string().starts_with("AWS_ACCESS_KEY_ID is not set"), "{error}");
    }
}
