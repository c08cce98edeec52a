//! `hookline redrive`: move messages from a dead-letter (or parking) queue back to a source
//! queue, as the AWS console's "Start DLQ redrive" does. The SQS work is
//! [`crate::sqs_redrive::SqsRedrive`]'s; this parses, checks, calls and prints.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use hookline_aws::{SdkTimeouts, load_sdk_config};

use crate::sqs_redrive::{MAX_MOVE_TASK_RATE, RedriveError, RedriveOptions, SqsRedrive, StopReason};

#[derive(Debug, Clone, clap::Args)]
pub struct RedriveArgs {
    /// URL of the queue to take the messages from (a dead-letter or parking queue).
    #[arg(long)]
    pub from: String,
    /// URL of the queue to put them back into.
    #[arg(long)]
    pub to: String,
    #[arg(long, value_enum, default_value_t = Mode::Client)]
    pub mode: Mode,
    /// Messages per second, at most (move-task: at most 500).
    #[arg(long, default_value_t = 50, value_parser = at_least_one::<u32>)]
    pub rate: u32,
    /// Move at most this many messages (client mode only).
    #[arg(long, value_parser = at_least_one::<u64>)]
    pub max: Option<u64>,
    /// Only count the source's messages and say what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Move-task mode: poll until the task has finished, then print its outcome.
    #[arg(long)]
    pub wait: bool,
    /// Client mode: seconds a received message stays hidden in the source. A message whose
    /// send failed is visible there again after this.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=43_200))]
    pub visibility_timeout: u32,
    /// Move-task mode with --wait: seconds between two status polls.
    #[arg(long, default_value_t = 5, value_parser = at_least_one::<u64>)]
    pub poll_interval: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Receive, send a copy, delete the original, one message at a time; works against any
    /// SQS endpoint, the local emulator included.
    Client,
    /// SQS's own StartMessageMoveTask (AWS only; the source must be a dead-letter queue).
    MoveTask,
}

fn at_least_one<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    match text.parse() {
        Ok(value) if value >= T::from(1) => Ok(value),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err("expected a whole number".into()),
    }
}

impl RedriveArgs {
    /// Combinations clap cannot check on its own.
    pub fn validate(&self) -> Result<(), String> {
        if self.from == self.to {
            return Err("--from and --to are the same queue".into());
        }
        match self.mode {
            Mode::Client if self.wait => Err("--wait applies to --mode move-task only".into()),
            Mode::MoveTask if self.max.is_some() => {
                Err("--max applies to --mode client only: a move task moves the whole queue".into())
            }
            Mode::MoveTask if self.rate > MAX_MOVE_TASK_RATE => {
                Err(format!("--rate is at most {MAX_MOVE_TASK_RATE} for --mode move-task"))
            }
            _ => Ok(()),
        }
    }

    pub fn options(&self) -> RedriveOptions {
        RedriveOptions {
            rate_per_second: self.rate,
            max: self.max,
            visibility_timeout_seconds: self.visibility_timeout,
            ..RedriveOptions::default()
        }
    }
}

/// Parses the subcommand's own arguments (what follows `hookline redrive`), for tests and
/// other callers that do not go through `main`.
pub fn parse_args<I, T>(args: I) -> Result<RedriveArgs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    #[derive(clap::Parser)]
    #[command(name = "hookline redrive")]
    struct Standalone {
        #[command(flatten)]
        args: RedriveArgs,
    }
    let program = std::iter::once(std::ffi::OsString::from("hookline redrive"));
    <Standalone as clap::Parser>::try_parse_from(program.chain(args.into_iter().map(Into::into))).map(|s| s.args)
}

/// The `redrive` subcommand: SDK configuration from the environment (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`, ...), on a runtime of its own.
pub fn run(args: RedriveArgs) -> anyhow::Result<()> {
    args.validate().map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&load_sdk_config(SdkTimeouts::default()).await);
        execute(&args, &SqsRedrive::new(sqs), &mut std::io::stdout()).await
    })
}

/// Runs the validated `args` with `redrive`, printing to `out`. Fails when the redrive could
/// not run, or when some messages were not moved.
pub async fn execute(args: &RedriveArgs, redrive: &SqsRedrive, out: &mut impl Write) -> anyhow::Result<()> {
    if args.dry_run {
        let count = redrive.count(&args.from, &args.to).await?;
        let how = match (args.mode, args.max) {
            (Mode::Client, Some(max)) => format!("client mode, at most {} messages/s, stopping after {max}", args.rate),
            (Mode::Client, None) => format!("client mode, at most {} messages/s", args.rate),
            (Mode::MoveTask, _) => format!("a move task, at most {} messages/s", args.rate),
        };
        let would_move = args.max.map_or(count.visible, |max| count.visible.min(max));
        writeln!(out, "dry run: would move about {would_move} message(s) from {} to {} ({how})", args.from, args.to)?;
        if count.in_flight > 0 {
            writeln!(out, "{} more are in flight (received, not yet visible) and are not counted", count.in_flight)?;
        }
        return Ok(());
    }
    match args.mode {
        Mode::Client => client_mode(args, redrive, out).await,
        Mode::MoveTask => move_task_mode(args, redrive, out).await,
    }
}

