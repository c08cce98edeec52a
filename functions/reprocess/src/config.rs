//! The reprocess function's configuration, read from the environment at cold start.

use hookline_domain::dead_letter::{MAX_DELAY_SECONDS, ReplayPolicy};

#[derive(Debug, Clone)]
pub struct ReprocessConfig {
    /// `HOOKLINE_DLQ_URL`: the consumed dead-letter queue.
    pub dead_letter_queue_url: String,
    /// `HOOKLINE_QUEUE_URL`: the main queue replays go to.
    pub queue_url: String,
    /// `HOOKLINE_IDEMPOTENCY_TABLE` (read only).
    pub idempotency_table: String,
    /// `HOOKLINE_LEDGER_TABLE`.
    pub ledger_table: String,
    /// `HOOKLINE_EVENTS_TABLE` (read only): whether an event of the events table alone is done.
    pub events_table: String,
    pub metrics_namespace: String,
    /// `HOOKLINE_REPLAY_BUDGET` (3), `HOOKLINE_REPLAY_BASE_SECONDS` (30), `HOOKLINE_REPLAY_CAP_SECONDS` (900).
    pub replay: ReplayPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReprocessConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} must be a whole number from {min} to {max}")]
    OutOfRange { name: &'static str, min: u32, max: u32 },
}

impl ReprocessConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ReprocessConfigError> {
        let required = |name: &'static str| {
            lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ReprocessConfigError::Missing(name))
        };
        let number = |name: &'static str, default: u32, min: u32, max: u32| match lookup(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or(ReprocessConfigError::OutOfRange { name, min, max }),
        };
        let cap = number("HOOKLINE_REPLAY_CAP_SECONDS", MAX_DELAY_SECONDS, 1, MAX_DELAY_SECONDS)?;
        Ok(ReprocessConfig {
            dead_letter_queue_url: required("HOOKLINE_DLQ_URL")?,
            queue_url: required("HOOKLINE_QUEUE_URL")?,
            idempotency_table: required("HOOKLINE_IDEMPOTENCY_TABLE")?,
            ledger_table: required("HOOKLINE_LEDGER_TABLE")?,
            events_table: required("HOOKLINE_EVENTS_TABLE")?,
            metrics_namespace: lookup("HOOKLINE_METRICS_NAMESPACE")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "Hookline".into()),
            replay: ReplayPolicy::new(
                number("HOOKLINE_REPLAY_BUDGET", 3, 0, 100)?,
                number("HOOKLINE_REPLAY_BASE_SECONDS", 30, 1, cap)?,
                cap,
            ),
        })
    }

    pub fn from_env() -> Result<Self, ReprocessConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let vars = |extra: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                [
                    ("HOOKLINE_DLQ_URL", "d"),
                    ("HOOKLINE_QUEUE_URL", "q"),
                    ("HOOKLINE_IDEMPOTENCY_TABLE", "i"),
                    ("HOOKLINE_LEDGER_TABLE", "l"),
                    ("HOOKLINE_EVENTS_TABLE", "e"),
                ]
                .iter()
                .chain(extra)
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
            }
        };
        let config = ReprocessConfig::from_lookup(vars(&[])).unwrap();
        assert_eq!(config.replay, ReplayPolicy::default());
        assert!(matches!(
            ReprocessConfig::from_lookup(vars(&[("HOOKLINE_REPLAY_CAP_SECONDS", "901")])),
            Err(ReprocessConfigError::OutOfRange { .. })
        ));
        assert!(matches!(
            ReprocessConfig::from_lookup(|_| None),
            Err(ReprocessConfigError::Missing("HOOKLINE_DLQ_URL"))
        ));
    }
}
