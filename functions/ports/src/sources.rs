//! The sources configuration, loaded once at cold start and re-read on a TTL so that a
//! rotated secret takes effect without a redeploy.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hookline_domain::{ConfigError, SourcesConfig};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Fetches the raw configuration document (e.g. a Secrets Manager secret string).
pub trait SourcesLoader: Send + Sync {
    fn load(&self) -> impl Future<Output = Result<Vec<u8>, SourcesError>> + Send;
}

/// Gives the configuration to use for the request at hand.
pub trait SourcesProvider: Send + Sync {
    fn current(&self) -> impl Future<Output = Result<Arc<SourcesConfig>, SourcesError>> + Send;

    /// How long the configuration in force has failed to refresh (`None`: it is fresh), for
    /// the metric that makes a broken rotation visible.
    fn stale_for(&self) -> Option<Duration> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("could not fetch the sources configuration: {message}")]
    Fetch {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("the sources configuration is invalid: {0}")]
    Invalid(#[from] ConfigError),
    /// The last good configuration is older than the maximum staleness and cannot be
    /// refreshed: it is no longer used, so a secret removed from the document stops verifying.
    #[error("the sources configuration could not be refreshed for {age:?}, longer than the {max:?} allowed")]
    Stale { age: Duration, max: Duration },
}

/// Caches the configuration for `ttl`. When a refresh fails (fetch error or an invalid
/// document), the last good configuration stays in force and the refresh is retried after
/// `retry_after`: a broken rotation must not take intake down. But only for `max_staleness`
/// after the last good load: past that, requests fail (ingest answers 503, and senders retry)
/// until a refresh succeeds, so a secret that was removed, or a document that can no longer be
/// read, cannot keep verifying webhooks indefinitely. A load with nothing cached yet (cold
/// start) fails at once.
pub struct RefreshingSources<L> {
    loader: L,
    ttl: Duration,
    retry_after: Duration,
    max_staleness: Duration,
    cached: Mutex<Option<Cached>>,
    /// When the refreshes started failing, for `stale_for` (which cannot wait on `cached`).
    failing_since: std::sync::Mutex<Option<Instant>>,
}

struct Cached {
    config: Arc<SourcesConfig>,
    refresh_at: Instant,
    loaded_at: Instant,
}

impl<L: SourcesLoader> RefreshingSources<L> {
    /// `max_staleness` bounds how long a configuration that cannot be refreshed stays in force.
    pub fn new(loader: L, ttl: Duration, max_staleness: Duration) -> Self {
        RefreshingSources {
            loader,
            ttl,
            retry_after: ttl.min(Duration::from_secs(10)),
            max_staleness,
            cached: Mutex::new(None),
            failing_since: std::sync::Mutex::new(None),
        }
    }

    fn set_failing_since(&self, since: Option<Instant>) {
        *self.failing_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = since;
    }

    async fn load_validated(&self) -> Result<SourcesConfig, SourcesError> {
        let document = self.loader.load().await?;
        Ok(SourcesConfig::from_json(&document)?)
    }
}

impl<L: SourcesLoader> SourcesProvider for RefreshingSources<L> {
    async fn current(&self) -> Result<Arc<SourcesConfig>, SourcesError> {
        // One refresh at a time; callers that arrive meanwhile get its result.
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        match cached.as_mut() {
            Some(entry) if now < entry.refresh_at => self.in_force(entry, now),
            Some(entry) => {
                match self.load_validated().await {
                    Ok(config) => {
                        entry.config = Arc::new(config);
                        entry.refresh_at = now + self.ttl;
                        entry.loaded_at = now;
                        self.set_failing_since(None);
                        tracing::info!(sources = entry.config.len(), "sources configuration refreshed");
                    }
                    Err(error) => {
                        entry.refresh_at = now + self.retry_after;
                        let mut failing = self.failing_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        failing.get_or_insert(entry.loaded_at + self.ttl);
                        tracing::warn!(%error, "sources configuration refresh failed; keeping the last good one");
                    }
                }
                self.in_force(entry, now)
            }
            None => {
                let config = Arc::new(self.load_validated().await?);
                *cached = Some(Cached { config: config.clone(), refresh_at: now + self.ttl, loaded_at: now });
                Ok(config)
            }
        }
    }

