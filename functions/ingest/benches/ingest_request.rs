//! What one webhook costs ingest in-process, from the invocation bytes the Lambda runtime API
//! hands over to the message handed to the queue port, against the one cost it cannot avoid:
//! an HMAC-SHA256 of the body. Run with `cargo bench -p hookline-ingest` (or `make bench`,
//! which prints the ratios against their targets).
//!
//! * `invocation/path/{body}/{size}`, the headline: [`invoke`] on the raw bytes of an API Gateway
//!   HTTP API (payload 2.0) event, which is what the function's `main` does for each
//!   invocation: the runtime's deserialization of the payload, `http::handle_invocation`
//!   through a real `IngestService` over `MemoryQueue`, `StaticSources` and `FixedClock` with
//!   production logging (`init_logging`; stdout goes to /dev/null while the timed loop
//!   runs), and the runtime's serialization of the response. Bodies: a Stripe-like event
//!   pretty-printed (as Stripe sends them) and compact, signed with the Stripe scheme, and one
//!   binary body that API Gateway hands over base64-encoded.
//! * `invocation/hmac/{body}/{size}`: HMAC-SHA256 (hmac + sha2) of the same body bytes.
//! * `invocation/runtime_read/{body}/{size}`: the runtime's deserialization of the payload
//!   alone, a detail row: the share of the path that the one parse into
//!   `ApiGatewayV2httpRequest` costs (unescaping the body's JSON string is most of it).
//! * `sqs_client/{body}/{size}`: what the SQS client then does with the message in-process
//!   (`SqsQueue::send`: serialization, SigV4 signing, parsing the answer) over a connector
//!   that answers at once. Reported, not Hookline's to tune.
//! * `intake_decide/decide/{size}`: `hookline_domain::decide` alone, a detail row.
//!
//! `HOOKLINE_PROFILE=<bytes>:<iterations>` runs only the invocation path on the pretty body,
//! without criterion, for `valgrind --tool=callgrind --toggle-collect='*invoke_one*'`.

use std::future::Future;
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use hookline_aws::SqsQueue;
use hookline_domain::signature::{Scheme, SigningKey, sign};
use hookline_domain::{IntakeRequest, QueueMessage, SourcesConfig, decide};
use hookline_ingest::{IngestService, http};
use hookline_ports::Queue;
use hookline_ports::fakes::{FixedClock, MemoryBodyStore, MemoryQueue, StaticSources};
use serde_json::{Value, json};
use sha2::Sha256;

const NOW_MILLIS: i64 = 1_795_867_200_000;
const SECRET: &str = "whsec_bench_current_secret";
const SIZES: [(usize, &str); 3] = [(1024, "1KiB"), (64 * 1024, "64KiB"), (1024 * 1024, "1MiB")];
/// The binary body's size: one row, through base64.
const BINARY_SIZE: (usize, &str) = (64 * 1024, "64KiB");

/// Two sources, their body limits set to 1 MiB: `stripe`, and `files` (GitHub's scheme) taking
/// binary bodies. A 1 MiB body is over the inline threshold, so its rows include what
/// production does for it before the S3 request: its SHA-256 and the copy handed to the body
/// store (the in-memory one here).
fn sources() -> StaticSources {
    let document = json!({"sources": {
        "stripe": {"scheme": "stripe", "secrets": [SECRET]},
        "files": {"scheme": "github", "secrets": [SECRET], "content_types": ["application/octet-stream"]},
    }});
    let config = SourcesConfig::from_json(document.to_string().as_bytes()).expect("valid sources document");
    let raised = ["stripe", "files"].map(|name| {
        let mut source = config.get(name).expect("configured").clone();
        source.max_body_bytes = 1024 * 1024;
        source
    });
    StaticSources(Arc::new(SourcesConfig::from_sources(raised)))
}

/// The kinds of body measured.
#[derive(Clone, Copy)]
enum Kind {
    Pretty,
    Compact,
    Binary,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Pretty => "json_pretty",
            Kind::Compact => "json_compact",
            Kind::Binary => "binary_base64",
        }
    }
}

