//! One CloudWatch EMF line per batch of dead letters.

use hookline_observability::{MetricLine, Unit};

use crate::reprocessor::DeadLetterOutcome;

pub fn batch_metrics(namespace: &str, outcomes: &[DeadLetterOutcome]) -> MetricLine {
    let count = |wanted: fn(&DeadLetterOutcome) -> bool| outcomes.iter().filter(|o| wanted(o)).count() as f64;
    MetricLine::new(namespace)
        .dimension("Function", "reprocess")
        .metric("DeadLettersSeen", outcomes.len() as f64, Unit::Count)
        .metric("DroppedDuplicates", count(|o| *o == DeadLetterOutcome::DroppedDuplicate), Unit::Count)
        .metric("ParkedDuplicates", count(|o| *o == DeadLetterOutcome::DroppedParkedDuplicate), Unit::Count)
        .metric("Replayed", count(|o| matches!(o, DeadLetterOutcome::Replayed { .. })), Unit::Count)
        .metric("Redriven", count(|o| *o == DeadLetterOutcome::Redriven), Unit::Count)
        .metric("Parked", count(|o| matches!(o, DeadLetterOutcome::Parked { .. })), Unit::Count)
        .metric("Deferred", count(|o| matches!(o, DeadLetterOutcome::Deferred { .. })), Unit::Count)
        .metric("Unsettled", count(|o| matches!(o, DeadLetterOutcome::Unsettled { .. })), Unit::Count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_outcome() {
        let line = batch_metrics(
            "Hookline",
            &[
                DeadLetterOutcome::DroppedDuplicate,
                DeadLetterOutcome::Replayed { delay_seconds: 3, replay_count: 1 },
                DeadLetterOutcome::Parked { reason: "permanent_failure" },
                DeadLetterOutcome::Parked { reason: "malformed" },
                DeadLetterOutcome::StillParked,
                DeadLetterOutcome::DroppedParkedDuplicate,
                DeadLetterOutcome::Redriven,
                DeadLetterOutcome::Deferred { cause: "ledger_unavailable", delay_seconds: 30 },
                DeadLetterOutcome::Unsettled { cause: "ledger_unavailable" },
            ],
        )
        .render(0);
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["DeadLettersSeen"], 9.0);
        assert_eq!(doc["DroppedDuplicates"], 1.0);
        assert_eq!(doc["ParkedDuplicates"], 1.0);
        assert_eq!(doc["Replayed"], 1.0);
        assert_eq!(doc["Redriven"], 1.0);
        assert_eq!(doc["Parked"], 2.0, "a second look is not a second letter parked");
        assert_eq!(doc["Deferred"], 1.0);
        assert_eq!(doc["Unsettled"], 1.0);
    }
}
