//! One CloudWatch EMF line per batch of dead letters.

use hookline_observability::{MetricLine, Unit};

use crate::reprocessor::DeadLetterOutcome;

pub fn batch_metrics(namespace: &str, outcomes: &[DeadLetterOutcome]) -> MetricLine {
    let count = |wanted: fn(&DeadLetterOutcome) -> bool| outcomes.iter().filter(|o| wanted(o)).count() as f64;
    MetricLine::new(namespace)
        .dimension("Function", "reprocess")
        .metric("DeadLettersSeen", outcomes.len() as f64, Unit::Count)
        .metric("DroppedDuplicates", count(|o| *o == DeadLetterOutcome::DroppedDuplicate), Unit::Count)
        .metric("Replayed", count(|o| matches!(o, DeadLetterOutcome::Replayed { .. })), Unit::Count)
        .metric("Parked", count(|o| matches!(o, DeadLetterOutcome::Parked { .. })), Unit::Count)
        .metric("ReprocessRetries", count(|o| matches!(o, DeadLetterOutcome::Retry { .. })), Unit::Count)
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
            ],
        )
        .render(0);
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["DeadLettersSeen"], 4.0);
        assert_eq!(doc["DroppedDuplicates"], 1.0);
        assert_eq!(doc["Replayed"], 1.0);
        assert_eq!(doc["Parked"], 2.0);
        assert_eq!(doc["ReprocessRetries"], 0.0);
    }
}