/// A Stripe-like event of exactly `size` bytes, pretty-printed or compact.
fn json_body(size: usize, pretty: bool) -> Vec<u8> {
    let line = |i: usize| {
        json!({
            "id": format!("il_1PbenchHookline{i:06}"),
            "object": "line_item",
            "amount": 1000 + i,
            "currency": "eur",
            "description": format!("1 × \"Hookline\" seat (at €10.00 / month), item {i}"),
            "metadata": {"sku": format!("sku-{i}"), "tier": "standard"},
            "period": {"start": 1_795_867_200 + i, "end": 1_798_545_600 + i},
            "proration": false,
            "quantity": 1,
        })
    };
    let document = |lines: usize, padding: usize| {
        json!({
            "id": "evt_1PbenchHookline0001",
            "object": "event",
            "api_version": "2024-06-20",
            "created": 1_795_867_190,
            "type": "invoice.paid",
            "livemode": false,
            "pending_webhooks": 1,
            "data": {"object": {
                "id": "in_1PbenchHookline0001",
                "object": "invoice",
                "lines": {"object": "list", "data": (0..lines).map(line).collect::<Vec<_>>()},
                "padding": "x".repeat(padding),
            }},
        })
    };
    let render = |lines, padding| {
        let mut text = if pretty {
            serde_json::to_vec_pretty(&document(lines, padding)).unwrap()
        } else {
            serde_json::to_vec(&document(lines, padding)).unwrap()
        };
        text.push(b'\n');
        text
    };
    let mut lines = 0;
    while render(lines + 1, 0).len() <= size {
        lines += 1;
    }
    let body = render(lines, size - render(lines, 0).len());
    assert_eq!(body.len(), size);
    body
}

/// Bytes that are not text, reproducibly.
fn binary_body(size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..size).map(|_| rng.u8(..)).collect()
}

fn body(kind: Kind, size: usize) -> Vec<u8> {
    match kind {
        Kind::Pretty => json_body(size, true),
        Kind::Compact => json_body(size, false),
        Kind::Binary => binary_body(size),
    }
}

/// The invocation payload API Gateway (HTTP API, payload 2.0) sends for `body`, signed as the
/// source's sender would, as the bytes the runtime API hands over.
fn event(kind: Kind, body: &[u8]) -> Vec<u8> {
    let (source, scheme, content_type) = match kind {
        Kind::Pretty | Kind::Compact => ("stripe", Scheme::Stripe, "application/json; charset=utf-8"),
        Kind::Binary => ("files", Scheme::GitHub, "application/octet-stream"),
    };
    let key = SigningKey::from_config(&scheme, SECRET).unwrap();
    let mut headers = json!({
        "content-type": content_type,
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "accept": "*/*; q=0.5, application/xml",
        "cache-control": "no-cache",
        "content-length": body.len().to_string(),
        "host": "hookline.execute-api.us-east-1.amazonaws.com",
        "x-amzn-trace-id": "Root=1-6745a0c0-0123456789abcdef01234567",
        "x-forwarded-for": "54.187.174.169",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    for (name, value) in sign(&scheme, &key, body, NOW_MILLIS / 1000, "delivery-1") {
        headers[name.as_str()] = Value::String(value.to_str().unwrap().to_owned());
    }
    if let Kind::Binary = kind {
        headers["x-github-delivery"] = json!("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    }
    let (body, base64) = match kind {
        Kind::Binary => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(body), true)
        }
        _ => (String::from_utf8(body.to_vec()).unwrap(), false),
    };
    let path = format!("/webhooks/{source}");
    serde_json::to_vec(&json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "hookline",
            "domainName": "hookline.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "hookline",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "54.187.174.169", "userAgent": "Stripe/1.0"},
            "requestId": "bench",
            "routeKey": "POST /webhooks/{source}",
            "stage": "$default",
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": NOW_MILLIS,
        },
        "pathParameters": {"source": source},
        "body": body,
        "isBase64Encoded": base64,
    }))
    .unwrap()
}

/// Runs a future that never waits (every port here is in memory) to completion, without an
/// executor: the executor's cost is the same whatever the handler does.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory port waited"),
    }
}

