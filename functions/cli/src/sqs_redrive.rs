//! Operator redrive: moving messages from a dead-letter (or parking) queue back to a source
//! queue, as the AWS console's "Start DLQ redrive" does.
//!
//! Two ways:
//! - [`SqsRedrive::start_move_task`]: SQS's own `StartMessageMoveTask`, run by AWS. Only AWS
//!   implements it (the local emulator answers HTTP 500), and AWS only accepts a source queue
//!   that is some queue's dead-letter queue.
//! - [`SqsRedrive::move_messages`]: a client-side loop, ReceiveMessage → SendMessage (same body,
//!   same message attributes, a new message id) → DeleteMessage, that works against any endpoint.
//!
//! The client loop deletes an original only after SendMessage answered with a MessageId, so an
//! interruption at any point may duplicate a message (its copy was stored, the original not yet
//! deleted) but never loses one. Duplicates are harmless: the processor is idempotent.

use std::time::{Duration, SystemTime};

use aws_sdk_sqs::config::AsyncSleep;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesError;
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::types::{Message, MessageAttributeValue, QueueAttributeName};
use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_async::time::SharedTimeSource;

/// `MaxNumberOfMessagesPerSecond` of a move task is at most this.
pub const MAX_MOVE_TASK_RATE: u32 = 500;
/// Receives that come back empty, in a row, before the source counts as drained.
const EMPTY_RECEIVES_TO_STOP: u32 = 2;
/// Sends that fail in a row (a whole receive batch) before the run gives up: the destination is
/// most likely unusable, and receiving on would only hide the rest of the source for nothing.
const FAILED_SENDS_TO_STOP: u32 = 10;

/// Moves messages between two SQS queues.
#[derive(Debug, Clone)]
pub struct SqsRedrive {
    client: aws_sdk_sqs::Client,
    /// What paces the sends: the client's own sleep and time source, unless given.
    pacing: Option<(SharedAsyncSleep, SharedTimeSource)>,
}

/// How [`SqsRedrive::move_messages`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedriveOptions {
    /// Sends per second, at most (> 0).
    pub rate_per_second: u32,
    /// Messages handled (moved or failed), at most; `None`: until the source is drained.
    pub max: Option<u64>,
    /// How long a received message stays hidden in the source: a message whose send failed
    /// becomes visible again after this (1-43200).
    pub visibility_timeout_seconds: u32,
    /// Long-poll wait of each receive (0-20). Keep it under the SDK's attempt timeout.
    pub wait_time_seconds: u32,
}

impl Default for RedriveOptions {
    fn default() -> Self {
        RedriveOptions { rate_per_second: 50, max: None, visibility_timeout_seconds: 60, wait_time_seconds: 1 }
    }
}

impl RedriveOptions {
    pub fn validate(&self) -> Result<(), RedriveError> {
        let invalid = |reason: &str| Err(RedriveError::InvalidOptions(reason.to_owned()));
        if self.rate_per_second == 0 {
            return invalid("the rate must be at least 1 message per second");
        }
        if self.max == Some(0) {
            return invalid("the maximum must be at least 1 message");
        }
        if !(1..=43_200).contains(&self.visibility_timeout_seconds) {
            return invalid("the visibility timeout must be from 1 to 43200 seconds");
        }
        if self.wait_time_seconds > 20 {
            return invalid("the receive wait time must be from 0 to 20 seconds");
        }
        Ok(())
    }
}

/// What a client-side redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveReport {
    /// Sent to the destination and deleted from the source.
    pub moved: u64,
    /// Not sent: each is still in the source, visible again after the visibility timeout.
    pub failed_sends: Vec<MessageFailure>,
    /// Sent, but the original could not be deleted: it is in both queues, and a later redrive
    /// moves it again (a duplicate, which the processor ignores).
    pub failed_deletes: Vec<MessageFailure>,
    pub stopped: StopReason,
}

impl RedriveReport {
    /// Messages handled so far, whatever became of them (what `max` bounds).
    pub fn handled(&self) -> u64 {
        self.moved + self.failed_sends.len() as u64 + self.failed_deletes.len() as u64
    }
}

