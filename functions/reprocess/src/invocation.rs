//! One invocation of the reprocess function: Lambda's SQS event of dead letters in, the
//! partial batch response out, the batch's metrics line on standard output (CloudWatch EMF).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_aws::lambda_sqs::{UnidentifiableRecord, batch_response, inbound_records};
use hookline_ports::{Clock, DeadLetterLedger, EventStore, IdempotencyStore, MessageVisibility, Queue};

use crate::metrics::batch_metrics;
use crate::reprocessor::Reprocessor;

/// What the invocations of one execution environment share, built once at cold start.
pub struct Invocation<S, E, L, Q, D, V, C> {
    pub reprocessor: Reprocessor<S, E, L, Q, D, V, C>,
    pub metrics_namespace: String,
}

impl<S, E, L, Q, D, V, C> Invocation<S, E, L, Q, D, V, C>
where
    S: IdempotencyStore,
    E: EventStore,
    L: DeadLetterLedger,
    Q: Queue,
    D: Queue,
    V: MessageVisibility,
    C: Clock,
{
    /// Handles one batch of dead letters. The response lists the dead letters not
    /// acknowledged: the parked ones, which the dead-letter queue's redrive policy moves to
    /// the parking queue at their next receive (and those that could not even be deferred).
    /// An error (a record without a message id) fails the whole batch, which parks every
    /// record of it: kept, for an operator to redrive.
    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, UnidentifiableRecord> {
        let records = inbound_records(event)?;
        let outcomes = self.reprocessor.process_batch(&records).await;
        batch_metrics(&self.metrics_namespace, &outcomes).emit(self.reprocessor.clock().now_unix_millis());
        let failed = records
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| !outcome.acknowledged())
            .map(|(record, _)| record.message_id.clone());
        Ok(batch_response(failed))
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::dead_letter::ReplayPolicy;
    use hookline_ports::fakes::{
        FixedClock, MemoryEventStore, MemoryIdempotencyStore, MemoryLedger, MemoryQueue, MemoryVisibility,
    };

    use super::*;

    const NOW: i64 = 1_795_867_200_000;
    const GOOD_BATCH: &str = include_str!("../../../events/processor/good-batch.json");

    struct World {
        ledger: MemoryLedger,
        main: MemoryQueue,
        dead_letters: MemoryQueue,
    }

    impl World {
        fn invocation(
            &self,
        ) -> Invocation<
            MemoryIdempotencyStore,
            MemoryEventStore,
            MemoryLedger,
            MemoryQueue,
            MemoryQueue,
            MemoryVisibility,
            FixedClock,
        > {
            Invocation {
                reprocessor: Reprocessor::new(
                    MemoryIdempotencyStore::new(),
                    MemoryEventStore::new(),
                    self.ledger.clone(),
                    self.main.clone(),
                    self.dead_letters.clone(),
                    MemoryVisibility::new(),
                    FixedClock(NOW),
                    ReplayPolicy::new(1, 30, 900),
                ),
                metrics_namespace: "Hookline".into(),
            }
        }
    }

    impl World {
        fn new() -> Self {
            World { ledger: MemoryLedger::new(), main: MemoryQueue::new(), dead_letters: MemoryQueue::new() }
        }
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect()
    }

    /// Dead letters that died without a recorded failure count as transient: each is
    /// recorded and replayed (acknowledged); an unreadable body is parked (reported).
    #[tokio::test]
    async fn replayed_dead_letters_are_acknowledged_and_parked_ones_reported() {
        let world = World::new();
        let mut event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        event.records[0].body = Some("not an envelope".into());
        let parked = event.records[0].message_id.clone().unwrap();
        let response = world.invocation().handle(event).await.unwrap();
        assert_eq!(failed_ids(&response), [parked.as_str()]);
        assert_eq!(world.main.messages().len(), 2, "the other two were replayed to the main queue");
    }

    /// Reporting a dead letter failed parks it (after its second look), so one that cannot be
    /// replayed now goes back to the dead-letter queue for later; only if even that fails is
    /// it reported (and parked unsettled).
    #[tokio::test]
    async fn a_main_queue_outage_defers_every_dead_letter_and_a_total_outage_reports_them() {
        let world = World::new();
        world.main.fail(true);
        let event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        let response = world.invocation().handle(event.clone()).await.unwrap();
        assert!(failed_ids(&response).is_empty());
        assert_eq!(world.dead_letters.messages().len(), 3, "each deferred to the dead-letter queue");
        world.dead_letters.fail(true);
        let response = world.invocation().handle(event).await.unwrap();
        assert_eq!(failed_ids(&response).len(), 3);
    }

    #[tokio::test]
    async fn a_record_without_message_id_fails_the_whole_invocation() {
        let world = World::new();
        let mut event: SqsEvent = serde_json::from_str(GOOD_BATCH).unwrap();
        event.records[2].message_id = None;
        assert!(world.invocation().handle(event).await.is_err());
        assert!(world.main.messages().is_empty());
    }
}
