//! The processor function with this crate's handler: `hookline_processor::run_with` does the
//! rest (configuration, AWS clients, claims, retries, dead letters, metrics).

use hookline_example_http_forward::{Forward, ForwardConfig, HyperApi};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookline_processor::run_with(|_setup| {
        let config = ForwardConfig::from_env()?;
        Ok(Forward::new(HyperApi::new(config.url, config.timeout)?))
    })
    .await
}