/// One message that did not move cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFailure {
    /// The message id in the source queue.
    pub message_id: String,
    pub error: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StopReason {
    /// Receives came back empty twice in a row.
    #[default]
    Drained,
    /// `max` messages were handled.
    MaxReached,
    /// A whole batch of sends failed in a row; the rest of the source was not touched.
    SendsFailing,
}

/// A move task that SQS accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTask {
    pub task_handle: String,
    pub source_arn: String,
    pub destination_arn: String,
}

/// The state of a source queue's most recent move task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTaskStatus {
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    pub status: String,
    /// Present while the task runs.
    pub task_handle: Option<String>,
    pub approximate_moved: i64,
    pub approximate_to_move: Option<i64>,
    pub failure_reason: Option<String>,
}

impl MoveTaskStatus {
    /// Still moving (or still stopping): poll again.
    pub fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "CANCELLING")
    }
}

/// What a dry run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceCount {
    /// `ApproximateNumberOfMessages`: what a redrive would receive now.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received by someone, not moved by a redrive now.
    pub in_flight: u64,
}

#[derive(Debug)]
pub enum RedriveError {
    InvalidOptions(String),
    /// Source and destination are the same queue: a redrive would never end.
    SameQueue {
        queue_url: String,
    },
    /// The client-side loop does not handle FIFO queues (message groups and deduplication).
    FifoQueue {
        queue_url: String,
    },
    /// The queue could not be read: it does not exist, or access is denied, or SQS is unreachable.
    QueueAttributes {
        queue_url: String,
        message: String,
        source: Box<SdkError<GetQueueAttributesError, HttpResponse>>,
    },
    /// A receive failed mid-run; `report` is what was done before it.
    Receive {
        queue_url: String,
        report: RedriveReport,
        message: String,
        source: Box<SdkError<ReceiveMessageError, HttpResponse>>,
    },
    /// The endpoint does not implement the move task API (the local emulator); the client-side
    /// redrive works there.
    MoveTaskUnsupported {
        operation: &'static str,
        message: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A move task call failed for another reason (source not a dead-letter queue, a task
    /// already running, access denied...).
    MoveTask {
        operation: &'static str,
        message: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// SQS answered without a field it always sends.
    MissingField {
        operation: &'static str,
        field: &'static str,
    },
    /// The SQS client was built without an async sleep, which the rate limit needs.
    NoSleepImplementation,
}

impl std::fmt::Display for RedriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedriveError::InvalidOptions(reason) => write!(f, "invalid redrive options: {reason}"),
            RedriveError::SameQueue { queue_url } => {
                write!(f, "the source and the destination are the same queue ({queue_url})")
            }
            RedriveError::FifoQueue { queue_url } => {
                write!(f, "{queue_url} is a FIFO queue; the client-side redrive moves standard queues only")
            }
            RedriveError::QueueAttributes { queue_url, message, .. } => {
                write!(f, "could not read the attributes of queue {queue_url}: {message}")
            }
            RedriveError::Receive { queue_url, report, message, .. } => write!(
                f,
                "receiving from {queue_url} failed after {} message(s) moved and {} failed send(s): {message}",
                report.moved,
                report.failed_sends.len()
            ),
            RedriveError::MoveTaskUnsupported { operation, message, .. } => {
                write!(f, "this SQS endpoint does not support {operation}: {message}")
            }
            RedriveError::MoveTask { operation, message, .. } => write!(f, "{operation} failed: {message}"),
            RedriveError::MissingField { operation, field } => write!(f, "{operation} answered without {field}"),
            RedriveError::NoSleepImplementation => {
                write!(f, "the SQS client has no async sleep implementation, which the rate limit needs")
            }
        }
    }
}

impl std::error::Error for RedriveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedriveError::QueueAttributes { source, .. } => Some(source.as_ref()),
            RedriveError::Receive { source, .. } => Some(source.as_ref()),
            RedriveError::MoveTaskUnsupported { source, .. } | RedriveError::MoveTask { source, .. } => {
                Some(source.as_ref())
            }
            _ => None,
        }
    }
}

struct QueueInfo {
    arn: String,
    fifo: bool,
}

