//! The `dlq` subcommand's arguments and wiring to AWS (or the emulator, by configuration).

use anyhow::Context;
use hookline_aws::{
    DynamoIdempotencyStore, DynamoLedger, S3BodyStore, SdkTimeouts, SqsQueue, load_sdk_config, s3_client,
};
use hookline_domain::Envelope;
use hookline_domain::dead_letter::LedgerStatus;
use hookline_ports::DeadLetterLedger;

use crate::dead_letters::{format_list, format_show, printable, replay, stored_body_state};

#[derive(clap::Args)]
pub struct DlqArgs {
    /// The dead-letter ledger table (the stack's `<stack>-dead-letters`).
    #[arg(long, env = "HOOKLINE_LEDGER_TABLE", global = true)]
    ledger_table: Option<String>,
    /// The idempotency table (the stack's `<stack>-idempotency`), which `replay` checks each
    /// parked body against.
    #[arg(long, env = "HOOKLINE_IDEMPOTENCY_TABLE", global = true)]
    idempotency_table: Option<String>,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(clap::Subcommand)]
enum DlqCommand {
    /// List dead letters (event id, status, source, replays, last error, first and last seen).
    List {
        /// Only this status: PARKED, REPLAYED or REDRIVEN.
        #[arg(long)]
        status: Option<String>,
    },
    /// Everything the ledger knows about one dead letter, as JSON; for a body that travels by
    /// reference, whether its object is still in the body bucket.
    Show { event_id: String },
    /// Send parked events back to the main queue and mark them REDRIVEN.
    Replay {
        /// One event; omit with --all-parked.
        #[arg(required_unless_present = "all_parked", conflicts_with = "all_parked")]
        event_id: Option<String>,
        #[arg(long)]
        all_parked: bool,
        /// Show what would be sent, send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The main queue (the stack's `<stack>-main`).
        #[arg(long, env = "HOOKLINE_QUEUE_URL")]
        queue_url: String,
    },
}

pub fn run(args: DlqArgs) -> anyhow::Result<()> {
    let table = args.ledger_table.context(
        "give --ledger-table or set HOOKLINE_LEDGER_TABLE (`make dev` writes it to .hookline/local.env, which hookline reads when run inside the project)",
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let sdk = load_sdk_config(SdkTimeouts::default()).await;
        let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        match args.command {
            DlqCommand::List { status } => {
                let status = status
                    .map(|s| {
                        LedgerStatus::parse(&s.to_ascii_uppercase()).context("status is PARKED, REPLAYED or REDRIVEN")
                    })
                    .transpose()?;
                print!("{}", format_list(&ledger.list(status).await?));
            }
            DlqCommand::Show { event_id } => {
                let record =
                    ledger.get(&event_id).await?.with_context(|| format!("no dead letter {}", printable(&event_id)))?;
                // Each reference names its bucket; the store reads from the one it names.
                let bodies = S3BodyStore::new(s3_client(&sdk), "");
                let state = match Envelope::from_json(&record.latest.envelope) {
                    Ok(envelope) => stored_body_state(&bodies, &envelope).await,
                    Err(_) => None,
                };
                println!("{}", format_show(&record, state));
            }
            DlqCommand::Replay { event_id, all_parked: _, dry_run, queue_url } => {
                let idempotency_table = args.idempotency_table.context(
                    "give --idempotency-table or set HOOKLINE_IDEMPOTENCY_TABLE (in .hookline/local.env for the local stack)",
                )?;
                let store = DynamoIdempotencyStore::new(aws_sdk_dynamodb::Client::new(&sdk), &idempotency_table);
                let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url);
                // Each reference names its bucket; the store reads from the one it names.
                let bodies = S3BodyStore::new(s3_client(&sdk), "");
                let report = replay(&ledger, &queue, &store, &bodies, event_id.as_deref(), dry_run).await?;
                let verb = if dry_run { "would replay" } else { "replayed" };
                for id in &report.replayed {
                    println!("{verb} {}", printable(id));
                }
                for (id, why) in &report.skipped {
                    println!("skipped {}: {why}", printable(id));
                }
                println!("{verb} {}, skipped {}", report.replayed.len(), report.skipped.len());
            }
        }
        Ok(())
    })
}
