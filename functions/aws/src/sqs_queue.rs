//! [`Queue`] over Amazon SQS `SendMessage`.

use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::MessageAttributeValue;
use hookline_domain::QueueMessage;
use hookline_ports::{MessageId, Queue, QueueError};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, queue_url: queue_url.into() }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

impl Queue for SqsQueue {
    async fn send(&self, message: QueueMessage) -> Result<MessageId, QueueError> {
        let mut request = self.client.send_message().queue_url(&self.queue_url).message_body(message.body);
        if message.delay_seconds > 0 {
            request = request.delay_seconds(message.delay_seconds.min(900) as i32);
        }
        for (name, value) in message.attributes {
            let attribute =
                MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(|e| {
                    QueueError {
                        retryable: false,
                        kind: "invalid_attribute",
                        message: e.to_string(),
                        source: Some(Box::new(e)),
                    }
                })?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(classify)?;
        // SQS answers with a MessageId only once the message is stored; no id, no acknowledgement.
        output.message_id.map(MessageId).ok_or_else(|| QueueError {
            retryable: true,
            kind: "no_message_id",
            message: "SendMessage answered without a MessageId".into(),
            source: None,
        })
    }
}

fn classify<E>(error: SdkError<E, aws_sdk_sqs::config::http::HttpResponse>) -> QueueError
where
    E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let (retryable, kind) = match &error {
        SdkError::TimeoutError(_) => (true, "timeout"),
        SdkError::DispatchFailure(_) => (true, "unreachable"),
        SdkError::ResponseError(_) => (true, "bad_response"),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match service.err().code() {
                Some("RequestThrottled" | "ThrottlingException" | "KmsThrottled") => (true, "throttled"),
                _ if status >= 500 => (true, "service_unavailable"),
                _ => (false, "rejected"),
            }
        }
        _ => (false, "client"),
    };
    QueueError { retryable, kind, message: DisplayErrorContext(&error).to_string(), source: Some(Box::new(error)) }
}
