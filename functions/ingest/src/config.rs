//! The ingest function's configuration, read from the environment once at cold start.

use std::time::Duration;

use hookline_domain::envelope::MAX_INLINE_MESSAGE_BYTES;

/// Everything ingest needs to know about its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// `HOOKLINE_QUEUE_URL`: the main queue.
    pub queue_url: String,
    /// `HOOKLINE_SOURCES_SECRET_ID`: ARN or name of the sources configuration secret.
    pub sources_secret_id: String,
    /// `HOOKLINE_SOURCES_TTL_SECONDS` (default 60): how long a loaded configuration is used
    /// before it is read again, so rotated secrets take effect without a redeploy.
    pub sources_ttl: Duration,
    /// `HOOKLINE_SOURCES_MAX_STALENESS_SECONDS` (default 3600, at least the TTL): how long the
    /// last good configuration stays in force while it cannot be refreshed.
    pub sources_max_staleness: Duration,
    /// `HOOKLINE_METRICS_NAMESPACE` (default `Hookline`).
    pub metrics_namespace: String,
    /// `HOOKLINE_BODY_BUCKET`: where bodies too large to travel inline are stored.
    pub body_bucket: String,
    /// `HOOKLINE_INLINE_MESSAGE_BYTES` (default and most 262144, at least 1024): a message
    /// larger than this carries a reference to its stored body instead of the body.
    pub inline_message_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} {reason}")]
    Invalid { name: &'static str, reason: &'static str },
}

impl IngestConfig {
    /// Reads the configuration through `lookup` (normally `std::env::var`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, IngestConfigError> {
        let required =
            |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).ok_or(IngestConfigError::Missing(name));
        let ttl_seconds = match lookup("HOOKLINE_SOURCES_TTL_SECONDS") {
            None => 60,
            Some(value) => value.trim().parse::<u64>().ok().filter(|s| (1..=86_400).contains(s)).ok_or(
                IngestConfigError::Invalid {
                    name: "HOOKLINE_SOURCES_TTL_SECONDS",
                    reason: "must be a whole number of seconds from 1 to 86400",
                },
            )?,
        };
        let max_staleness_seconds = match lookup("HOOKLINE_SOURCES_MAX_STALENESS_SECONDS") {
            None => 3_600.max(ttl_seconds),
            Some(value) => value.trim().parse::<u64>().ok().filter(|s| (ttl_seconds..=604_800).contains(s)).ok_or(
                IngestConfigError::Invalid {
                    name: "HOOKLINE_SOURCES_MAX_STALENESS_SECONDS",
                    reason: "must be a whole number of seconds from the TTL to 604800",
                },
            )?,
        };
        let inline_message_bytes = match lookup("HOOKLINE_INLINE_MESSAGE_BYTES") {
            None => MAX_INLINE_MESSAGE_BYTES,
            Some(value) => {
                value.trim().parse::<usize>().ok().filter(|b| (1024..=MAX_INLINE_MESSAGE_BYTES).contains(b)).ok_or(
                    IngestConfigError::Invalid {
                        name: "HOOKLINE_INLINE_MESSAGE_BYTES",
                        reason: "must be a whole number of bytes from 1024 to 262144",
                    },
                )?
            }
        };
        Ok(IngestConfig {
            inline_message_bytes,
            queue_url: required("HOOKLINE_QUEUE_URL")?,
            sources_secret_id: required("HOOKLINE_SOURCES_SECRET_ID")?,
            body_bucket: required("HOOKLINE_BODY_BUCKET")?,
            sources_ttl: Duration::from_secs(ttl_seconds),
            sources_max_staleness: Duration::from_secs(max_staleness_seconds),
            metrics_namespace: lookup("HOOKLINE_METRICS_NAMESPACE")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "Hookline".to_owned()),
        })
    }

    pub fn from_env() -> Result<Self, IngestConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn reads_required_and_defaulted_values() {
        let config = IngestConfig::from_lookup(lookup(&[
            ("HOOKLINE_QUEUE_URL", "http://q"),
            ("HOOKLINE_SOURCES_SECRET_ID", "arn:s"),
            ("HOOKLINE_BODY_BUCKET", "bodies"),
        ]))
        .unwrap();
        assert_eq!(config.queue_url, "http://q");
        assert_eq!((config.body_bucket.as_str(), config.inline_message_bytes), ("bodies", 262_144));
        assert_eq!(config.sources_ttl, Duration::from_secs(60));
        assert_eq!(config.sources_max_staleness, Duration::from_secs(3600));
        assert_eq!(config.metrics_namespace, "Hookline");
    }

    #[test]
    fn the_maximum_staleness_is_at_least_the_ttl() {
        let with = |ttl: &str, max: Option<&str>| {
            let mut vars = vec![
                ("HOOKLINE_QUEUE_URL", "q"),
                ("HOOKLINE_SOURCES_SECRET_ID", "s"),
                ("HOOKLINE_BODY_BUCKET", "b"),
                ("HOOKLINE_SOURCES_TTL_SECONDS", ttl),
            ];
            vars.extend(max.map(|max| ("HOOKLINE_SOURCES_MAX_STALENESS_SECONDS", max)));
            IngestConfig::from_lookup(lookup(&vars)).map(|c| c.sources_max_staleness.as_secs())
        };
        assert_eq!(with("60", Some("600")), Ok(600));
        assert_eq!(with("7200", None), Ok(7200), "the default never undercuts the TTL");
        for bad in ["59", "604801", "soon"] {
            let err = with("60", Some(bad)).unwrap_err();
            assert!(err.to_string().contains("HOOKLINE_SOURCES_MAX_STALENESS_SECONDS"), "{err}");
        }
    }

    #[test]
    fn fails_clearly_on_missing_or_invalid_values() {
        assert_eq!(
            IngestConfig::from_lookup(lookup(&[("HOOKLINE_SOURCES_SECRET_ID", "s")])),
            Err(IngestConfigError::Missing("HOOKLINE_QUEUE_URL"))
        );
        let err = IngestConfig::from_lookup(lookup(&[
            ("HOOKLINE_QUEUE_URL", "q"),
            ("HOOKLINE_SOURCES_SECRET_ID", "s"),
            ("HOOKLINE_BODY_BUCKET", "b"),
            ("HOOKLINE_SOURCES_TTL_SECONDS", "0"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("HOOKLINE_SOURCES_TTL_SECONDS"), "{err}");
        assert_eq!(
            IngestConfig::from_lookup(lookup(&[("HOOKLINE_QUEUE_URL", "q"), ("HOOKLINE_SOURCES_SECRET_ID", "s")])),
            Err(IngestConfigError::Missing("HOOKLINE_BODY_BUCKET"))
        );
        for bad in ["1023", "262145", "big"] {
            let err = IngestConfig::from_lookup(lookup(&[
                ("HOOKLINE_QUEUE_URL", "q"),
                ("HOOKLINE_SOURCES_SECRET_ID", "s"),
                ("HOOKLINE_BODY_BUCKET", "b"),
                ("HOOKLINE_INLINE_MESSAGE_BYTES", bad),
            ]))
            .unwrap_err();
            assert!(err.to_string().contains("HOOKLINE_INLINE_MESSAGE_BYTES"), "{err}");
        }
    }
}
