//! The one-pass JSON check intake uses against what it replaced: the UTF-8 and nesting limits
//! (`json_limits::within_limits`) plus serde_json reading one value with `IgnoredAny`. Any
//! disagreement is a crash.

#![no_main]

use hookline_domain::{json_limits, json_validation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let reference =
        json_limits::within_limits(data) && serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok();
    assert_eq!(json_validation::is_valid(data), reference, "{:?}", String::from_utf8_lossy(data));
});
