//! Ingest against the emulator through the real SDK: Secrets Manager for the sources
//! configuration, SQS for the queue, S3 for large bodies. Every test has a queue, a secret and
//! a bucket of its own.

use std::time::Duration;

use hookline_aws::{S3BodyStore, SecretsManagerSourcesLoader, SqsQueue, s3_client};
use hookline_domain::Envelope;
use hookline_domain::envelope::attribute;
use hookline_ingest::{IngestService, http};
use hookline_ports::RefreshingSources;
use hookline_ports::fakes::FixedClock;
use hookline_tests::{create_bucket, create_queue, create_secret, depth, drain, repo_root, sdk_config};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::Value;

type Service = IngestService<SqsQueue, S3BodyStore, RefreshingSources<SecretsManagerSourcesLoader>, FixedClock>;

struct Fixture {
    sqs: aws_sdk_sqs::Client,
    secrets: aws_sdk_secretsmanager::Client,
    s3: aws_sdk_s3::Client,
    queue_url: String,
    secret_arn: String,
    bucket: String,
    service: Service,
}

impl Fixture {
    /// Another service over the fixture's queue, secret and bucket, with `s3` as its S3 client
    /// and `inline_message_bytes` as its threshold.
    fn service(&self, s3: aws_sdk_s3::Client, inline_message_bytes: usize) -> Service {
        self.service_on(SqsQueue::new(self.sqs.clone(), &self.queue_url), s3, inline_message_bytes)
    }

    /// The same over another queue adapter.
    fn service_on(&self, queue: SqsQueue, s3: aws_sdk_s3::Client, inline_message_bytes: usize) -> Service {
        IngestService::new(
            queue,
            S3BodyStore::new(s3, &self.bucket),
            RefreshingSources::new(
                SecretsManagerSourcesLoader::new(self.secrets.clone(), &self.secret_arn),
                Duration::from_secs(60),
                Duration::from_secs(3600),
            ),
            FixedClock(manifest()["signed_at"].as_i64().unwrap() * 1000 + 1000),
            "HooklineTest",
        )
        .with_inline_message_bytes(inline_message_bytes)
    }

    async fn objects(&self) -> Vec<String> {
        let listed = self.s3.list_objects_v2().bucket(&self.bucket).send().await.unwrap();
        listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/ingest/manifest.json")).unwrap()).unwrap()
}

fn local_sources() -> String {
    std::fs::read_to_string(repo_root().join("infra/local/sources.json")).unwrap()
}

async fn fixture(ttl: Duration) -> Fixture {
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let s3 = s3_client(&sdk);
    let queue_url = create_queue(&sqs, "hookline-ingest").await;
    let secret_arn = create_secret(&secrets, &local_sources()).await;
    let bucket = create_bucket(&s3, "hookline-ingest").await;
    let now = manifest()["signed_at"].as_i64().unwrap() * 1000 + 1000;
    let service = IngestService::new(
        SqsQueue::new(sqs.clone(), &queue_url),
        S3BodyStore::new(s3.clone(), &bucket),
        RefreshingSources::new(
            SecretsManagerSourcesLoader::new(secrets.clone(), &secret_arn),
            ttl,
            Duration::from_secs(3600),
        ),
        FixedClock(now),
        "HooklineTest",
    );
    Fixture { sqs, secrets, s3, queue_url, secret_arn, bucket, service }
}

/// The sample's bytes as the runtime API would hand them over, through the function's handler.
async fn invoke(service: &Service, file: &str) -> ApiGatewayV2httpResponse {
    let payload = std::fs::read(repo_root().join("events/ingest").join(file)).unwrap();
    http::handle_invocation(service, http::Invocation::from_slice(&payload)).await.unwrap()
}

fn samples(filter: impl Fn(u64) -> bool) -> Vec<(String, String, u64)> {
    manifest()["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_owned(),
                s["source"].as_str().unwrap().to_owned(),
                s["expect"].as_u64().unwrap(),
            )
        })
        .filter(|(_, _, expect)| filter(*expect))
        .collect()
}

