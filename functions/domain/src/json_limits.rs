//! Limits a JSON body must meet before intake accepts it, beyond being JSON at all.
//!
//! serde_json's `IgnoredAny` skips values iteratively and without reading string contents,
//! so on its own it accepts bodies that no consumer deserializing with serde_json can read:
//! nesting past serde_json's recursion limit, and bytes that are not UTF-8 inside strings.
//! Intake refuses both. [`json_validation`](crate::json_validation) checks them in its one
//! pass over the body; [`within_limits`] states them on their own, and is what its tests
//! hold it to.

use crate::byte_words::{equal_to, first_marked, word_at};

/// The deepest nesting of arrays and objects intake accepts.
///
/// This is serde_json's default recursion limit, so whatever intake accepts a consumer
/// parsing the body with serde_json (into `Value` or any recursive type) can parse too.
/// serde_json states that limit as 128, but counts it down on every `[` or `{` and fails when
/// it reaches zero: the 128th nested level already fails, and the deepest it parses is 127.
/// `json_limits::tests::the_limit_is_the_deepest_nesting_serde_json_parses` pins this to the
/// serde_json in use.
pub const MAX_JSON_NESTING_DEPTH: usize = 127;

/// Whether `body` is valid UTF-8 (RFC 8259, section 8.1: JSON text is UTF-8) and nests
/// arrays and objects at most [`MAX_JSON_NESTING_DEPTH`] deep. It does not check that the
/// body is JSON; for a body that is not, the answer means nothing.
pub fn within_limits(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok() && !nesting_exceeds(body, MAX_JSON_NESTING_DEPTH)
}

/// Whether more than `max` arrays and objects are open at some point of `body`: one linear
/// scan counting `[` and `{` outside strings, where a backslash escapes the next byte. Exact
/// for valid JSON; for anything else, some answer, never a panic.
fn nesting_exceeds(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        at += 1;
        match byte {
            b'"' => at = string_end(body, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Where the string whose contents start at `at` ends: just past its closing quote, or the
/// body's length if it does not close. String contents are most of a typical body, so they
/// are skipped eight bytes at a time up to the first quote or backslash.
fn string_end(body: &[u8], mut at: usize) -> usize {
    loop {
        while let Some(word) = word_at(body, at) {
            let hits = equal_to(word, b'"') | equal_to(word, b'\\');
            if hits != 0 {
                at += first_marked(hits);
                break;
            }
            at += 8;
        }
        match body.get(at) {
            Some(b'"') => return at + 1,
            Some(b'\\') => at += 2,
            Some(_) => at += 1,
            None => return body.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrays(depth: usize) -> Vec<u8> {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
    }

    fn objects(depth: usize) -> Vec<u8> {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)).into_bytes()
    }

    #[test]
    fn the_limit_is_the_deepest_nesting_serde_json_parses() {
        for body in [arrays(MAX_JSON_NESTING_DEPTH), objects(MAX_JSON_NESTING_DEPTH)] {
            assert!(within_limits(&body));
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
        }
        for body in [arrays(MAX_JSON_NESTING_DEPTH + 1), objects(MAX_JSON_NESTING_DEPTH + 1)] {
            assert!(!within_limits(&body));
            let error = serde_json::from_slice::<serde_json::Value>(&body).unwrap_err();
            assert!(error.to_string().contains("recursion limit exceeded"), "{error}");
        }
    }

    #[test]
    fn depth_is_the_most_open_at_once_not_the_total() {
        let siblings = format!("[{}]", "[[]],".repeat(10_000) + "[]").into_bytes();
        assert!(within_limits(&siblings));
        let mixed = format!("{}{}", r#"{"a":["#.repeat(64), "]}".repeat(64)).into_bytes();
        assert!(!within_limits(&mixed));
    }

    #[test]
    fn brackets_in_strings_and_escapes_are_not_structure() {
        let deep = "[".repeat(1000);
        assert!(within_limits(format!(r#"{{"a":"{deep}"}}"#).as_bytes()));
        // An escaped quote does not end the string; an escaped backslash before a quote does.
        assert!(within_limits(format!(r#"["\"{deep}"]"#).as_bytes()));
        assert!(!within_limits(format!(r#"["\\"{deep}"#).as_bytes()));
        assert!(!within_limits(format!(r#"["\\\"{deep}", {deep}"#).as_bytes()));
    }

    #[test]
    fn invalid_utf8_anywhere_is_refused() {
        assert!(!within_limits(b"{\"name\":\"Jos\xe9\"}"));
        assert!(!within_limits(b"{\"x\":\"\xed\xa0\x80\"}"));
        assert!(!within_limits(b"[\"\xf0\x9f\x98\"]"));
        assert!(within_limits("{\"name\":\"José 😀\"}".as_bytes()));
    }

    /// The scan the word-at-a-time one must agree with: one byte at a time.
    fn reference_depth(body: &[u8]) -> usize {
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

    proptest::proptest! {
        #[test]
        fn agrees_with_a_byte_at_a_time_scan(
            body in proptest::collection::vec(proptest::sample::select(&b"[]{}\"\\ax"[..]), 0..200),
        ) {
            let deepest = reference_depth(&body);
            for max in [0, 1, 2, 3, 5, 8, 13] {
                proptest::prop_assert_eq!(nesting_exceeds(&body, max), deepest > max, "max {}", max);
            }
        }
    }

    #[test]
    fn garbage_gets_an_answer_not_a_panic() {
        for body in [&b"]]]]}}}"[..], b"\"unterminated \\", b"\\\\\\", b""] {
            let _ = within_limits(body);
        }
    }
}
