//! Cold start: logging, configuration and AWS clients, once; then one batch per invocation
//! ([`Invocation::handle`]).

use anyhow::Context;
use aws_lambda_events::event::sqs::SqsEvent;
use hookline_aws::{
    DynamoEventsSink, DynamoIdempotencyStore, S3BodyStore, SdkTimeouts, SqsQueue, SqsVisibility, lambda_sdk_config,
    s3_client,
};
use hookline_observability::init_logging;
use hookline_ports::SystemClock;
use hookline_processor::{Invocation, Processor, ProcessorConfig, StoredBodies};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let config = ProcessorConfig::from_env().context("processor configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoIdempotencyStore::new(dynamodb.clone(), &config.idempotency_table);
    let handler = DynamoEventsSink::new(dynamodb, &config.events_table, store.clone());
    #[cfg(feature = "fault-injection")]
    let handler = hookline_processor::fault_injection::FaultInjection::new(handler, config.fault_injection);
    // Outermost: every handler inside sees the body, wherever it travelled.
    let handler = StoredBodies::new(handler, S3BodyStore::new(s3_client(&sdk), &config.body_bucket));
    let invocation = Invocation {
        processor: Processor::new(
            store,
            handler,
            SqsVisibility::new(sqs.clone(), &config.queue_url),
            SqsQueue::new(sqs, &config.dead_letter_queue_url),
            SystemClock,
            config.settings,
        ),
        metrics_namespace: config.metrics_namespace,
        function_timeout: config.function_timeout,
    };
    if config.fault_injection {
        tracing::warn!("fault injection is ON (HOOKLINE_FAULT_INJECTION=payload_markers)");
    }

    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let invocation = &invocation;
        async move { Ok::<_, lambda_runtime::Error>(invocation.handle(event.payload, event.context.deadline).await?) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
