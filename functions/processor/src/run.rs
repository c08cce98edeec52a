//! The processor as a library: [`run`] and [`run_with`] do everything the processor
//! function does (logging, typed configuration, SDK clients, the claim/complete protocol,
//! deadlines, metrics, the partial batch response) for any [`WebhookHandler`]. The default
//! processor's `main` is `run_with(default_handler)`; a team's own function is the
//! same call with its own handler (see the README's "Write your own handler").

use anyhow::Context;
use aws_lambda_events::event::sqs::SqsEvent;
use hookline_aws::{
    DynamoEventsSink, DynamoIdempotencyStore, EventBridgeBus, S3BodyStore, SdkConfig, SdkTimeouts, SqsQueue,
    SqsVisibility, lambda_sdk_config, s3_client,
};
use hookline_observability::init_logging;
use hookline_ports::{SystemClock, WebhookHandler};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::config::ProcessorConfig;
use crate::destinations::DefaultHandler;
use crate::invocation::Invocation;
use crate::processor::Processor;
use crate::stored_body::StoredBodies;

/// What a handler is built from at cold start.
pub struct Setup<'a> {
    /// The function's configuration, read from the environment.
    pub config: &'a ProcessorConfig,
    /// The AWS SDK's configuration (region, credentials, endpoint, bounded timeouts): build
    /// the handler's own clients from it, once.
    pub sdk: &'a SdkConfig,
}

/// Runs the processor function with `handler` until the Lambda runtime stops it.
pub async fn run<H: WebhookHandler>(handler: H) -> anyhow::Result<()> {
    run_with(|_| Ok(handler)).await
}

/// Runs the processor function with the handler `build` makes at cold start, from the
/// configuration and the SDK's. An error there fails the cold start, with its message.
pub async fn run_with<H, F>(build: F) -> anyhow::Result<()>
where
    H: WebhookHandler,
    F: FnOnce(&Setup<'_>) -> anyhow::Result<H>,
{
    init_logging();
    let config = ProcessorConfig::from_env().context("processor configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let handler = build(&Setup { config: &config, sdk: &sdk }).context("the handler")?;
    #[cfg(feature = "fault-injection")]
    let handler = crate::fault_injection::FaultInjection::new(handler, config.fault_injection);
    if config.fault_injection {
        tracing::warn!("fault injection is ON (HOOKLINE_FAULT_INJECTION=payload_markers)");
    }
    // Outermost: every handler inside sees the body, wherever it travelled.
    let handler = StoredBodies::new(handler, S3BodyStore::new(s3_client(&sdk), &config.body_bucket));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let invocation = Invocation {
        processor: Processor::new(
            DynamoIdempotencyStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.idempotency_table),
            handler,
            SqsVisibility::new(sqs.clone(), &config.queue_url),
            SqsQueue::new(sqs, &config.dead_letter_queue_url),
            SystemClock,
            config.settings,
        ),
        metrics_namespace: config.metrics_namespace.clone(),
        function_timeout: config.function_timeout,
    };

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let invocation = &invocation;
        async move { Ok::<_, lambda_runtime::Error>(invocation.handle(event.payload, event.context.deadline).await?) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}

/// The default handler: the events table and EventBridge, as each event's source chose
/// (`HOOKLINE_EVENTS_TABLE`, `HOOKLINE_EVENT_BUS`).
pub fn default_handler(setup: &Setup<'_>) -> anyhow::Result<DefaultHandler<DynamoEventsSink, EventBridgeBus>> {
    let table = ProcessorConfig::require(&setup.config.events_table, "HOOKLINE_EVENTS_TABLE")?;
    let bus = ProcessorConfig::require(&setup.config.event_bus, "HOOKLINE_EVENT_BUS")?;
    Ok(DefaultHandler::new(
        DynamoEventsSink::new(aws_sdk_dynamodb::Client::new(setup.sdk), table),
        EventBridgeBus::new(aws_sdk_eventbridge::Client::new(setup.sdk), bus),
    ))
}
