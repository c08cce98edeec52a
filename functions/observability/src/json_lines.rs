//! The JSON log line: one flat object per event, with the fields of the spans it happened in.
//!
//! tracing-subscriber's own JSON format nests the current span under `"span"`, with its name
//! repeated on every line (`"name":"record"`, `"name":"Lambda runtime invoke"`), and keeps the
//! runtime's `xrayTraceId` (a `Root=...;Sampled=0` string even when tracing is off); durations
//! come with 15 digits. CloudWatch Logs bills every byte, so this writes the same facts flat:
//! `timestamp`, `level`, the fields of the innermost span (ingest's `requestId`, a processor
//! record's `message_id` and `event_id`) and the event's own (`message`, ...), keys in
//! alphabetical order, floats to 3 decimals.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Span fields left out of every line: the X-Ray trace header the Lambda runtime records on
/// its invocation span (Lambda's own trace data carries it when tracing is on).
const LEFT_OUT: [&str; 1] = ["xrayTraceId"];

/// The event formatter (with `tracing_subscriber::fmt::format::JsonFields` for spans' fields).
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(timestamp));
        line.insert("level".into(), Value::String(event.metadata().level().as_str().into()));
        // The innermost span only: an outer one's fields would repeat on every line inside it
        // (the runtime's requestId on each of a batch's record lines).
        if let Some(span) = ctx.event_scope().and_then(|mut scope| scope.next()) {
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<N>>()
                && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields.as_str())
            {
                line.extend(fields.into_iter().filter(|(name, _)| !LEFT_OUT.contains(&name.as_str())));
            }
        }
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let rounded = (value * 1000.0).round() / 1000.0;
        let number = serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().into(), number);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines(log: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let layer = tracing_subscriber::fmt::layer()
            .event_format(FlatJson)
            .fmt_fields(JsonFields::new())
            .with_writer(buffer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    #[test]
    fn the_innermost_spans_fields_are_flat_without_its_name_or_the_trace_header() {
        let lines = lines(|| {
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "r-1", xrayTraceId = "Root=1-x");
            let _invoke = invoke.enter();
            let record = tracing::info_span!("record", message_id = "m-1", event_id = tracing::field::Empty);
            record.record("event_id", "stripe:evt_1");
            let _record = record.enter();
            tracing::info!(outcome = "processed", handler_ms = 1.041_432_5_f64, receive_count = 1u32, "record");
        });
        assert_eq!(lines.len(), 1);
        let line = lines[0].as_object().unwrap();
        assert_eq!(line["message"], "record");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message_id"], "m-1");
        assert!(!line.contains_key("requestId"), "the outer span's fields are not repeated: {line:?}");
        assert_eq!(line["event_id"], "stripe:evt_1");
        assert_eq!(line["outcome"], "processed");
        assert_eq!(line["handler_ms"].as_f64(), Some(1.041));
        assert_eq!(line["receive_count"], 1);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        for absent in ["span", "name", "spans"] {
            assert!(!line.contains_key(absent), "{absent} in {line:?}");
        }
    }

    #[test]
    fn the_runtimes_span_gives_its_request_id_without_the_trace_header() {
        let lines = lines(|| {
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "r-1", xrayTraceId = "Root=1-x");
            let _invoke = invoke.enter();
            tracing::info!(outcome = "accepted", latency_ms = 7.641_125_000_000_001_f64, "webhook request");
        });
        let line = lines[0].as_object().unwrap();
        assert_eq!(line["requestId"], "r-1");
        assert!(!line.contains_key("xrayTraceId") && !line.contains_key("name"), "{line:?}");
        assert_eq!(line["latency_ms"].as_f64(), Some(7.641));
    }

    #[test]
    fn a_line_outside_any_span_keeps_its_own_fields() {
        let lines = lines(|| tracing::warn!(error = %"boom", "failed"));
        assert_eq!(lines[0]["message"], "failed");
        assert_eq!(lines[0]["error"], "boom");
        assert_eq!(lines[0]["level"], "WARN");
    }
}
