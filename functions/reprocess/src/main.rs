//! Cold start: logging, configuration and AWS clients, once; then one batch of dead letters
//! per invocation.

use anyhow::Context;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_aws::{DynamoIdempotencyStore, DynamoLedger, SdkTimeouts, SqsQueue, SqsVisibility, lambda_sdk_config};
use hookline_observability::init_logging;
use hookline_ports::{Clock, SystemClock};
use hookline_processor::sqs_event::{batch_response, inbound_records};
use hookline_reprocess::metrics::batch_metrics;
use hookline_reprocess::{ReprocessConfig, Reprocessor};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let config = ReprocessConfig::from_env().context("reprocess configuration")?;
    let sdk = lambda_sdk_config(SdkTimeouts::default()).context("AWS configuration")?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let reprocessor = Reprocessor::new(
        DynamoIdempotencyStore::new(dynamodb.clone(), &config.idempotency_table),
        DynamoLedger::new(dynamodb, &config.ledger_table),
        SqsQueue::new(sqs.clone(), &config.queue_url),
        SqsVisibility::new(sqs, &config.dead_letter_queue_url),
        SystemClock,
        config.replay,
    );
    let namespace = config.metrics_namespace;

    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (reprocessor, namespace) = (&reprocessor, namespace.as_str());
        async move {
            let records = inbound_records(event.payload)?;
            let outcomes = reprocessor.process_batch(&records).await;
            batch_metrics(namespace, &outcomes).emit(SystemClock.now_unix_millis());
            let failed = records
                .iter()
                .zip(&outcomes)
                .filter(|(_, outcome)| !outcome.acknowledged())
                .map(|(record, _)| record.message_id.clone());
            Ok::<SqsBatchResponse, lambda_runtime::Error>(batch_response(failed))
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
