//! CloudWatch embedded metric format (EMF): a metric is a JSON log line that CloudWatch
//! turns into a metric, with no API call and no extra latency on the request path.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
        }
    }
}

/// One EMF document: metrics sharing one set of dimensions.
#[derive(Debug, Clone)]
pub struct MetricLine {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Value, Unit)>,
}

impl MetricLine {
    pub fn new(namespace: impl Into<String>) -> Self {
        MetricLine { namespace: namespace.into(), dimensions: Vec::new(), metrics: Vec::new() }
    }

    /// Adds a dimension. Keep values low-cardinality: never a caller-chosen string that has
    /// not been validated against configuration.
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn metric(mut self, name: &str, value: f64, unit: Unit) -> Self {
        self.metrics.push((name.to_owned(), json!(value), unit));
        self
    }

    /// Several observations of one metric in one line (EMF accepts an array of values).
    /// Nothing is added when `values` is empty.
    pub fn metric_values(mut self, name: &str, values: &[f64], unit: Unit) -> Self {
        if !values.is_empty() {
            self.metrics.push((name.to_owned(), json!(values), unit));
        }
        self
    }

    /// The EMF JSON document, stamped with `timestamp_millis`.
    pub fn render(&self, timestamp_millis: i64) -> String {
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [self.dimensions.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>()],
                    "Metrics": self.metrics.iter()
                        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, value, _) in &self.metrics {
            root.insert(name.clone(), value.clone());
        }
        Value::Object(root).to_string()
    }

    /// Writes the document to stdout, where the Lambda runtime ships it to CloudWatch Logs.
    pub fn emit(&self, timestamp_millis: i64) {
        println!("{}", self.render(timestamp_millis));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_valid_emf_document() {
        let line = MetricLine::new("Hookline")
            .dimension("Function", "ingest")
            .dimension("Reason", "unauthorized")
            .metric("Rejected", 1.0, Unit::Count)
            .render(1_700_000_000_000);
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Hookline");
        assert_eq!(directive["Dimensions"], json!([["Function", "Reason"]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "Rejected", "Unit": "Count"}]));
        assert_eq!(doc["Reason"], "unauthorized");
        assert_eq!(doc["Rejected"], 1.0);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn several_values_render_as_an_array_and_none_are_left_out() {
        let line = MetricLine::new("N")
            .metric_values("Latency", &[1.5, 2.0], Unit::Milliseconds)
            .metric_values("Empty", &[], Unit::Milliseconds)
            .render(0);
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["Latency"], json!([1.5, 2.0]));
        assert!(doc.get("Empty").is_none());
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 1);
    }
}
