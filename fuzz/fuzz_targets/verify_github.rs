//! `verify` under the github scheme (local source `github`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("github", data));
