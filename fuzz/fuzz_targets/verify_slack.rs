//! `verify` under the slack scheme (local source `slack`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("slack", data));
