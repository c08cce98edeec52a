//! Logs, one JSON object per line by default, so CloudWatch Logs Insights can query every
//! field; configured as Lambda's advanced logging controls configure a function.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How a function logs, from its environment.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub filter: Targets,
    /// One JSON object per line; otherwise `tracing`'s plain text format.
    pub json: bool,
}

impl LogSettings {
    /// The settings for these variables' values:
    ///
    /// * the filter: `RUST_LOG` when it is set (a level, or a list such as
    ///   `info,hookline_processor=debug`); else `AWS_LAMBDA_LOG_LEVEL`, which Lambda sets from
    ///   the function's `LoggingConfig.ApplicationLogLevel` (`TRACE` … `ERROR`, `FATAL` read as
    ///   `ERROR`); else `info`. A value that does not parse gives `info`.
    /// * the format: JSON, unless `AWS_LAMBDA_LOG_FORMAT` (Lambda sets it from
    ///   `LoggingConfig.LogFormat`) is `Text`.
    ///
    /// The runtime's own subscriber (`lambda_runtime::tracing::init_default_subscriber`) reads
    /// the same two variables; here `RUST_LOG` wins over `AWS_LAMBDA_LOG_LEVEL`, so a filter
    /// set for one function's environment is not undone by the account's logging defaults, and
    /// the format stays JSON where no logging configuration says otherwise (a local run).
    pub fn from_values(rust_log: Option<&str>, lambda_level: Option<&str>, lambda_format: Option<&str>) -> Self {
        let info = || Targets::new().with_default(LevelFilter::INFO);
        let filter = match (rust_log.map(str::trim).filter(|v| !v.is_empty()), lambda_level.map(str::trim)) {
            (Some(value), _) => value.parse().unwrap_or_else(|_| info()),
            (None, Some(level)) if level.eq_ignore_ascii_case("fatal") => {
                Targets::new().with_default(LevelFilter::ERROR)
            }
            (None, Some(level)) => {
                LevelFilter::from_str(level).map_or_else(|_| info(), |l| Targets::new().with_default(l))
            }
            (None, None) => info(),
        };
        let json = !lambda_format.is_some_and(|format| format.trim().eq_ignore_ascii_case("text"));
        LogSettings { filter, json }
    }

    /// The settings of this process's environment.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok();
        Self::from_values(
            var("RUST_LOG").as_deref(),
            var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
            var("AWS_LAMBDA_LOG_FORMAT").as_deref(),
        )
    }
}

/// Installs the subscriber [`LogSettings::from_env`] describes. Call once in `main`.
pub fn init_logging() {
    let settings = LogSettings::from_env();
    let registry = tracing_subscriber::registry().with(settings.filter);
    if settings.json {
        let format = tracing_subscriber::fmt::layer()
            .event_format(crate::json_lines::FlatJson)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new());
        registry.with(format).init();
    } else {
        // Lambda stamps each text line with the time itself.
        registry.with(tracing_subscriber::fmt::layer().with_target(false).without_time()).init();
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    fn filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
        LogSettings::from_values(rust_log, lambda_level, None).filter
    }

    #[test]
    fn defaults_to_info() {
        for value in [None, Some(""), Some("  "), Some("not a level=at all")] {
            let filter = filter(value, None);
            assert!(filter.would_enable("hookline_ingest", &Level::INFO), "{value:?}");
            assert!(!filter.would_enable("hookline_ingest", &Level::DEBUG), "{value:?}");
        }
        assert!(!filter(None, Some("LOUD")).would_enable("hookline_ingest", &Level::DEBUG));
    }

    #[test]
    fn reads_a_level_and_per_target_levels() {
        let quiet = filter(Some("warn"), None);
        assert!(!quiet.would_enable("hookline_processor", &Level::INFO));
        assert!(quiet.would_enable("hookline_processor", &Level::WARN));

        let mixed = filter(Some("info,hookline_processor=debug,aws_smithy_runtime=error"), None);
        assert!(mixed.would_enable("hookline_processor::processor", &Level::DEBUG));
        assert!(!mixed.would_enable("hookline_ingest", &Level::DEBUG));
        assert!(!mixed.would_enable("aws_smithy_runtime::client", &Level::WARN));
        assert!(mixed.would_enable("aws_smithy_runtime::client", &Level::ERROR));
    }

    #[test]
    fn lambdas_log_level_applies_unless_rust_log_is_set() {
        let debug = filter(None, Some("DEBUG"));
        assert!(debug.would_enable("hookline_ingest", &Level::DEBUG));
        assert!(!debug.would_enable("hookline_ingest", &Level::TRACE));
        let error = filter(None, Some("ERROR"));
        assert!(!error.would_enable("hookline_ingest", &Level::WARN));
        let fatal = filter(None, Some("FATAL"));
        assert!(fatal.would_enable("hookline_ingest", &Level::ERROR));
        assert!(!fatal.would_enable("hookline_ingest", &Level::WARN));
        let both = filter(Some("warn"), Some("DEBUG"));
        assert!(!both.would_enable("hookline_ingest", &Level::INFO), "RUST_LOG wins");
        let empty_rust_log = filter(Some(""), Some("DEBUG"));
        assert!(empty_rust_log.would_enable("hookline_ingest", &Level::DEBUG));
    }

    #[test]
    fn json_unless_lambdas_format_is_text() {
        let json = |format| LogSettings::from_values(None, None, format).json;
        assert!(json(None));
        assert!(json(Some("JSON")));
        assert!(!json(Some("Text")));
        assert!(!json(Some("text")));
    }
}