/// The manifest's `expect_body` of `file`, where it has one.
fn expected_body(file: &str) -> Option<String> {
    manifest()["samples"].as_array().unwrap().iter().find(|s| s["file"] == file)?["expect_body"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn each_valid_request_lands_exactly_once_with_its_envelope_and_attributes() {
    let f = fixture(Duration::from_secs(60)).await;
    let accepted = samples(|status| status == 202);
    assert!(accepted.len() >= 7);
    for (file, source, _) in &accepted {
        let response = invoke(&f.service, file).await;
        assert_eq!(response.status_code, 202, "{file}");
        let answered: Value = serde_json::from_slice(response.body.as_ref().unwrap().as_ref()).unwrap();

        let messages = drain(&f.sqs, &f.queue_url).await;
        assert_eq!(messages.len(), 1, "{file}: {messages:?}");
        let envelope = Envelope::from_json(&messages[0].body).unwrap();
        assert_eq!(answered["event_id"], envelope.event_id.as_str(), "{file}");
        assert_eq!(&envelope.source, source, "{file}");
        assert!(envelope.event_id.starts_with(&format!("{source}:")), "{file}");
        let attributes = &messages[0].attributes;
        assert_eq!(attributes[attribute::SOURCE], envelope.source, "{file}");
        assert_eq!(attributes[attribute::EVENT_ID], envelope.event_id, "{file}");
        assert_eq!(attributes[attribute::SCHEME], envelope.scheme, "{file}");
    }
}

#[tokio::test]
async fn the_body_survives_sqs_byte_for_byte() {
    let f = fixture(Duration::from_secs(60)).await;
    let payload = std::fs::read(repo_root().join("events/ingest/payloads/stripe-charge-succeeded.json")).unwrap();
    assert_eq!(invoke(&f.service, "stripe-valid-base64.json").await.status_code, 202);
    let messages = drain(&f.sqs, &f.queue_url).await;
    assert_eq!(Envelope::from_json(&messages[0].body).unwrap().body, payload);
}

/// A Stripe event of 4 KiB, signed now for the local `stripe` source, as the runtime API would
/// hand it over: its body and the invocation's bytes.
fn signed_event(now_unix: i64) -> (Vec<u8>, Vec<u8>) {
    use hookline_cli::apigw_event::{HttpRequest, http_api_event};
    use hookline_cli::signer::{SignRequest, sign_request};
    let body = format!(r#"{{"id":"evt_large","type":"invoice.paid","pad":"{}"}}"#, "x".repeat(4096)).into_bytes();
    let config = hookline_domain::SourcesConfig::from_json(local_sources().as_bytes()).unwrap();
    let request = SignRequest {
        source: "stripe",
        body: &body,
        content_type: "application/json",
        now_unix,
        key_index: 0,
        event_id: "evt_large",
    };
    let signed = sign_request(&config, &request).unwrap();
    let event = http_api_event(&HttpRequest {
        method: "POST",
        path: "/webhooks/stripe",
        headers: &signed.headers,
        body: &signed.body,
        base64: false,
        query: "",
        time_epoch_millis: now_unix * 1000,
    });
    (body, serde_json::to_vec(&event).unwrap())
}

async fn invoke_bytes(service: &Service, payload: &[u8]) -> ApiGatewayV2httpResponse {
    http::handle_invocation(service, http::Invocation::from_slice(payload)).await.unwrap()
}

/// Over the inline threshold (lowered to 1 KiB here), the body goes to S3 first and the
/// message carries its reference; the object is the body.
#[tokio::test]
async fn a_body_over_the_inline_threshold_lands_in_s3_and_the_message_carries_its_reference() {
    let f = fixture(Duration::from_secs(60)).await;
    let (payload, event) = signed_event(manifest()["signed_at"].as_i64().unwrap());
    let service = f.service(f.s3.clone(), 1024);
    assert_eq!(invoke_bytes(&service, &event).await.status_code, 202);
    let messages = drain(&f.sqs, &f.queue_url).await;
    assert_eq!(messages.len(), 1);
    let envelope = Envelope::from_json(&messages[0].body).unwrap();
    let reference = envelope.stored_body.expect("travels by reference");
    assert!(envelope.body.is_empty());
    assert_eq!((reference.bucket.as_str(), reference.size), (f.bucket.as_str(), payload.len() as u64));
    assert_eq!(f.objects().await, std::slice::from_ref(&reference.key));
    let object = f.s3.get_object().bucket(&f.bucket).key(&reference.key).send().await.unwrap();
    assert_eq!(object.body.collect().await.unwrap().to_vec(), payload, "stored byte for byte");
    assert!(reference.matches(&payload));
}

/// S3 unreachable: 503, nothing enqueued, nothing stored; the inline path does not need S3.
#[tokio::test]
async fn an_unreachable_body_store_answers_503_and_enqueues_nothing() {
    let f = fixture(Duration::from_secs(60)).await;
    let unreachable = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config().await)
            .endpoint_url("http://127.0.0.1:9")
            .force_path_style(true)
            .build(),
    );
    let (_, event) = signed_event(manifest()["signed_at"].as_i64().unwrap());
    let service = f.service(unreachable.clone(), 1024);
    let response = invoke_bytes(&service, &event).await;
    assert_eq!(response.status_code, 503);
    assert!(response.headers.contains_key("retry-after"));
    assert_eq!(depth(&f.sqs, &f.queue_url).await, 0);
    assert!(f.objects().await.is_empty());
    let inline = f.service(unreachable, 256 * 1024);
    assert_eq!(invoke_bytes(&inline, &event).await.status_code, 202);
    assert_eq!(depth(&f.sqs, &f.queue_url).await, 1);
}

#[tokio::test]
async fn every_rejection_leaves_the_queue_empty() {
    let f = fixture(Duration::from_secs(60)).await;
    let rejected = samples(|status| status != 202);
    assert!(rejected.len() >= 9);
    for (file, _, expect) in &rejected {
        let response = invoke(&f.service, file).await;
        assert_eq!(response.status_code, *expect as i64, "{file}");
        if let Some(body) = expected_body(file) {
            assert_eq!(response.body, Some(lambda_http::Body::Text(body)), "{file}");
        }
    }
    assert_eq!(depth(&f.sqs, &f.queue_url).await, 0);
    assert!(drain(&f.sqs, &f.queue_url).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_queue_answers_503_and_never_2xx() {
    let f = fixture(Duration::from_secs(60)).await;
    // Nothing listens on port 9 (discard) here: every attempt fails to connect.
    let unreachable = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk_config().await).endpoint_url("http://127.0.0.1:9").build(),
    );
    let service = f.service_on(SqsQueue::new(unreachable, &f.queue_url), f.s3.clone(), 256 * 1024);
    for (file, _, _) in samples(|status| status == 202) {
        let response = invoke(&service, &file).await;
        assert_eq!(response.status_code, 503, "{file}");
        assert!(response.headers.contains_key("retry-after"));
    }
    // A queue that does not exist is a failure too, not an acknowledgement.
    let missing =
        f.service_on(SqsQueue::new(f.sqs.clone(), format!("{}-does-not-exist", f.queue_url)), f.s3.clone(), 256 * 1024);
    assert_eq!(invoke(&missing, "stripe-valid.json").await.status_code, 503);
    assert_eq!(depth(&f.sqs, &f.queue_url).await, 0);
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_without_a_redeploy() {
    // TTL zero: every request re-reads the secret, as a TTL expiry would.
    let f = fixture(Duration::ZERO).await;
    assert_eq!(invoke(&f.service, "github-valid.json").await.status_code, 202);

    // Rotate: the previous GitHub secret is revoked; only the current one stays live.
    let mut config: Value = serde_json::from_str(&local_sources()).unwrap();
    config["sources"]["github"]["secrets"] = serde_json::json!(["local-github-current"]);
    f.secrets.put_secret_value().secret_id(&f.secret_arn).secret_string(config.to_string()).send().await.unwrap();

    assert_eq!(invoke(&f.service, "github-valid.json").await.status_code, 202);
    assert_eq!(invoke(&f.service, "github-previous-secret.json").await.status_code, 401);
    assert_eq!(drain(&f.sqs, &f.queue_url).await.len(), 2);

    // A broken document does not take intake down: the last good configuration stays.
    f.secrets.put_secret_value().secret_id(&f.secret_arn).secret_string("{not json").send().await.unwrap();
    assert_eq!(invoke(&f.service, "stripe-valid.json").await.status_code, 202);
}

#[tokio::test]
async fn a_cold_start_with_a_missing_secret_fails() {
    use hookline_ports::SourcesProvider;
    let sdk = sdk_config().await;
    let loader = SecretsManagerSourcesLoader::new(aws_sdk_secretsmanager::Client::new(&sdk), "hookline-no-such-secret");
    let sources = RefreshingSources::new(loader, Duration::from_secs(60), Duration::from_secs(3600));
    assert!(sources.current().await.is_err());
}
