//! One invocation of the processor function: Lambda's SQS event in, the partial batch
//! response out, the batch's metrics line on standard output (CloudWatch EMF).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_aws::lambda_sqs::{UnidentifiableRecord, batch_response, inbound_records};
use hookline_ports::{Clock, IdempotencyStore, MessageVisibility, Queue, WebhookHandler};

use crate::deadline::effective_deadline;
use crate::metrics::batch_metrics;
use crate::processor::{Processor, RecordReport};

/// What the invocations of one execution environment share: the processor and the settings
/// around it, built once at cold start.
pub struct Invocation<S, H, V, D, C> {
    pub processor: Processor<S, H, V, D, C>,
    pub metrics_namespace: String,
    /// The function's configured Timeout, when known (see [`effective_deadline`]).
    pub function_timeout: Option<Duration>,
}

impl<S, H, V, D, C> Invocation<S, H, V, D, C>
where
    S: IdempotencyStore,
    H: WebhookHandler,
    V: MessageVisibility,
    D: Queue,
    C: Clock,
{
    /// Processes one batch. `reported_deadline` is the runtime's deadline header (Unix ms).
    /// The response lists every record not acknowledged, so Lambda's event source mapping
    /// deletes only the others. An error (a record without a message id, which cannot be
    /// reported alone) fails the whole batch, so that every record is delivered again.
    pub async fn handle(
        &self,
        event: SqsEvent,
        reported_deadline: u64,
    ) -> Result<SqsBatchResponse, UnidentifiableRecord> {
        let now = self.processor.clock().now_unix_millis();
        let deadline = effective_deadline(reported_deadline, now, self.function_timeout);
        tracing::debug!(remaining_ms = deadline - now, "batch received");
        let records = inbound_records(event)?;
        let reports = self.processor.process_batch(records, deadline).await;
        batch_metrics(&self.metrics_namespace, &reports).emit(self.processor.clock().now_unix_millis());
        Ok(batch_response(unacknowledged(&reports)))
    }
}

/// Message ids of the records that were not acknowledged, in order.
pub fn unacknowledged(reports: &[RecordReport]) -> impl Iterator<Item = String> + '_ {
    reports.iter().filter(|report| !report.outcome.acknowledged()).map(|report| report.message_id.clone())
}

#[cfg(test)]
mod tests {
    use hookline_domain::backoff::Backoff;
    use hookline_ports::fakes::{FixedClock, MemoryIdempotencyStore, MemoryQueue, MemoryVisibility, ScriptedHandler};

    use super::*;
    use crate::RecordOutcome;
    use crate::processor::ProcessorSettings;

    const NOW: i64 = 1_795_867_200_000;
    const GOOD_BATCH: &str = include_str!("../../../events/processor/good-batch.json");

    type TestInvocation =
        Invocation<MemoryIdempotencyStore, ScriptedHandler, MemoryVisibility, MemoryQueue, FixedClock>;

    fn invocation(handler: ScriptedHandler, dead_letters: MemoryQueue) -> TestInvocation {
        Invocation {
            processor: Processor::new(
                MemoryIdempotencyStore::new(),
                handler,
                MemoryVisibility::new(),
                dead_letters,
                FixedClock(NOW),
                ProcessorSettings { backoff: Backoff::new(2, 900), ..ProcessorSettings::default() },
            ),
            metrics_namespace: "Hookline".into(),
            function_timeout: Some(Duration::from_secs(30)),
        }
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect()
    }

    #[tokio::test]
    async fn the_sample_batch_is_handled_and_acknowledged() {
        let handler = ScriptedHandler::new();
        let event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        let response = invocation(handler.clone(), MemoryQueue::new()).handle(event, (NOW + 30_000) as u64).await;
        assert!(failed_ids(&response.unwrap()).is_empty());
        assert_eq!(handler.effects().len(), 3);
    }

    /// Only the records that must come back are reported: a transient failure is, a
    /// malformed body (dead-lettered, so acknowledged) is not.
    #[tokio::test]
    async fn only_the_records_that_must_come_back_are_reported() {
        let handler = ScriptedHandler::new();
        handler.fail_transiently("stripe:evt_sample_2", 1);
        let dead_letters = MemoryQueue::new();
        let mut event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        event.records[2].body = Some("not an envelope".into());
        let second = event.records[1].message_id.clone().unwrap();
        let response = invocation(handler, dead_letters.clone()).handle(event, (NOW + 30_000) as u64).await.unwrap();
        assert_eq!(failed_ids(&response), [second.as_str()]);
        assert_eq!(dead_letters.messages().len(), 1, "the malformed record was dead-lettered");
    }

    /// A deadline under the margin leaves every record unstarted, and each is reported.
    #[tokio::test]
    async fn a_batch_with_no_time_left_is_reported_whole() {
        let handler = ScriptedHandler::new();
        let event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        let response = invocation(handler.clone(), MemoryQueue::new()).handle(event, (NOW + 1_000) as u64).await;
        assert_eq!(failed_ids(&response.unwrap()).len(), 3);
        assert!(handler.calls().is_empty());
    }

    #[tokio::test]
    async fn a_record_without_message_id_fails_the_whole_invocation() {
        let mut event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        event.records[0].message_id = None;
        let answer = invocation(ScriptedHandler::new(), MemoryQueue::new()).handle(event, (NOW + 30_000) as u64).await;
        assert!(answer.is_err());
    }

    #[test]
    fn only_unacknowledged_records_are_listed() {
        let report = |id: &str, outcome| RecordReport { message_id: id.into(), outcome, handler_millis: None };
        let ids: Vec<String> = unacknowledged(&[
            report("a", RecordOutcome::Processed),
            report("b", RecordOutcome::Retry { class: "X".into(), delay_seconds: Some(3) }),
            report("c", RecordOutcome::Duplicate),
            report("d", RecordOutcome::DeadLettered { class: "Y".into() }),
            report("e", RecordOutcome::NotStarted),
        ])
        .collect();
        assert_eq!(ids, ["b", "e"]);
    }
}
