//! `hookline`: sign webhooks for a configured source, and regenerate the sample events.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use hookline_cli::apigw_event::{HttpRequest, http_api_event};
use hookline_cli::signer::{SignRequest, sign_request, sign_with};
use hookline_cli::{local_env, samples};
use hookline_domain::SourcesConfig;
use hookline_domain::signature::SigningKey;

#[derive(Parser)]
#[command(name = "hookline", about = "Hookline's command-line tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign a payload as a configured source's sender would, and print headers, a curl
    /// command or an API Gateway event.
    Sign(SignArgs),
    /// Regenerate the sample events from events/ingest/manifest.json.
    Samples(SamplesArgs),
    /// Move messages from a dead-letter (or parking) queue back to a source queue.
    Redrive(hookline_cli::redrive::RedriveArgs),
    /// Inspect the dead-letter ledger and replay parked events.
    Dlq(hookline_cli::dlq::DlqArgs),
}

#[derive(clap::Args)]
struct SignArgs {
    /// The source (a key of the sources configuration).
    #[arg(long)]
    source: String,
    /// The sources configuration document.
    #[arg(long, env = "HOOKLINE_SOURCES_FILE", default_value = "infra/local/sources.json")]
    config: PathBuf,
    /// The payload, inline.
    #[arg(long, conflicts_with = "data_file")]
    data: Option<String>,
    /// The payload, from a file (`-` for standard input).
    #[arg(long)]
    data_file: Option<PathBuf>,
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// The sender's event id, for schemes that send one in a header.
    #[arg(long)]
    event_id: Option<String>,
    /// Which of the source's secrets to sign with (0 = first).
    #[arg(long, default_value_t = 0, conflicts_with = "signing_key")]
    key_index: usize,
    /// The sender's signing key, for a source configured with a public key: Standard Webhooks
    /// `whsk_<base64 seed>`, Discord's Ed25519 seed or SendGrid's P-256 scalar (64 hex digits).
    /// Also `HOOKLINE_SIGNING_KEY`, which keeps it out of the shell's history.
    #[arg(long, env = "HOOKLINE_SIGNING_KEY", hide_env_values = true)]
    signing_key: Option<String>,
    /// Signing time in Unix seconds (default: now). Not negative: no scheme's receiver
    /// accepts a signature from before 1970, so such headers could never verify.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    timestamp: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Headers)]
    format: Format,
    /// Base URL for `--format curl`, e.g. the local stack's HOOKLINE_INGEST_URL; the source is appended.
    #[arg(long, env = "HOOKLINE_INGEST_URL", default_value = "http://127.0.0.1:9000/lambda-url/ingest/webhooks")]
    url: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// `name: value` lines.
    Headers,
    /// A curl command that posts the payload.
    Curl,
    /// An API Gateway HTTP API event, for `cargo lambda invoke --data-file`.
    Event,
}

#[derive(clap::Args)]
struct SamplesArgs {
    #[arg(long, default_value = "events/ingest/manifest.json")]
    manifest: PathBuf,
    #[arg(long, default_value = "events/ingest")]
    out_dir: PathBuf,
    /// Sign with the current time instead of the manifest's fixed time (for a running stack).
    #[arg(long)]
    now: bool,
    #[arg(long, default_value = ".")]
    repo_root: PathBuf,
}

fn main() -> ExitCode {
    load_local_settings();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, the causes joined by ": "; no backtrace, whatever RUST_BACKTRACE says.
            eprintln!("hookline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Applies the local stack's settings (`.hookline/local.env`) when the working directory is
/// inside a project that has them: variables already set, and flags, still win.
fn load_local_settings() {
    let Some(path) = std::env::current_dir().ok().and_then(|dir| local_env::find(&dir)) else { return };
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let applied = local_env::missing(local_env::parse(&text), |name| std::env::var_os(name).is_some());
    for (name, value) in &applied {
        // SAFETY: the first thing `main` does, while this is the process's only thread (the
        // commands build their tokio runtimes later), so nothing reads the environment at once.
        unsafe { std::env::set_var(name, value) };
    }
    if let Some((_, endpoint)) = applied.iter().find(|(name, _)| name == "AWS_ENDPOINT_URL") {
        eprintln!("hookline: the local stack's settings from {} (AWS endpoint {endpoint})", path.display());
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sign(args) => sign(args),
        Command::Samples(args) => {
            let signed_at = args.now.then(now_unix);
            for path in samples::generate(&args.manifest, &args.repo_root, &args.out_dir, signed_at)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Redrive(args) => hookline_cli::redrive::run(args),
        Command::Dlq(args) => hookline_cli::dlq::run(args),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let config = SourcesConfig::from_json(
        &std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?,
    )?;
    let body = match (&args.data, &args.data_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut buffer = Vec::new();
            std::io::stdin().read_to_end(&mut buffer)?;
            buffer
        }
        (None, Some(path)) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        (None, None) => anyhow::bail!("give the payload with --data or --data-file"),
    };
    let now = args.timestamp.unwrap_or_else(now_unix);
    let event_id = args.event_id.unwrap_or_else(|| format!("evt_{now}_{}", std::process::id()));
    let request = SignRequest {
        source: &args.source,
        body: &body,
        content_type: &args.content_type,
        now_unix: now,
        key_index: args.key_index,
        event_id: &event_id,
    };
    let signed = match &args.signing_key {
        Some(text) => {
            let source =
                config.get(&args.source).with_context(|| format!("source {:?} is not configured", args.source))?;
            let key = SigningKey::sender_key(&source.scheme, text).context("--signing-key")?;
            sign_with(&config, &request, &key)?
        }
        None => sign_request(&config, &request)?,
    };
    let (headers, body) = (signed.headers, signed.body);
    match args.format {
        Format::Headers => headers.iter().for_each(|(name, value)| println!("{name}: {value}")),
        Format::Curl => {
            let body =
                std::str::from_utf8(&body).context("--format curl needs a UTF-8 payload; use --format headers")?;
            print!("curl -sS -X POST {}", shell_quote(&format!("{}/{}", args.url.trim_end_matches('/'), args.source)));
            for (name, value) in &headers {
                print!(" -H {}", shell_quote(&format!("{name}: {value}")));
            }
            println!(" --data-binary {}", shell_quote(body));
        }
        Format::Event => {
            let event = http_api_event(&HttpRequest {
                method: "POST",
                path: &format!("/webhooks/{}", args.source),
                headers: &headers,
                body: &body,
                base64: false,
                query: "",
                time_epoch_millis: now * 1000,
            });
            println!("{}", serde_json::to_string_pretty(&event)?);
        }
    }
    Ok(())
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn sign_args(timestamp: &str) -> Result<Cli, clap::Error> {
        let timestamp = format!("--timestamp={timestamp}");
        Cli::try_parse_from(["hookline", "sign", "--source", "stripe", "--data", "{}", timestamp.as_str()])
    }

    #[test]
    fn a_negative_signing_time_is_refused_with_a_clear_error() {
        let error = sign_args("-5").err().expect("a negative time must be refused");
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(error.to_string().contains("--timestamp"), "{error}");
    }

    #[test]
    fn a_signing_time_from_zero_up_is_accepted() {
        for time in ["0", "1795867200"] {
            let Command::Sign(args) = sign_args(time).unwrap().command else { panic!("not sign") };
            assert_eq!(args.timestamp, Some(time.parse().unwrap()));
        }
    }
}
