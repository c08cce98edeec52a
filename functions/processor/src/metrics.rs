//! One CloudWatch EMF line per batch: what happened to its records.

use hookline_observability::{MetricLine, Unit};

use crate::destinations::class::is_eventbridge;
use crate::outcome::RecordOutcome;
use crate::processor::RecordReport;

/// Counts by outcome, plus handler latencies. Conflicts are split by kind so that a payload
/// conflict (a sender reusing an event id) stands out from ordinary duplicates.
pub fn batch_metrics(namespace: &str, reports: &[RecordReport]) -> MetricLine {
    let count = |predicate: &dyn Fn(&RecordOutcome) -> bool| {
        reports.iter().filter(|report| predicate(&report.outcome)).count() as f64
    };
    let class_is = |wanted: &'static str| {
        move |outcome: &RecordOutcome| match outcome {
            RecordOutcome::Retry { class, .. } | RecordOutcome::DeadLettered { class } => class == wanted,
            _ => false,
        }
    };
    let latencies: Vec<f64> = reports.iter().filter_map(|report| report.handler_millis).collect();
    MetricLine::new(namespace)
        .dimension("Function", "processor")
        .metric("Processed", count(&|o| *o == RecordOutcome::Processed), Unit::Count)
        .metric("Duplicates", count(&|o| *o == RecordOutcome::Duplicate), Unit::Count)
        .metric("InProgressConflicts", count(&class_is("InProgressElsewhere")), Unit::Count)
        .metric("PayloadConflicts", count(&class_is("PayloadConflict")), Unit::Count)
        .metric(
            "TransientFailures",
            count(&|o| matches!(o, RecordOutcome::Retry { class, .. } if class != "InProgressElsewhere")),
            Unit::Count,
        )
        .metric("PermanentFailures", count(&|o| matches!(o, RecordOutcome::DeadLettered { .. })), Unit::Count)
        .metric(
            "EventBridgeFailures",
            count(&|o| matches!(o, RecordOutcome::Retry { class, .. } | RecordOutcome::DeadLettered { class } if is_eventbridge(class))),
            Unit::Count,
        )
        .metric("NotStarted", count(&|o| *o == RecordOutcome::NotStarted), Unit::Count)
        .metric_values("HandlerLatency", &latencies, Unit::Milliseconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn counts_each_outcome_once() {
        let report = |outcome, handler_millis| RecordReport { message_id: "m".into(), outcome, handler_millis };
        let line = batch_metrics(
            "Hookline",
            &[
                report(RecordOutcome::Processed, Some(3.0)),
                report(RecordOutcome::Duplicate, None),
                report(RecordOutcome::Retry { class: "InProgressElsewhere".into(), delay_seconds: Some(1) }, None),
                report(RecordOutcome::Retry { class: "Boom".into(), delay_seconds: None }, Some(1.0)),
                report(RecordOutcome::DeadLettered { class: "PayloadConflict".into() }, None),
                report(RecordOutcome::Retry { class: "EventBridgeFailed".into(), delay_seconds: Some(2) }, Some(1.0)),
                report(RecordOutcome::DeadLettered { class: "EventBridgeRefused".into() }, Some(1.0)),
            ],
        )
        .render(0);
        let doc: Value = serde_json::from_str(&line).unwrap();
        for (name, expected) in [
            ("Processed", 1.0),
            ("Duplicates", 1.0),
            ("InProgressConflicts", 1.0),
            ("PayloadConflicts", 1.0),
            ("TransientFailures", 2.0),
            ("PermanentFailures", 2.0),
            ("EventBridgeFailures", 2.0),
            ("NotStarted", 0.0),
        ] {
            assert_eq!(doc[name].as_f64(), Some(expected), "{name}");
        }
        assert_eq!(doc["HandlerLatency"], serde_json::json!([3.0, 1.0, 1.0, 1.0]));
    }
}
