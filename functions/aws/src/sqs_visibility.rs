//! [`MessageVisibility`] over SQS `ChangeMessageVisibility`.

use aws_sdk_sqs::error::DisplayErrorContext;
use hookline_ports::{MessageVisibility, QueueError};

#[derive(Debug, Clone)]
pub struct SqsVisibility {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsVisibility {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsVisibility { client, queue_url: queue_url.into() }
    }
}

impl MessageVisibility for SqsVisibility {
    async fn delay(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError {
                retryable: true,
                kind: "change_visibility",
                message: DisplayErrorContext(&e).to_string(),
                source: Some(Box::new(e)),
            })
    }
}
