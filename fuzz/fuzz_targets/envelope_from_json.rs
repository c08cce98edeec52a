//! `Envelope::from_json` of any text: a typed error, or an envelope that round-trips and
//! whose queue message SQS accepts.
#![no_main]

mod common;

use hookline_domain::Envelope;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(envelope) = Envelope::from_json(text) {
        let message = envelope.to_queue_message();
        assert!(message.body.chars().all(common::sqs_accepts), "{}", message.body);
        assert_eq!(Envelope::from_json(&message.body), Ok(envelope));
    }
});