impl SqsRedrive {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        SqsRedrive { client, pacing: None }
    }

    /// Paces the sends with `sleep` and `time` instead of the client's own (tests pass a
    /// sleep that records what it was asked for and returns at once).
    pub fn with_pacing(client: aws_sdk_sqs::Client, sleep: SharedAsyncSleep, time: SharedTimeSource) -> Self {
        SqsRedrive { client, pacing: Some((sleep, time)) }
    }

    /// The source's message counts, for a dry run; also checks that the destination exists.
    pub async fn count(&self, from: &str, to: &str) -> Result<SourceCount, RedriveError> {
        self.queue_pair(from, to).await?;
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(from)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| attributes_error(from, e))?
            .attributes
            .unwrap_or_default();
        let number = |name: &QueueAttributeName| attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(SourceCount {
            visible: number(&QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: number(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        })
    }

    /// Moves messages from `from` to `to` until the source is drained, `options.max` messages
    /// were handled, or a whole batch of sends failed. Send and delete failures are reported,
    /// not returned: the messages concerned are still in the source.
    pub async fn move_messages(
        &self,
        from: &str,
        to: &str,
        options: &RedriveOptions,
    ) -> Result<RedriveReport, RedriveError> {
        options.validate()?;
        let (source, destination) = self.queue_pair(from, to).await?;
        for (queue, url) in [(&source, from), (&destination, to)] {
            if queue.fifo {
                return Err(RedriveError::FifoQueue { queue_url: url.to_owned() });
            }
        }
        let (sleep, time) = match &self.pacing {
            Some(pacing) => pacing.clone(),
            None => (
                self.client.config().sleep_impl().ok_or(RedriveError::NoSleepImplementation)?,
                self.client.config().time_source().unwrap_or_default(),
            ),
        };
        let mut pacer = Pacer::per_second(options.rate_per_second);
        let mut report = RedriveReport::default();
        let mut empty_receives = 0;
        let mut failed_in_a_row = 0;
        loop {
            let wanted = match options.max {
                Some(max) if report.handled() >= max => {
                    report.stopped = StopReason::MaxReached;
                    return Ok(report);
                }
                Some(max) => (max - report.handled()).min(10) as i32,
                None => 10,
            };
            let received = self
                .client
                .receive_message()
                .queue_url(from)
                .max_number_of_messages(wanted)
                .visibility_timeout(options.visibility_timeout_seconds as i32)
                .wait_time_seconds(options.wait_time_seconds as i32)
                .message_attribute_names("All")
                .send()
                .await;
            let messages = match received {
                Ok(output) => output.messages.unwrap_or_default(),
                Err(error) => {
                    return Err(RedriveError::Receive {
                        queue_url: from.to_owned(),
                        report,
                        message: summary(&error),
                        source: Box::new(error),
                    });
                }
            };
            if messages.is_empty() {
                empty_receives += 1;
                if empty_receives >= EMPTY_RECEIVES_TO_STOP {
                    report.stopped = StopReason::Drained;
                    return Ok(report);
                }
                continue;
            }
            empty_receives = 0;
            for message in &messages {
                let wait = pacer.reserve(time.now());
                if !wait.is_zero() {
                    sleep.sleep(wait).await;
                }
                let message_id = message.message_id.clone().unwrap_or_default();
                // The copy must be stored (a MessageId returned) before the original goes.
                if let Err(error) = self.send_copy(message, to).await {
                    failed_in_a_row += 1;
                    report.failed_sends.push(MessageFailure { message_id, error });
                    continue;
                }
                failed_in_a_row = 0;
                match self.delete(from, message).await {
                    Ok(()) => report.moved += 1,
                    Err(error) => report.failed_deletes.push(MessageFailure { message_id, error }),
                }
            }
            if failed_in_a_row >= FAILED_SENDS_TO_STOP {
                report.stopped = StopReason::SendsFailing;
                return Ok(report);
            }
        }
    }

    /// Starts an SQS move task from `from` to `to` at `rate_per_second` (1-500). AWS accepts
    /// only a source that is some queue's dead-letter queue.
    pub async fn start_move_task(&self, from: &str, to: &str, rate_per_second: u32) -> Result<MoveTask, RedriveError> {
        if !(1..=MAX_MOVE_TASK_RATE).contains(&rate_per_second) {
            return Err(RedriveError::InvalidOptions(format!(
                "a move task's rate must be from 1 to {MAX_MOVE_TASK_RATE} messages per second"
            )));
        }
        let (source, destination) = self.queue_pair(from, to).await?;
        const OPERATION: &str = "StartMessageMoveTask";
        let output = self
            .client
            .start_message_move_task()
            .source_arn(&source.arn)
            .destination_arn(&destination.arn)
            .max_number_of_messages_per_second(rate_per_second as i32)
            .send()
            .await
            .map_err(|e| move_task_error(OPERATION, e))?;
        Ok(MoveTask {
            task_handle: output
                .task_handle
                .ok_or(RedriveError::MissingField { operation: OPERATION, field: "TaskHandle" })?,
            source_arn: source.arn,
            destination_arn: destination.arn,
        })
    }

    /// The most recent move task of the source queue `source_arn` (`None`: there never was one).
    pub async fn move_task_status(&self, source_arn: &str) -> Result<Option<MoveTaskStatus>, RedriveError> {
        const OPERATION: &str = "ListMessageMoveTasks";
        let output = self
            .client
            .list_message_move_tasks()
            .source_arn(source_arn)
            .max_results(1)
            .send()
            .await
            .map_err(|e| move_task_error(OPERATION, e))?;
        let Some(entry) = output.results.unwrap_or_default().into_iter().next() else { return Ok(None) };
        Ok(Some(MoveTaskStatus {
            status: entry.status.ok_or(RedriveError::MissingField { operation: OPERATION, field: "Status" })?,
            task_handle: entry.task_handle,
            approximate_moved: entry.approximate_number_of_messages_moved,
            approximate_to_move: entry.approximate_number_of_messages_to_move,
            failure_reason: entry.failure_reason,
        }))
    }

    /// Both queues' ARNs (which also proves they exist), refusing one queue as both ends.
    async fn queue_pair(&self, from: &str, to: &str) -> Result<(QueueInfo, QueueInfo), RedriveError> {
        let source = self.queue_info(from).await?;
        let destination = self.queue_info(to).await?;
        if source.arn == destination.arn {
            return Err(RedriveError::SameQueue { queue_url: from.to_owned() });
        }
        Ok((source, destination))
    }

    async fn queue_info(&self, queue_url: &str) -> Result<QueueInfo, RedriveError> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .attribute_names(QueueAttributeName::FifoQueue)
            .send()
            .await
            .map_err(|e| attributes_error(queue_url, e))?
            .attributes
            .unwrap_or_default();
        let arn = attributes
            .get(&QueueAttributeName::QueueArn)
            .cloned()
            .ok_or(RedriveError::MissingField { operation: "GetQueueAttributes", field: "QueueArn" })?;
        let fifo = attributes.get(&QueueAttributeName::FifoQueue).is_some_and(|v| v == "true");
        Ok(QueueInfo { arn, fifo })
    }

    /// Sends `message`'s body and message attributes to `to`; the copy gets a new message id.
    async fn send_copy(&self, message: &Message, to: &str) -> Result<String, String> {
        let mut request = self.client.send_message().queue_url(to).message_body(message.body().unwrap_or_default());
        for (name, value) in message.message_attributes.iter().flatten() {
            request = request.message_attributes(name, copy_attribute(value)?);
        }
        let output = request.send().await.map_err(|e| summary(&e))?;
        output.message_id.ok_or_else(|| "SendMessage answered without a MessageId".to_owned())
    }

    async fn delete(&self, from: &str, message: &Message) -> Result<(), String> {
        let receipt_handle = message.receipt_handle().ok_or("ReceiveMessage answered without a ReceiptHandle")?;
        self.client
            .delete_message()
            .queue_url(from)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| summary(&e))
    }
}