    fn stale_for(&self) -> Option<Duration> {
        let since = (*self.failing_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))?;
        Some(Instant::now().saturating_duration_since(since))
    }
}

impl<L: SourcesLoader> RefreshingSources<L> {
    /// The cached configuration, unless it is older than the maximum staleness allows.
    fn in_force(&self, entry: &Cached, now: Instant) -> Result<Arc<SourcesConfig>, SourcesError> {
        let age = now.saturating_duration_since(entry.loaded_at);
        if age > self.max_staleness {
            return Err(SourcesError::Stale { age, max: self.max_staleness });
        }
        Ok(entry.config.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::MemorySourcesLoader;

    const HOUR: Duration = Duration::from_secs(3600);
    const ONE: &[u8] = br#"{"sources":{"a":{"scheme":"github","secrets":["test-only-secret-a"]}}}"#;
    const TWO: &[u8] =
        br#"{"sources":{"a":{"scheme":"github","secrets":["test-only-secret-a"]},"b":{"scheme":"github","secrets":["test-only-secret-b"]}}}"#;

    #[tokio::test(start_paused = true)]
    async fn rereads_after_the_ttl_and_not_before() {
        let loader = MemorySourcesLoader::new(ONE);
        let sources = RefreshingSources::new(loader.clone(), Duration::from_secs(60), HOUR);
        assert_eq!(sources.current().await.unwrap().len(), 1);
        loader.set(TWO);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(sources.current().await.unwrap().len(), 1);
        assert_eq!(loader.loads(), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(sources.current().await.unwrap().len(), 2);
        assert_eq!(loader.loads(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_the_last_good_config_when_a_refresh_fails() {
        let loader = MemorySourcesLoader::new(ONE);
        let sources = RefreshingSources::new(loader.clone(), Duration::from_secs(60), HOUR);
        sources.current().await.unwrap();

        loader.set(b"{broken");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(sources.current().await.unwrap().len(), 1);

        loader.fail(true);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(sources.current().await.unwrap().len(), 1);
        // Failed refreshes are retried after the short delay, not on every request.
        let loads = loader.loads();
        sources.current().await.unwrap();
        assert_eq!(loader.loads(), loads);

        loader.fail(false);
        loader.set(TWO);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(sources.current().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_cold_start_without_a_valid_config_fails() {
        let sources = RefreshingSources::new(MemorySourcesLoader::new(b"{}"), Duration::from_secs(60), HOUR);
        assert!(matches!(sources.current().await, Err(SourcesError::Invalid(_))));
        let failing = MemorySourcesLoader::new(ONE);
        failing.fail(true);
        let sources = RefreshingSources::new(failing, Duration::from_secs(60), HOUR);
        assert!(matches!(sources.current().await, Err(SourcesError::Fetch { .. })));
    }

    /// A configuration that cannot be refreshed is used for at most the maximum staleness
    /// after its last good load, and says for how long it has been failing meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_configuration_that_cannot_be_refreshed_expires_after_the_maximum_staleness() {
        let loader = MemorySourcesLoader::new(ONE);
        let sources = RefreshingSources::new(loader.clone(), Duration::from_secs(60), Duration::from_secs(300));
        sources.current().await.unwrap();
        assert_eq!(sources.stale_for(), None);

        loader.fail(true);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(sources.current().await.unwrap().len(), 1, "kept while within the bound");
        assert_eq!(sources.stale_for(), Some(Duration::from_secs(1)), "failing since the refresh was due");
        tokio::time::advance(Duration::from_secs(240)).await;
        assert!(matches!(sources.current().await, Err(SourcesError::Stale { .. })), "301 s after the last good load");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(matches!(sources.current().await, Err(SourcesError::Stale { .. })), "still, between retries");

        loader.fail(false);
        loader.set(TWO);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(sources.current().await.unwrap().len(), 2, "a good refresh puts it back in force");
        assert_eq!(sources.stale_for(), None);
    }
}
