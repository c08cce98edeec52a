//! `verify` under the stripe scheme (local source `stripe`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("stripe", data));
