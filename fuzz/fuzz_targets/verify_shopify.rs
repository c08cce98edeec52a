//! `verify` under the shopify scheme (local source `shopify`): any headers, any body.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::verify_source("shopify", data));
