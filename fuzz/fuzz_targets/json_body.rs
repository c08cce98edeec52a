//! `JsonBody::read` against its oracle, serde_json reading the body as a `Value`: the same
//! answer, the deepest nesting of the text, and no top-level `id` the `Value` does not hold.
//! Any disagreement is a crash.

#![no_main]

use hookline_domain::json_body::JsonBody;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The deepest nesting of the text: brackets and braces open at once outside strings (a
/// backslash escapes the next byte). Exact for valid JSON; counted on the text, not on the
/// `Value`, which keeps only the last of repeated keys.
fn text_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &byte in body {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fuzz_target!(|data: &[u8]| {
    let oracle = serde_json::from_slice::<Value>(data).ok();
    let read = JsonBody::read(data);
    assert_eq!(read.is_some(), oracle.is_some(), "{:?}", String::from_utf8_lossy(data));
    if let (Some(read), Some(value)) = (read, oracle) {
        assert_eq!(read.depth, text_depth(data));
        if let Some(id) = &read.id {
            assert_eq!(value.get("id").and_then(Value::as_str), Some(id.as_str()));
        }
    }
});
