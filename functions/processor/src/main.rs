//! Cold start: logging, configuration and AWS clients, once; then one batch per invocation.

use anyhow::Context;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_aws::{DynamoEventsSink, DynamoIdempotencyStore, SdkTimeouts, SqsQueue, SqsVisibility, lambda_sdk_config};
use hookline_observability::init_logging;
use hookline_ports::{Clock, SystemClock};
use hookline_processor::deadline::effective_deadline;
use hookline_processor::fault_injection::FaultInjection;
use hookline_processor::metrics::batch_metrics;
use hookline_processor::sqs_event::{batch_response, inbound_records, unacknowledged};
use hookline_processor::{Processor, ProcessorConfig};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let config = ProcessorConfig::from_env().context("processor configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoIdempotencyStore::new(dynamodb.clone(), &config.idempotency_table);
    let processor = Processor::new(
        store.clone(),
        FaultInjection::new(DynamoEventsSink::new(dynamodb, &config.events_table, store), config.fault_injection),
        SqsVisibility::new(sqs.clone(), &config.queue_url),
        SqsQueue::new(sqs, &config.dead_letter_queue_url),
        SystemClock,
        config.settings,
    );
    if config.fault_injection {
        tracing::warn!("fault injection is ON (HOOKLINE_FAULT_INJECTION=payload_markers)");
    }
    let namespace = config.metrics_namespace;
    let function_timeout = config.function_timeout;

    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (processor, namespace) = (&processor, namespace.as_str());
        async move {
            let now = SystemClock.now_unix_millis();
            let deadline = effective_deadline(event.context.deadline, now, function_timeout);
            tracing::debug!(remaining_ms = deadline - now, "batch received");
            let records = inbound_records(event.payload)?;
            let reports = processor.process_batch(records, deadline).await;
            batch_metrics(namespace, &reports).emit(SystemClock.now_unix_millis());
            Ok::<SqsBatchResponse, lambda_runtime::Error>(batch_response(unacknowledged(&reports)))
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
