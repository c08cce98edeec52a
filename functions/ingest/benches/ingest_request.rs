//! The whole in-process ingest path per request, against the one cost it cannot avoid: an
//! HMAC-SHA256 of the body. Run with `cargo bench -p hookline-ingest` (or `make bench`, which
//! prints the ratios against their targets).
//!
//! * `ingest/handle/{size}`: `http::handle` on an API Gateway v2 request (Stripe scheme, one
//!   live secret, `application/json`, a signed pretty-printed JSON event) through a real
//!   `IngestService` over `MemoryQueue`, `StaticSources` and `FixedClock`, with production
//!   logging (`init_json_logging`) and the EMF metric line written to stdout, which is
//!   redirected to /dev/null while the timed loop runs. The `Request` is deserialized from the
//!   event JSON outside the timed loop (that is `lambda_http`'s work, measured on its own in
//!   `lambda_event/from_str/{size}`); dropping the request and the response is timed.
//! * `ingest/hmac/{size}`: HMAC-SHA256 (hmac + sha2) of the same body bytes.
//! * `intake_decide/decide/{size}`: `hookline_domain::decide` alone on the same request.
//!
//! `HOOKLINE_PROFILE=<bytes>:<iterations>` runs only `handle` that many times, without
//! criterion, for `valgrind --tool=callgrind --toggle-collect='*handle_one*'`.

use std::future::Future;
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use hookline_domain::signature::{Scheme, SigningKey, sign};
use hookline_domain::{IntakeRequest, SourcesConfig, decide};
use hookline_ingest::{IngestService, http};
use hookline_ports::fakes::{FixedClock, MemoryQueue, StaticSources};
use lambda_http::Request;
use serde_json::{Value, json};
use sha2::Sha256;

const NOW_MILLIS: i64 = 1_795_867_200_000;
const SECRET: &str = "whsec_bench_current_secret";
const SIZES: [(usize, &str); 3] = [(1024, "1KiB"), (64 * 1024, "64KiB"), (1024 * 1024, "1MiB")];

/// One Stripe source with one live secret, its body limit raised to 1 MiB. (A configuration
/// document cannot go above `MAX_BODY_BYTES_CEILING`, 720 KiB, the most that fits one SQS
/// message in the worst case; the fake queue has no such limit.)
fn sources() -> StaticSources {
    let document = json!({"sources": {"stripe": {"scheme": "stripe", "secrets": [SECRET]}}});
    let config = SourcesConfig::from_json(document.to_string().as_bytes()).expect("valid sources document");
    let mut stripe = config.get("stripe").expect("stripe source").clone();
    stripe.max_body_bytes = 1024 * 1024;
    StaticSources(Arc::new(SourcesConfig::from_sources([stripe])))
}

/// A pretty-printed Stripe-like event (as Stripe sends them) of exactly `size` bytes.
fn body(size: usize) -> Vec<u8> {
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
        let mut text = serde_json::to_vec_pretty(&document(lines, padding)).unwrap();
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

/// An API Gateway HTTP API (payload 2.0) event carrying `body`, signed as Stripe would.
fn event(body: &[u8]) -> String {
    let key = SigningKey::from_config(&Scheme::Stripe, SECRET).unwrap();
    let mut headers = json!({
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "accept": "*/*; q=0.5, application/xml",
        "cache-control": "no-cache",
        "host": "hookline.execute-api.us-east-1.amazonaws.com",
        "x-amzn-trace-id": "Root=1-6745a0c0-0123456789abcdef01234567",
        "x-forwarded-for": "54.187.174.169",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    for (name, value) in sign(&Scheme::Stripe, &key, body, NOW_MILLIS / 1000, "") {
        headers[name.as_str()] = Value::String(value.to_str().unwrap().to_owned());
    }
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": "/webhooks/stripe",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "hookline",
            "domainName": "hookline.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "hookline",
            "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
                     "sourceIp": "54.187.174.169", "userAgent": "Stripe/1.0"},
            "requestId": "bench",
            "routeKey": "POST /webhooks/{source}",
            "stage": "$default",
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": NOW_MILLIS,
        },
        "pathParameters": {"source": "stripe"},
        "body": std::str::from_utf8(body).unwrap(),
        "isBase64Encoded": false,
    })
    .to_string()
}

