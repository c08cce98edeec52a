//! Shared harness for Hookline's integration tests: real AWS SDK clients against the local
//! emulator started by `make test` (`AWS_ENDPOINT_URL` and friends come from the
//! environment, exactly as for the functions).

use std::sync::atomic::{AtomicU32, Ordering};

pub mod chaos;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use hookline_aws::{SdkTimeouts, load_sdk_config};

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Fails with instructions when the emulator's environment is missing, rather than
/// letting the SDK time out against real AWS.
pub fn require_emulator() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the integration tests with `make test`, which starts the local emulator"
    );
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    require_emulator();
    load_sdk_config(SdkTimeouts::default()).await
}

/// A name no other test (or earlier run) uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A fresh queue of this test's own.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    sqs.create_queue().queue_name(unique_name(prefix)).send().await.unwrap().queue_url.unwrap()
}

/// A fresh bucket; returns its name.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let bucket = unique_name(prefix).to_ascii_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    bucket
}

/// A fresh secret holding `value`; returns its ARN.
pub async fn create_secret(secrets: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    secrets.create_secret().name(unique_name("hookline-test")).secret_string(value).send().await.unwrap().arn.unwrap()
}

/// A message as received, with its string attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub attributes: std::collections::HashMap<String, String>,
}

/// Everything in the queue as received, receiving until it is empty (messages stay
/// invisible for 60 s, so nothing is seen twice).
pub async fn drain_messages(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        all.extend(messages);
    }
}

/// Everything in the queue, with string attributes (see [`drain_messages`]).
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Received> {
    drain_messages(sqs, queue_url)
        .await
        .into_iter()
        .map(|message| Received {
            attributes: message
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value): (String, MessageAttributeValue)| (name, value.string_value.unwrap_or_default()))
                .collect(),
            body: message.body.unwrap_or_default(),
        })
        .collect()
}

/// SQS's own count of visible plus in-flight messages.
/// A queue's ARN.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    output.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone()
}

pub async fn depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> u64 {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    output.attributes.unwrap_or_default().values().map(|v| v.parse::<u64>().unwrap()).sum()
}

/// A fresh on-demand table keyed by `event_id` (S), as the template declares them.
pub async fn create_event_table(dynamodb: &aws_sdk_dynamodb::Client, prefix: &str) -> String {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let name = unique_name(prefix);
    dynamodb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("event_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("event_id").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .unwrap();
    name
}

/// Number of items in a table (small test tables only).
pub async fn item_count(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    dynamodb.scan().table_name(table).send().await.unwrap().items.unwrap_or_default().len()
}

/// The running local stack of `make test`: its settings come from the env file the
/// provisioning wrote, exported by `infra/local/test.sh`.
pub mod stack {
    use std::collections::HashMap;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use aws_sdk_dynamodb::types::AttributeValue;
    use hookline_cli::signer::{SignRequest, sign_request};
    use hookline_domain::SourcesConfig;

    /// A setting of the running stack; fails with instructions when the stack is not running.
    pub fn required(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run this test with `make test`, which starts the local stack")
        })
    }

    pub fn now_unix() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    /// Signs `body` for a source of `infra/local/sources.json` and POSTs it to the running
    /// ingest function's URL; returns the status and the response body.
    pub fn post_signed(source: &str, body: &[u8], event_id: &str) -> (u16, String) {
        post_signed_as(source, body, "application/json", event_id)
    }

    /// [`post_signed`] with another content type.
    pub fn post_signed_as(source: &str, body: &[u8], content_type: &str, event_id: &str) -> (u16, String) {
        let config =
            SourcesConfig::from_json(&std::fs::read(super::repo_root().join("infra/local/sources.json")).unwrap())
                .unwrap();
        let signed = sign_request(
            &config,
            &SignRequest { source, body, content_type, now_unix: now_unix(), key_index: 0, event_id },
        )
        .unwrap();
        let (headers, body) = (signed.headers, signed.body);
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-X", "POST", "-w", "\n%{http_code}", "--data-binary", "@-"])
            .arg(format!("{}/{source}", required("HOOKLINE_INGEST_URL")));
        for (name, value) in &headers {
            curl.arg("-H").arg(format!("{name}: {value}"));
        }
        use std::io::Write;
        let mut child = curl.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(&body).unwrap();
        let output = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (response, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.parse().unwrap_or(0), response.to_owned())
    }

    /// Polls `check` every 300 ms until it returns `Some`, for at most `limit`.
    pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// An item of a table keyed by `event_id`, if present.
    pub async fn item(
        dynamodb: &aws_sdk_dynamodb::Client,
        table: &str,
        event_id: &str,
    ) -> Option<HashMap<String, AttributeValue>> {
        dynamodb
            .get_item()
            .table_name(table)
            .key("event_id", AttributeValue::S(event_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// Waits (bounded) until the processor stored `event_id` in the events table.
    pub async fn stored_event(dynamodb: &aws_sdk_dynamodb::Client, event_id: &str) -> HashMap<String, AttributeValue> {
        let table = required("HOOKLINE_EVENTS_TABLE");
        eventually(&format!("{event_id} to be processed"), Duration::from_secs(90), || item(dynamodb, &table, event_id))
            .await
    }
}
