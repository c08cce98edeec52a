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
}

/// Caches the configuration for `ttl`. When a refresh fails (fetch error or an invalid
/// document), the last good configuration stays in force and the refresh is retried after
/// `retry_after`: a broken rotation must not take intake down. Only a load with nothing
/// cached yet (cold start) fails.
pub struct RefreshingSources<L> {
    loader: L,
    ttl: Duration,
    retry_after: Duration,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    config: Arc<SourcesConfig>,
    refresh_at: Instant,
}

impl<L: SourcesLoader> RefreshingSources<L> {
    pub fn new(loader: L, ttl: Duration) -> Self {
        RefreshingSources { loader, ttl, retry_after: ttl.min(Duration::from_secs(10)), cached: Mutex::new(None) }
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
            Some(entry) if now < entry.refresh_at => Ok(entry.config.clone()),
            Some(entry) => {
                match self.load_validated().await {
                    Ok(config) => {
                        entry.config = Arc::new(config);
                        entry.refresh_at = now + self.ttl;
                        tracing::info!(sources = entry.config.len(), "sources configuration refreshed");
                    }
                    Err(error) => {
                        entry.refresh_at = now + self.retry_after;
                        tracing::warn!(%error, "sources configuration refresh failed; keeping the last good one");
                    }
                }
                Ok(entry.config.clone())
            }
            None => {
                let config = Arc::new(self.load_validated().await?);
                *cached = Some(Cached { config: config.clone(), refresh_at: now + self.ttl });
                Ok(config)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::MemorySourcesLoader;

    const ONE: &[u8] = br#"{"sources":{"a":{"scheme":"github","secrets":["x"]}}}"#;
    const TWO: &[u8] =
        br#"{"sources":{"a":{"scheme":"github","secrets":["x"]},"b":{"scheme":"github","secrets":["y"]}}}"#;

    #[tokio::test(start_paused = true)]
    async fn rereads_after_the_ttl_and_not_before() {
        let loader = MemorySourcesLoader::new(ONE);
        let sources = RefreshingSources::new(loader.clone(), Duration::from_secs(60));
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
        let sources = RefreshingSources::new(loader.clone(), Duration::from_secs(60));
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
        let sources = RefreshingSources::new(MemorySourcesLoader::new(b"{}"), Duration::from_secs(60));
        assert!(matches!(sources.current().await, Err(SourcesError::Invalid(_))));
        let failing = MemorySourcesLoader::new(ONE);
        failing.fail(true);
        let sources = RefreshingSources::new(failing, Duration::from_secs(60));
        assert!(matches!(sources.current().await, Err(SourcesError::Fetch { .. })));
    }
}
