//! The processor's configuration, read from the environment once at cold start.

use std::time::Duration;

use hookline_domain::backoff::{Backoff, MAX_VISIBILITY_TIMEOUT_SECONDS};

use crate::processor::ProcessorSettings;

#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// `HOOKLINE_QUEUE_URL`: the queue this function consumes (for retry delays).
    pub queue_url: String,
    /// `HOOKLINE_DLQ_URL`: where permanent failures go, and transient ones at their last
    /// delivery (`HOOKLINE_MAX_RECEIVE_COUNT`, default 5).
    pub dead_letter_queue_url: String,
    /// `HOOKLINE_IDEMPOTENCY_TABLE`.
    pub idempotency_table: String,
    /// `HOOKLINE_EVENTS_TABLE`: the events-table destination (the default handler needs it).
    pub events_table: Option<String>,
    /// `HOOKLINE_EVENT_BUS`: the EventBridge destination's bus, a name or an ARN (the default
    /// handler needs it).
    pub event_bus: Option<String>,
    /// `HOOKLINE_BODY_BUCKET`: where bodies that travel by reference are read from.
    pub body_bucket: String,
    /// `HOOKLINE_METRICS_NAMESPACE` (default `Hookline`).
    pub metrics_namespace: String,
    pub settings: ProcessorSettings,
    /// `HOOKLINE_FAULT_INJECTION=payload_markers` turns on the `fault_injection` module's
    /// payload markers, in builds with the `fault-injection` feature; unset (the default) or
    /// `off` leaves it off.
    pub fault_injection: bool,
    /// `HOOKLINE_FUNCTION_TIMEOUT_SECONDS`: the function's Timeout (the template passes it), a
    /// cap on the deadline the runtime reports. Unset: the reported deadline is used as is.
    pub function_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} must be a whole number from {min} to {max}")]
    OutOfRange { name: &'static str, min: u64, max: u64 },
    #[error("environment variable HOOKLINE_FAULT_INJECTION must be `off` or `payload_markers`")]
    FaultInjection,
    /// Asked for by the environment, but this build has none (release builds never do), so the
    /// function refuses to start rather than silently run without the faults a test expects.
    #[error("HOOKLINE_FAULT_INJECTION is set, but this build has no fault injection (cargo feature `fault-injection`)")]
    FaultInjectionNotBuilt,
}

