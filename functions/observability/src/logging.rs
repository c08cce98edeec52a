//! JSON logs, one object per line, so CloudWatch Logs Insights can query every field.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs a JSON subscriber filtered by `RUST_LOG` (default `info`). Call once in `main`.
pub fn init_json_logging() {
    let format = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false);
    tracing_subscriber::registry().with(format).with(log_filter(std::env::var("RUST_LOG").ok().as_deref())).init();
}

/// The filter a `RUST_LOG` value asks for: a default level and per-target levels, as in
/// `warn` or `info,hookline_processor=debug,aws_smithy_runtime=warn`. Span and field
/// directives (`[span]`, `{field}`) are not supported: `tracing_subscriber`'s `EnvFilter`,
/// which reads them, pulls a regex engine into every function binary for a syntax nobody sets
/// on a Lambda. A value that does not parse, or none, gives `info`.
pub fn log_filter(rust_log: Option<&str>) -> Targets {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::trim) {
        None | Some("") => info(),
        Some(value) => value.parse().unwrap_or_else(|_| info()),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn defaults_to_info() {
        for value in [None, Some(""), Some("  "), Some("not a level=at all")] {
            let filter = log_filter(value);
            assert!(filter.would_enable("hookline_ingest", &Level::INFO), "{value:?}");
            assert!(!filter.would_enable("hookline_ingest", &Level::DEBUG), "{value:?}");
        }
    }

    #[test]
    fn reads_a_level_and_per_target_levels() {
        let quiet = log_filter(Some("warn"));
        assert!(!quiet.would_enable("hookline_processor", &Level::INFO));
        assert!(quiet.would_enable("hookline_processor", &Level::WARN));

        let mixed = log_filter(Some("info,hookline_processor=debug,aws_smithy_runtime=error"));
        assert!(mixed.would_enable("hookline_processor::processor", &Level::DEBUG));
        assert!(!mixed.would_enable("hookline_ingest", &Level::DEBUG));
        assert!(!mixed.would_enable("aws_smithy_runtime::client", &Level::WARN));
        assert!(mixed.would_enable("aws_smithy_runtime::client", &Level::ERROR));
    }
}