/// Stdout pointed at /dev/null while it lives, so the per-request log and metric lines are
/// formatted and written as in production without flooding the terminal.
struct Quiet(libc::c_int);

impl Quiet {
    fn new() -> Self {
        std::io::stdout().flush().unwrap();
        // SAFETY: plain descriptor calls on descriptors this function opens or owns.
        unsafe {
            let saved = libc::dup(1);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            assert!(saved >= 0 && null >= 0, "cannot redirect stdout");
            libc::dup2(null, 1);
            libc::close(null);
            Quiet(saved)
        }
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        // SAFETY: restores the descriptor saved in `new`.
        unsafe {
            libc::dup2(self.0, 1);
            libc::close(self.0);
        }
    }
}

type Service = IngestService<MemoryQueue, MemoryBodyStore, StaticSources, FixedClock>;

fn service(sources: &StaticSources) -> Service {
    IngestService::new(MemoryQueue::new(), MemoryBodyStore::new(), sources.clone(), FixedClock(NOW_MILLIS), "Hookline")
}

/// One invocation as the function runs it: `lambda_runtime` deserializes the payload from the
/// runtime API's bytes with `serde_path_to_error` over `serde_json::Deserializer::from_slice`
/// (lambda_runtime 1.5, `src/deserializer.rs`), calls the handler `main` registers, and
/// serializes the response it posts back. Returns the response's status.
fn invoke(service: &Service, invocation: &[u8]) -> i64 {
    let payload = runtime_read(invocation);
    let response = ready(http::handle_invocation(service, payload)).unwrap();
    black_box(serde_json::to_vec(&response).unwrap());
    response.status_code
}

/// The payload as `lambda_runtime` deserializes it (see [`invoke`]).
fn runtime_read(invocation: &[u8]) -> http::Invocation {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(invocation))
        .expect("reading an Invocation never fails")
}

/// Time of `iterations` invocations. The queue is replaced (so it never holds more than a few
/// MiB) between timed chunks.
fn time_invocations(sources: &StaticSources, event: &[u8], size: usize, iterations: u64) -> Duration {
    let chunk = (4 * 1024 * 1024 / size).clamp(1, 1024) as u64;
    let _quiet = Quiet::new();
    let mut total = Duration::ZERO;
    let mut left = iterations;
    while left > 0 {
        let n = left.min(chunk);
        let service = service(sources);
        let started = Instant::now();
        for _ in 0..n {
            assert_eq!(invoke_one(&service, event), 202);
        }
        total += started.elapsed();
        left -= n;
    }
    total
}

/// Not inlined, so that callgrind can count it alone (`--toggle-collect=*invoke_one*`).
#[inline(never)]
fn invoke_one(service: &Service, event: &[u8]) -> i64 {
    invoke(service, black_box(event))
}

/// The message the path hands to the queue for `event`.
fn queued_message(sources: &StaticSources, event: &[u8]) -> QueueMessage {
    let queue = MemoryQueue::new();
    let service =
        IngestService::new(queue.clone(), MemoryBodyStore::new(), sources.clone(), FixedClock(NOW_MILLIS), "Hookline");
    let _quiet = Quiet::new();
    assert_eq!(invoke(&service, event), 202);
    queue.messages().pop().expect("one message")
}