impl ProcessorConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ProcessorConfigError> {
        let required = |name: &'static str| {
            lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ProcessorConfigError::Missing(name))
        };
        let optional = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64, min: u64, max: u64| match lookup(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or(ProcessorConfigError::OutOfRange { name, min, max }),
        };
        let cap = number("HOOKLINE_BACKOFF_CAP_SECONDS", 900, 1, u64::from(MAX_VISIBILITY_TIMEOUT_SECONDS))?;
        let base = number("HOOKLINE_BACKOFF_BASE_SECONDS", 2, 1, cap)?;
        let fault_injection = match lookup("HOOKLINE_FAULT_INJECTION").as_deref().map(str::trim) {
            None | Some("") | Some("off") => false,
            Some("payload_markers") if cfg!(any(test, feature = "fault-injection")) => true,
            Some("payload_markers") => return Err(ProcessorConfigError::FaultInjectionNotBuilt),
            Some(_) => return Err(ProcessorConfigError::FaultInjection),
        };
        let function_timeout = match lookup("HOOKLINE_FUNCTION_TIMEOUT_SECONDS") {
            None => None,
            Some(_) => Some(Duration::from_secs(number("HOOKLINE_FUNCTION_TIMEOUT_SECONDS", 0, 1, 900)?)),
        };
        Ok(ProcessorConfig {
            fault_injection,
            function_timeout,
            queue_url: required("HOOKLINE_QUEUE_URL")?,
            dead_letter_queue_url: required("HOOKLINE_DLQ_URL")?,
            idempotency_table: required("HOOKLINE_IDEMPOTENCY_TABLE")?,
            events_table: optional("HOOKLINE_EVENTS_TABLE"),
            event_bus: optional("HOOKLINE_EVENT_BUS"),
            body_bucket: required("HOOKLINE_BODY_BUCKET")?,
            metrics_namespace: lookup("HOOKLINE_METRICS_NAMESPACE")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "Hookline".into()),
            settings: ProcessorSettings {
                max_concurrency: number("HOOKLINE_MAX_CONCURRENCY", 10, 1, 100)? as usize,
                backoff: Backoff::new(base as u32, cap as u32),
                completed_ttl: Duration::from_secs(number(
                    "HOOKLINE_COMPLETED_TTL_SECONDS",
                    hookline_domain::idempotency::DEFAULT_COMPLETED_TTL_SECONDS,
                    3600,
                    365 * 24 * 3600,
                )?),
                deadline_margin: Duration::from_millis(number("HOOKLINE_DEADLINE_MARGIN_MILLIS", 5_000, 0, 600_000)?),
                max_receive_count: number("HOOKLINE_MAX_RECEIVE_COUNT", 5, 1, 1000)? as u32,
            },
        })
    }

    pub fn from_env() -> Result<Self, ProcessorConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A variable a handler needs, which this configuration reads but does not require.
    pub fn require<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, ProcessorConfigError> {
        value.as_deref().ok_or(ProcessorConfigError::Missing(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(extra: &[(&str, &str)]) -> Result<ProcessorConfig, ProcessorConfigError> {
        let mut vars: HashMap<String, String> = [
            ("HOOKLINE_QUEUE_URL", "q"),
            ("HOOKLINE_DLQ_URL", "d"),
            ("HOOKLINE_IDEMPOTENCY_TABLE", "i"),
            ("HOOKLINE_EVENTS_TABLE", "e"),
            ("HOOKLINE_BODY_BUCKET", "b"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ProcessorConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = config(&[]).unwrap();
        assert_eq!(config.settings.max_concurrency, 10);
        assert_eq!(config.settings.backoff, Backoff::new(2, 900));
        assert_eq!(config.settings.completed_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.settings.max_receive_count, 5);
        assert_eq!(self::config(&[("HOOKLINE_MAX_RECEIVE_COUNT", "2")]).unwrap().settings.max_receive_count, 2);
        assert!(!config.fault_injection);
        assert_eq!(config.function_timeout, None);
        assert_eq!(
            self::config(&[("HOOKLINE_FUNCTION_TIMEOUT_SECONDS", "5")]).unwrap().function_timeout,
            Some(Duration::from_secs(5))
        );
        assert!(self::config(&[("HOOKLINE_FAULT_INJECTION", "payload_markers")]).unwrap().fault_injection);
        assert_eq!(
            self::config(&[("HOOKLINE_FAULT_INJECTION", "yes")]).unwrap_err(),
            ProcessorConfigError::FaultInjection
        );
    }

    #[test]
    fn the_destinations_are_read_but_not_required() {
        let bare = config(&[]).unwrap();
        assert_eq!(bare.events_table.as_deref(), Some("e"));
        assert_eq!(bare.event_bus, None);
        assert_eq!(
            ProcessorConfig::require(&bare.event_bus, "HOOKLINE_EVENT_BUS"),
            Err(ProcessorConfigError::Missing("HOOKLINE_EVENT_BUS"))
        );
        assert_eq!(
            config(&[("HOOKLINE_EVENT_BUS", "hookline-events")]).unwrap().event_bus.as_deref(),
            Some("hookline-events")
        );
    }

    #[test]
    fn the_body_bucket_is_required() {
        assert_eq!(config(&[]).unwrap().body_bucket, "b");
        assert_eq!(
            config(&[("HOOKLINE_BODY_BUCKET", " ")]).unwrap_err(),
            ProcessorConfigError::Missing("HOOKLINE_BODY_BUCKET")
        );
    }

    #[test]
    fn out_of_range_values_fail_at_cold_start() {
        for (name, value) in [
            ("HOOKLINE_MAX_CONCURRENCY", "0"),
            ("HOOKLINE_BACKOFF_CAP_SECONDS", "50000"),
            ("HOOKLINE_COMPLETED_TTL_SECONDS", "60"),
            ("HOOKLINE_BACKOFF_BASE_SECONDS", "x"),
            ("HOOKLINE_FUNCTION_TIMEOUT_SECONDS", "0"),
            ("HOOKLINE_FUNCTION_TIMEOUT_SECONDS", "901"),
            ("HOOKLINE_MAX_RECEIVE_COUNT", "0"),
        ] {
            assert!(matches!(config(&[(name, value)]), Err(ProcessorConfigError::OutOfRange { .. })), "{name}");
        }
        assert!(matches!(
            config(&[("HOOKLINE_BACKOFF_CAP_SECONDS", "10"), ("HOOKLINE_BACKOFF_BASE_SECONDS", "11")]),
            Err(ProcessorConfigError::OutOfRange { .. })
        ));
    }
}