/// The attribute as SendMessage takes it: data type (custom suffixes included) and its value.
fn copy_attribute(value: &MessageAttributeValue) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type(value.data_type())
        .set_string_value(value.string_value.clone())
        .set_binary_value(value.binary_value.clone())
        .build()
        .map_err(|e| e.to_string())
}

fn attributes_error(queue_url: &str, error: SdkError<GetQueueAttributesError, HttpResponse>) -> RedriveError {
    RedriveError::QueueAttributes { queue_url: queue_url.to_owned(), message: summary(&error), source: Box::new(error) }
}

/// A move task call's failure, telling an endpoint without the API (moto answers HTTP 500 with an
/// HTML page and no SQS error code; others may answer 501 or an unknown-operation code) from a
/// refusal by SQS.
fn move_task_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> RedriveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unsupported = match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            status == 501
                || (status >= 500 && code.is_none())
                || matches!(code, Some("UnknownOperationException" | "InvalidAction" | "NotImplemented"))
        }
        SdkError::ResponseError(response) => matches!(response.raw().status().as_u16(), 500 | 501),
        _ => false,
    };
    if unsupported {
        let status = error.raw_response().map(|r| r.status().as_u16());
        let message = match status {
            Some(status) => format!(
                "HTTP {status} without an SQS error code, as the local emulator answers for actions it has not implemented"
            ),
            None => summary(&error),
        };
        RedriveError::MoveTaskUnsupported { operation, message, source: Box::new(error) }
    } else {
        RedriveError::MoveTask { operation, message: summary(&error), source: Box::new(error) }
    }
}

