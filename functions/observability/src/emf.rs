//! CloudWatch embedded metric format (EMF): a metric is a JSON log line that CloudWatch
//! turns into a metric, with no API call and no extra latency on the request path.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
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
    ///
    /// Written straight into one buffer rather than built as a `serde_json::Value` tree: the
    /// bytes are the same (keys in sorted order, a later field of the same name replacing an
    /// earlier one, serde_json's escaping and number formatting), at a fraction of the
    /// allocations, and this runs once per request.
    pub fn render(&self, timestamp_millis: i64) -> String {
        enum Field<'a> {
            Aws,
            Text(&'a str),
            Number(&'a Value),
        }
        let mut fields: Vec<(&str, Field<'_>)> = Vec::with_capacity(1 + self.dimensions.len() + self.metrics.len());
        fields.push(("_aws", Field::Aws));
        fields.extend(self.dimensions.iter().map(|(name, value)| (name.as_str(), Field::Text(value))));
        fields.extend(self.metrics.iter().map(|(name, value, _)| (name.as_str(), Field::Number(value))));
        // Stable, so among equal names the last added stays last: it is the one kept.
        fields.sort_by(|a, b| a.0.cmp(b.0));

        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        let mut first = true;
        for (i, (name, field)) in fields.iter().enumerate() {
            if fields.get(i + 1).is_some_and(|next| next.0 == *name) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(&mut out, name);
            out.push(b':');
            match field {
                Field::Aws => self.write_directive(&mut out, timestamp_millis),
                Field::Text(value) => write_str(&mut out, value),
                Field::Number(value) => serde_json::to_writer(&mut out, value).expect("writing to a Vec cannot fail"),
            }
        }
        out.push(b'}');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// `{"CloudWatchMetrics":[{"Dimensions":[[...]],"Metrics":[...],"Namespace":...}],"Timestamp":...}`
    fn write_directive(&self, out: &mut Vec<u8>, timestamp_millis: i64) {
        out.extend_from_slice(br#"{"CloudWatchMetrics":[{"Dimensions":[["#);
        for (i, (name, _)) in self.dimensions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, name);
        }
        out.extend_from_slice(br#"]],"Metrics":["#);
        for (i, (name, _, unit)) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"Name":"#);
            write_str(out, name);
            out.extend_from_slice(br#","Unit":""#);
            out.extend_from_slice(unit.as_str().as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        out.extend_from_slice(br#"],"Namespace":"#);
        write_str(out, &self.namespace);
        out.extend_from_slice(br#"}],"Timestamp":"#);
        out.extend_from_slice(timestamp_millis.to_string().as_bytes());
        out.push(b'}');
    }

    /// Writes the document to stdout, where the Lambda runtime ships it to CloudWatch Logs.
    pub fn emit(&self, timestamp_millis: i64) {
        println!("{}", self.render(timestamp_millis));
    }
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
fn write_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

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

    /// The document as `render` built it before it wrote the bytes itself.
    fn reference_render(line: &MetricLine, timestamp_millis: i64) -> String {
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": line.namespace,
                    "Dimensions": [line.dimensions.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>()],
                    "Metrics": line.metrics.iter()
                        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        for (name, value) in &line.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, value, _) in &line.metrics {
            root.insert(name.clone(), value.clone());
        }
        Value::Object(root).to_string()
    }

    #[test]
    fn renders_the_same_bytes_as_a_serde_json_document() {
        let lines = [
            MetricLine::new("Hookline"),
            MetricLine::new("Hookline")
                .dimension("Function", "ingest")
                .dimension("Source", "stripe")
                .metric("Accepted", 1.0, Unit::Count)
                .metric("IngestLatency", 0.123_456_789, Unit::Milliseconds),
            MetricLine::new("Name \"with\" \\ escapes\n\u{1}é")
                .dimension("Reason", "a\tb")
                .dimension("Reason", "second wins")
                .metric("Reason", 2.5, Unit::Count)
                .metric("Zeta", f64::NAN, Unit::Count)
                .metric("alpha", 1e300, Unit::Bytes)
                .metric_values("Latency", &[1.5, -0.0, 3.0], Unit::Milliseconds)
                .dimension("_aws", "shadowed")
                .metric("_aws", 7.0, Unit::Count),
        ];
        for line in &lines {
            for timestamp in [0, -1, 1_700_000_000_123] {
                assert_eq!(line.render(timestamp), reference_render(line, timestamp));
            }
        }
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
