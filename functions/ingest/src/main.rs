//! Cold start: logging, configuration, AWS clients and the sources configuration are all
//! set up here, once, and any problem stops the function before it takes a request.

use anyhow::Context;
use hookline_aws::{S3BodyStore, SdkTimeouts, SecretsManagerSourcesLoader, SqsQueue, lambda_sdk_config, s3_client};
use hookline_ingest::{IngestConfig, IngestService, http};
use hookline_observability::init_logging;
use hookline_ports::{RefreshingSources, SourcesProvider, SystemClock};
use lambda_http::{LambdaEvent, lambda_runtime, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let config = IngestConfig::from_env().context("ingest configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url);
    let sources = RefreshingSources::new(
        SecretsManagerSourcesLoader::new(aws_sdk_secretsmanager::Client::new(&sdk), config.sources_secret_id),
        config.sources_ttl,
        config.sources_max_staleness,
    );
    let loaded = sources.current().await.context("loading the sources configuration at cold start")?;
    tracing::info!(sources = loaded.len(), "ingest ready");

    let bodies = S3BodyStore::new(s3_client(&sdk), config.body_bucket);
    let service = IngestService::new(queue, bodies, sources, SystemClock, config.metrics_namespace)
        .with_inline_message_bytes(config.inline_message_bytes);
    // The runtime deserializes each payload once, into `Invocation`, whose reading never
    // fails: an event that is not an HTTP API request gets a 400, not a failed invocation.
    lambda_runtime::run(service_fn(|event: LambdaEvent<http::Invocation>| {
        http::handle_invocation(&service, event.payload)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
