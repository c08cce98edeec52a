//! The default processor: the library's entry point with the default destinations.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookline_processor::run_with(hookline_processor::default_handler).await
}