async fn client_mode(args: &RedriveArgs, redrive: &SqsRedrive, out: &mut impl Write) -> anyhow::Result<()> {
    let report = redrive.move_messages(&args.from, &args.to, &args.options()).await?;
    for failure in &report.failed_sends {
        writeln!(out, "failed send {}: {}", failure.message_id, failure.error)?;
    }
    for failure in &report.failed_deletes {
        writeln!(out, "sent but not deleted {}: {}", failure.message_id, failure.error)?;
    }
    let stopped = match report.stopped {
        StopReason::Drained => "source drained",
        StopReason::MaxReached => "--max reached",
        StopReason::SendsFailing => "stopped: a whole batch of sends failed",
    };
    write!(out, "moved {}, failed sends {}", report.moved, report.failed_sends.len())?;
    if !report.failed_deletes.is_empty() {
        write!(
            out,
            ", sent but not deleted {} (in both queues; a later redrive moves them again)",
            report.failed_deletes.len()
        )?;
    }
    writeln!(out, " ({stopped})")?;
    if !report.failed_sends.is_empty() {
        anyhow::bail!(
            "{} message(s) were not moved: they stay in {} and are visible again after {} s",
            report.failed_sends.len(),
            args.from,
            args.visibility_timeout
        );
    }
    Ok(())
}

async fn move_task_mode(args: &RedriveArgs, redrive: &SqsRedrive, out: &mut impl Write) -> anyhow::Result<()> {
    let task = redrive.start_move_task(&args.from, &args.to, args.rate).await.map_err(suggest_client_mode)?;
    writeln!(out, "started move task {}", task.task_handle)?;
    writeln!(out, "from {} to {}, at most {} messages/s", task.source_arn, task.destination_arn, args.rate)?;
    if !args.wait {
        return Ok(());
    }
    let status = loop {
        tokio::time::sleep(Duration::from_secs(args.poll_interval)).await;
        let status = redrive
            .move_task_status(&task.source_arn)
            .await
            .map_err(suggest_client_mode)?
            .context("ListMessageMoveTasks does not list the task just started")?;
        if !status.in_progress() {
            break status;
        }
        let of = status.approximate_to_move.map(|n| format!(" of {n}")).unwrap_or_default();
        writeln!(out, "{}: moved {}{of}", status.status, status.approximate_moved)?;
    };
    writeln!(out, "move task {}: moved {}", status.status, status.approximate_moved)?;
    match status.status.as_str() {
        "COMPLETED" => Ok(()),
        other => anyhow::bail!(
            "the move task ended {other}{}",
            status.failure_reason.map(|reason| format!(": {reason}")).unwrap_or_default()
        ),
    }
}

fn suggest_client_mode(error: RedriveError) -> anyhow::Error {
    match error {
        RedriveError::MoveTaskUnsupported { .. } => anyhow::Error::new(error).context(
            "move tasks are unsupported at this SQS endpoint (the local emulator has none); \
             use --mode client, which works against any endpoint",
        ),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<RedriveArgs, clap::Error> {
        parse_args(["--from", "http://sqs/q/dlq", "--to", "http://sqs/q/main"].iter().chain(extra))
    }

    #[test]
    fn defaults_are_client_mode_at_50_per_second_without_a_maximum() {
        let args = parse(&[]).unwrap();
        assert_eq!((args.mode, args.rate, args.max, args.dry_run, args.wait), (Mode::Client, 50, None, false, false));
        assert_eq!(args.visibility_timeout, 60);
        assert!(args.validate().is_ok());
        assert_eq!(
            args.options(),
            RedriveOptions { rate_per_second: 50, max: None, visibility_timeout_seconds: 60, wait_time_seconds: 1 }
        );
    }

    #[test]
    fn every_option_is_parsed() {
        let args =
            parse(&["--mode", "move-task", "--rate", "500", "--dry-run", "--wait", "--poll-interval", "2"]).unwrap();
        assert_eq!(
            (args.mode, args.rate, args.dry_run, args.wait, args.poll_interval),
            (Mode::MoveTask, 500, true, true, 2)
        );
        assert!(args.validate().is_ok());
        let args = parse(&["--max", "7", "--rate", "1", "--visibility-timeout", "30"]).unwrap();
        assert_eq!(args.options().max, Some(7));
        assert_eq!(args.options().visibility_timeout_seconds, 30);
    }

    #[test]
    fn out_of_range_numbers_are_refused_by_the_parser() {
        for extra in [
            &["--rate", "0"][..],
            &["--rate", "-1"],
            &["--max", "0"],
            &["--visibility-timeout", "0"],
            &["--mode", "sideways"],
        ] {
            assert!(parse(extra).is_err(), "{extra:?}");
        }
        assert!(parse_args(["--from", "http://sqs/q/dlq"]).is_err(), "--to is required");
    }

    #[test]
    fn combinations_are_validated() {
        let refused = |extra: &[&str]| parse(extra).unwrap().validate().unwrap_err();
        assert!(refused(&["--wait"]).contains("--mode move-task"));
        assert!(refused(&["--mode", "move-task", "--max", "5"]).contains("--mode client"));
        assert!(refused(&["--mode", "move-task", "--rate", "501"]).contains("500"));
        let same = parse_args(["--from", "http://sqs/q/a", "--to", "http://sqs/q/a"]).unwrap();
        assert!(same.validate().unwrap_err().contains("same queue"));
        // Client mode has no upper bound on the rate.
        assert!(parse(&["--rate", "5000"]).unwrap().validate().is_ok());
    }
}
