//! Cold start: logging, configuration and AWS clients, once; then one batch of dead letters
//! per invocation ([`Invocation::handle`]).

use anyhow::Context;
use aws_lambda_events::event::sqs::SqsEvent;
use hookline_aws::{
    DynamoEventsSink, DynamoIdempotencyStore, DynamoLedger, SdkTimeouts, SqsQueue, SqsVisibility, lambda_sdk_config,
};
use hookline_observability::init_logging;
use hookline_ports::SystemClock;
use hookline_reprocess::{Invocation, ReprocessConfig, Reprocessor};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let config = ReprocessConfig::from_env().context("reprocess configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let invocation = Invocation {
        reprocessor: Reprocessor::new(
            DynamoIdempotencyStore::new(dynamodb.clone(), &config.idempotency_table),
            DynamoEventsSink::new(dynamodb.clone(), &config.events_table),
            DynamoLedger::new(dynamodb, &config.ledger_table),
            SqsQueue::new(sqs.clone(), &config.queue_url),
            SqsQueue::new(sqs.clone(), &config.dead_letter_queue_url),
            SqsVisibility::new(sqs, &config.dead_letter_queue_url),
            SystemClock,
            config.replay,
        ),
        metrics_namespace: config.metrics_namespace,
    };

    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let invocation = &invocation;
        async move { Ok::<_, lambda_runtime::Error>(invocation.handle(event.payload).await?) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