fn raw_hmac(body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// An HTTP client that answers every request at once with SQS's answer to `SendMessage`,
/// so that only the SDK's own work is timed.
#[derive(Debug, Clone)]
struct AnswersAtOnce;

const SEND_MESSAGE_ANSWER: &str =
    r#"{"MD5OfMessageBody":"d41d8cd98f00b204e9800998ecf8427e","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#;

impl HttpConnector for AnswersAtOnce {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let mut response = Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(SEND_MESSAGE_ANSWER));
        response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for AnswersAtOnce {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn sqs_queue() -> SqsQueue {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .endpoint_url("https://sqs.us-east-1.amazonaws.com")
        .http_client(AnswersAtOnce)
        .build();
    SqsQueue::new(
        aws_sdk_sqs::Client::from_conf(config),
        "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-main",
    )
}

struct Case {
    kind: Kind,
    size: usize,
    size_label: &'static str,
    body: Vec<u8>,
    event: Vec<u8>,
}

impl Case {
    fn id(&self, function: &str) -> BenchmarkId {
        BenchmarkId::new(format!("{function}/{}", self.kind.label()), self.size_label)
    }
}

fn bench_invocation(c: &mut Criterion, sources: &StaticSources, cases: &[Case]) {
    let mut group = c.benchmark_group("invocation");
    for case in cases {
        group.throughput(Throughput::Bytes(case.size as u64));
        group.bench_function(case.id("path"), |b| {
            b.iter_custom(|iterations| time_invocations(sources, &case.event, case.size, iterations))
        });
        group.bench_function(case.id("hmac"), |b| b.iter(|| raw_hmac(black_box(&case.body))));
        group.bench_function(case.id("runtime_read"), |b| b.iter(|| runtime_read(black_box(&case.event))));
    }
    group.finish();
}

fn bench_sqs_client(c: &mut Criterion, sources: &StaticSources, cases: &[Case]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let queue = sqs_queue();
    let mut group = c.benchmark_group("sqs_client");
    for case in cases {
        let message = queued_message(sources, &case.event);
        assert!(runtime.block_on(queue.send(message.clone())).is_ok());
        group.throughput(Throughput::Bytes(case.size as u64));
        group.bench_function(case.id("send"), |b| {
            b.iter_batched(
                || message.clone(),
                |message| runtime.block_on(queue.send(message)).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// A detail row: the intake decision alone, on the pretty-printed bodies.
fn bench_decide(c: &mut Criterion, sources: &StaticSources, cases: &[Case]) {
    let mut group = c.benchmark_group("intake_decide");
    for case in cases.iter().filter(|case| matches!(case.kind, Kind::Pretty)) {
        let payload: Value = serde_json::from_slice(&case.event).unwrap();
        let headers: ::http::HeaderMap = payload["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), value.as_str().unwrap().parse().unwrap()))
            .collect();
        let method = ::http::Method::POST;
        let intake = IntakeRequest {
            method: &method,
            source: "stripe",
            headers: &headers,
            body: std::str::from_utf8(&case.body).unwrap().into(),
            query: "",
            now_unix_millis: NOW_MILLIS,
        };
        assert!(decide(&sources.0, &intake).is_ok());
        group.throughput(Throughput::Bytes(case.size as u64));
        group.bench_function(BenchmarkId::new("decide", case.size_label), |b| {
            b.iter(|| decide(black_box(&sources.0), black_box(&intake)))
        });
    }
    group.finish();
}

fn profile(spec: &str) {
    let (size, iterations) = spec.split_once(':').expect("HOOKLINE_PROFILE=<bytes>:<iterations>");
    let (size, iterations): (usize, u64) = (size.parse().unwrap(), iterations.parse().unwrap());
    let event = event(Kind::Pretty, &body(Kind::Pretty, size));
    let elapsed = time_invocations(&sources(), &event, size, iterations);
    eprintln!("{iterations} invocations of {size} bytes: {:?} each", elapsed / iterations.max(1) as u32);
}

fn main() {
    hookline_observability::init_logging();
    if let Ok(spec) = std::env::var("HOOKLINE_PROFILE") {
        return profile(&spec);
    }
    let sources = sources();
    let shapes = [Kind::Pretty, Kind::Compact].into_iter().flat_map(|kind| SIZES.map(|size| (kind, size)));
    let cases: Vec<Case> = shapes
        .chain([(Kind::Binary, BINARY_SIZE)])
        .map(|(kind, (size, size_label))| {
            let body = body(kind, size);
            let event = event(kind, &body);
            Case { kind, size, size_label, body, event }
        })
        .collect();
    let mut criterion =
        Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    criterion = criterion.configure_from_args();
    bench_invocation(&mut criterion, &sources, &cases);
    bench_sqs_client(&mut criterion, &sources, &cases);
    bench_decide(&mut criterion, &sources, &cases);
    criterion.final_summary();
}
