//! `JsonBody::read` against its oracle, serde_json reading the body as a `Value`: the same
//! answer, the same deepest nesting, and the top-level fields the `Value` holds where the
//! body gives each key once. Any disagreement is a crash.

#![no_main]

use hookline_domain::json_body::JsonBody;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let oracle = serde_json::from_slice::<Value>(data).ok();
    let read = JsonBody::read(data);
    assert_eq!(read.is_some(), oracle.is_some(), "{:?}", String::from_utf8_lossy(data));
    if let (Some(read), Some(value)) = (read, oracle) {
        assert_eq!(read.depth, depth(&value));
        if let Some(id) = &read.id {
            assert_eq!(value.get("id").and_then(Value::as_str), Some(id.as_str()));
        }
    }
});