fn request(event: &str) -> Request {
    lambda_http::request::from_str(event).expect("a valid API Gateway v2 event")
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

type Service = IngestService<MemoryQueue, StaticSources, FixedClock>;

fn service(sources: &StaticSources) -> Service {
    IngestService::new(MemoryQueue::new(), sources.clone(), FixedClock(NOW_MILLIS), "Hookline")
}

/// Time of `iterations` requests through `http::handle`. Requests are built and the queue
/// replaced (so it never holds more than a few MiB) between timed chunks.
fn time_handle(sources: &StaticSources, event: &str, size: usize, iterations: u64) -> Duration {
    let chunk = (4 * 1024 * 1024 / size).clamp(1, 1024) as u64;
    let _quiet = Quiet::new();
    let mut total = Duration::ZERO;
    let mut left = iterations;
    while left > 0 {
        let n = left.min(chunk);
        let service = service(sources);
        let requests: Vec<Request> = (0..n).map(|_| request(event)).collect();
        let started = Instant::now();
        for request in requests {
            assert_eq!(handle_one(&service, request), 202);
        }
        total += started.elapsed();
        left -= n;
    }
    total
}

/// One request through the handler, response dropped; not inlined, so that callgrind can
/// count it alone (`--toggle-collect=*handle_one*`).
#[inline(never)]
fn handle_one(service: &Service, request: Request) -> u16 {
    ready(http::handle(service, request)).unwrap().status().as_u16()
}

fn raw_hmac(body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn bench_ingest(c: &mut Criterion, sources: &StaticSources, cases: &[(usize, &str, Vec<u8>, String)]) {
    let mut group = c.benchmark_group("ingest");
    for (size, label, body, event) in cases {
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::new("handle", label), |b| {
            b.iter_custom(|iterations| time_handle(sources, event, *size, iterations))
        });
        group.bench_function(BenchmarkId::new("hmac", label), |b| b.iter(|| raw_hmac(black_box(body))));
    }
    group.finish();
}

fn bench_decide(c: &mut Criterion, sources: &StaticSources, cases: &[(usize, &str, Vec<u8>, String)]) {
    let mut group = c.benchmark_group("intake_decide");
    for (size, label, body, event) in cases {
        let headers = request(event).headers().clone();
        let method = lambda_http::http::Method::POST;
        let intake = IntakeRequest {
            method: &method,
            source: "stripe",
            headers: &headers,
            body: std::str::from_utf8(body).unwrap().into(),
            now_unix_millis: NOW_MILLIS,
        };
        assert!(decide(&sources.0, &intake).is_ok());
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::new("decide", label), |b| {
            b.iter(|| decide(black_box(&sources.0), black_box(&intake)))
        });
    }
    group.finish();
}

/// For context: what `lambda_http` spends turning the event into a `Request`, before any
/// Hookline code runs. Not part of the ratios.
fn bench_event(c: &mut Criterion, cases: &[(usize, &str, Vec<u8>, String)]) {
    let mut group = c.benchmark_group("lambda_event");
    for (size, label, _, event) in cases {
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::new("from_str", label), |b| b.iter(|| request(black_box(event))));
    }
    group.finish();
}

fn profile(spec: &str) {
    let (size, iterations) = spec.split_once(':').expect("HOOKLINE_PROFILE=<bytes>:<iterations>");
    let (size, iterations): (usize, u64) = (size.parse().unwrap(), iterations.parse().unwrap());
    let event = event(&body(size));
    let elapsed = time_handle(&sources(), &event, size, iterations);
    eprintln!("{iterations} requests of {size} bytes: {:?} each", elapsed / iterations.max(1) as u32);
}

fn main() {
    hookline_observability::init_json_logging();
    if let Ok(spec) = std::env::var("HOOKLINE_PROFILE") {
        return profile(&spec);
    }
    let sources = sources();
    let cases: Vec<_> = SIZES
        .iter()
        .map(|&(size, label)| {
            let body = body(size);
            let event = event(&body);
            (size, label, body, event)
        })
        .collect();
    let mut criterion =
        Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    criterion = criterion.configure_from_args();
    bench_ingest(&mut criterion, &sources, &cases);
    bench_decide(&mut criterion, &sources, &cases);
    bench_event(&mut criterion, &cases);
    criterion.final_summary();
}
