//! `verify` under the hmac_sha256 scheme (local source `partner`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("partner", data));
