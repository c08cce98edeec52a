//! `intake::decide` for any method, source, headers and body against the local sources,
//! at the samples' instant: never a panic, and what is enqueued is the body exactly, in a
//! queue message SQS accepts and that reads back as the same envelope.
#![no_main]

mod common;

use hookline_domain::{Decision, Envelope, IntakeRequest, decide};
use http::Method;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (lines, body) = common::split(data);
    let Some((first, rest)) = lines.split_first() else { return };
    let first = String::from_utf8_lossy(first);
    let mut parts = first.splitn(2, ' ');
    let Ok(method) = Method::from_bytes(parts.next().unwrap_or("").as_bytes()) else { return };
    let source = parts.next().unwrap_or("");
    let headers = common::headers(rest.iter().copied());
    let config = common::config();
    let request =
        IntakeRequest { method: &method, source, headers: &headers, body: body.into(), now_unix_millis: common::SAMPLE_NOW_MILLIS };
    if let Ok(Decision::Enqueue { envelope, .. }) = decide(&config, &request) {
        assert_eq!(envelope.body.as_ref(), body);
        assert_eq!(envelope.source, source);
        let message = envelope.to_queue_message();
        assert!(message.body.chars().all(common::sqs_accepts), "{}", message.body);
        assert_eq!(Envelope::from_json(&message.body), Ok(envelope.into_owned()));
    }
});
