//! A batch of 10 against one message, with every idempotency-store request taking 5 ms (a
//! DynamoDB round trip): bounded concurrency should make the batch cost about one message,
//! not ten. Run with `cargo bench -p hookline-processor`; the ratio is printed at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hookline_domain::Envelope;
use hookline_domain::InboundRecord;
use hookline_ports::fakes::{FixedClock, MemoryIdempotencyStore, MemoryQueue, MemoryVisibility, ScriptedHandler};
use hookline_processor::{Processor, ProcessorSettings};

const STORE_LATENCY: Duration = Duration::from_millis(5);
const NOW: i64 = 1_795_867_200_000;

fn records(count: usize, next: &AtomicU64) -> Vec<InboundRecord> {
    (0..count)
        .map(|_| {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let body = Envelope {
                source: "stripe".into(),
                event_id: format!("stripe:evt_{n}"),
                scheme: "stripe".into(),
                received_at: "2026-11-28T12:00:00.000Z".into(),
                content_type: Some("application/json".into()),
                headers: BTreeMap::new(),
                signed_headers: BTreeMap::new(),
                event_type: None,
                body: br#"{"id":"evt","type":"charge.succeeded"}"#.to_vec(),
                stored_body: None,
                body_is_json: true,
                destinations: Default::default(),
            }
            .to_json();
            InboundRecord {
                message_id: format!("m{n}"),
                receipt_handle: format!("r{n}"),
                body,
                receive_count: 1,
                attributes: BTreeMap::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let processor = Processor::new(
        MemoryIdempotencyStore::with_latency(STORE_LATENCY),
        ScriptedHandler::new(),
        MemoryVisibility::new(),
        MemoryQueue::new(),
        FixedClock(NOW),
        ProcessorSettings::default(),
    );
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("processor_with_5ms_store");
    group.sample_size(20);
    let mut mean = |name: &str, size: usize| {
        let mut total = Duration::ZERO;
        let mut runs = 0u32;
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    runtime.block_on(processor.process_batch(records(size, &next), NOW + 60_000));
                }
                let elapsed = started.elapsed();
                total += elapsed;
                runs += iterations as u32;
                elapsed
            })
        });
        total / runs.max(1)
    };
    let one = mean("one_message", 1);
    let ten = mean("batch_of_10", 10);
    group.finish();
    println!(
        "\nbatch of 10 / one message = {:.2} ({:.1} ms vs {:.1} ms; target <= 1.5)",
        ten.as_secs_f64() / one.as_secs_f64(),
        ten.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
