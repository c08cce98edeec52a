//! JSON logs, one object per line, so CloudWatch Logs Insights can query every field.

/// Installs a JSON subscriber filtered by `RUST_LOG` (default `info`). Call once in `main`.
pub fn init_json_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .init();
}