/// `code: message` of a service error, the error with its causes otherwise.
fn summary<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => match (service.err().code(), service.err().message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => format!("HTTP {}: {}", service.raw().status().as_u16(), DisplayErrorContext(error)),
        },
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// Spaces sends evenly at `rate` per second: no bursts, even after a pause.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    next: Option<SystemTime>,
}

impl Pacer {
    fn per_second(rate: u32) -> Self {
        Pacer { interval: Duration::from_secs(1) / rate.max(1), next: None }
    }

    /// How long to wait, from `now`, before the next send; reserves that send's slot.
    fn reserve(&mut self, now: SystemTime) -> Duration {
        let slot = self.next.filter(|next| *next > now).unwrap_or(now);
        self.next = Some(slot + self.interval);
        slot.duration_since(now).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_spaces_sends_at_the_rate() {
        let start = SystemTime::UNIX_EPOCH;
        let mut pacer = Pacer::per_second(5);
        let waits: Vec<_> = (0..5).map(|_| pacer.reserve(start)).collect();
        assert_eq!(waits, [0, 200, 400, 600, 800].map(Duration::from_millis));
        // In any one second, at most `rate` sends start.
        let mut pacer = Pacer::per_second(50);
        let starts = (0..200).filter(|_| pacer.reserve(start) < Duration::from_secs(1)).count();
        assert_eq!(starts, 50);
    }

    #[test]
    fn the_pacer_does_not_save_up_a_burst_while_idle() {
        let start = SystemTime::UNIX_EPOCH;
        let mut pacer = Pacer::per_second(10);
        assert_eq!(pacer.reserve(start), Duration::ZERO);
        let later = start + Duration::from_secs(60);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
        assert_eq!(pacer.reserve(later), Duration::from_millis(100));
    }

    #[test]
    fn options_are_validated() {
        assert!(RedriveOptions::default().validate().is_ok());
        for invalid in [
            RedriveOptions { rate_per_second: 0, ..Default::default() },
            RedriveOptions { max: Some(0), ..Default::default() },
            RedriveOptions { visibility_timeout_seconds: 0, ..Default::default() },
            RedriveOptions { visibility_timeout_seconds: 43_201, ..Default::default() },
            RedriveOptions { wait_time_seconds: 21, ..Default::default() },
        ] {
            assert!(matches!(invalid.validate(), Err(RedriveError::InvalidOptions(_))), "{invalid:?}");
        }
    }

    #[test]
    fn handled_counts_every_outcome() {
        let failure = MessageFailure { message_id: "m".into(), error: "e".into() };
        let report = RedriveReport {
            moved: 3,
            failed_sends: vec![failure.clone()],
            failed_deletes: vec![failure],
            stopped: StopReason::Drained,
        };
        assert_eq!(report.handled(), 5);
    }
}
