//! `verify` under the standard_webhooks scheme (local source `acme`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("acme", data));
