//! What happened to one record of a batch.

/// The fate of one SQS record. Only acknowledged outcomes let the record be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The handler ran and the event is COMPLETED.
    Processed,
    /// The event was already COMPLETED: acknowledged without running the handler.
    Duplicate,
    /// A permanent failure, sent to the dead-letter queue with its error: acknowledged.
    DeadLettered { class: String },
    /// Try again later (after `delay_seconds`, if the delay could be set).
    Retry { class: String, delay_seconds: Option<u32> },
    /// Not started because the invocation's remaining time fell under the margin.
    NotStarted,
}

impl RecordOutcome {
    /// Whether the record may be deleted from the queue.
    pub fn acknowledged(&self) -> bool {
        matches!(self, RecordOutcome::Processed | RecordOutcome::Duplicate | RecordOutcome::DeadLettered { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            RecordOutcome::Processed => "processed",
            RecordOutcome::Duplicate => "duplicate",
            RecordOutcome::DeadLettered { .. } => "dead_lettered",
            RecordOutcome::Retry { .. } => "retry",
            RecordOutcome::NotStarted => "not_started",
        }
    }
}
