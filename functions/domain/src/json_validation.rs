//! One pass over a JSON body deciding whether intake accepts it as JSON, and showing the
//! caller each member of a top-level object on the way.
//!
//! The answer is the one intake has always given: the body is UTF-8, nests at most
//! [`MAX_JSON_NESTING_DEPTH`] deep ([`json_limits`](crate::json_limits)) and serde_json reads
//! it as one value with `IgnoredAny`: RFC 8259's grammar with serde_json's strict numbers, no
//! control characters in strings, only the escapes JSON defines (`\u` with any four hex
//! digits: `IgnoredAny` does not pair surrogates), whitespace only around the value.
//! `tests/properties_json_validation.rs` holds it to exactly that.
//!
//! It replaces three passes (UTF-8, nesting, serde_json) with one that skips string contents
//! eight bytes and indentation sixteen bytes at a time (the crate's `byte_words`), checks
//! UTF-8 only where a string holds a byte that is not ASCII, and allocates nothing: the open
//! arrays and objects are one bit each in a `u128`, which the depth limit keeps from
//! overflowing.

use crate::byte_words::{equal_to, first_marked, leading_spaces, less_than, non_ascii, word_at};
use crate::json_limits::MAX_JSON_NESTING_DEPTH;

const _: () = assert!(MAX_JSON_NESTING_DEPTH < u128::BITS as usize, "one bit per open array or object");

/// One member of a top-level object, as raw JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The key, quotes included, escapes as written.
    pub key: &'a [u8],
    /// The value, exactly as written, without surrounding whitespace.
    pub value: &'a [u8],
}

/// What the pass saw of a body it accepted, for deciding how the body can travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// The deepest nesting of arrays and objects: 0 for a lone scalar.
    pub depth: usize,
    /// Whether a string (key or value) holds U+FFFE or U+FFFF, which SQS refuses in a
    /// message. Only strings can hold characters that are not ASCII.
    pub has_noncharacters: bool,
}

/// Whether intake accepts `body` as JSON (see the module documentation).
pub fn is_valid(body: &[u8]) -> bool {
    validate(body, |_| true).is_some()
}

/// `Some` when intake accepts `body` as JSON, calling `on_member` for each member of a
/// top-level object, in order, once the member's value has been read. A `false` from
/// `on_member` refuses the body; members after a syntax error are never shown.
pub fn validate<'a>(body: &'a [u8], on_member: impl FnMut(Member<'a>) -> bool) -> Option<Shape> {
    scan(body, on_member)
}

/// Where the member of a top-level object being read is: its key and where its value starts.
#[derive(Default)]
struct OpenMember {
    key_start: usize,
    key_end: usize,
    value_start: usize,
}

fn scan<'a>(body: &'a [u8], mut on_member: impl FnMut(Member<'a>) -> bool) -> Option<Shape> {
    // Bit 0 is the innermost open container, set for an object; `depth` of them are open.
    let mut objects: u128 = 0;
    let mut depth = 0usize;
    let mut shape = Shape::default();
    let mut member = OpenMember::default();
    let mut at = skip_whitespace(body, 0);
    'value: loop {
        // A value starts at `at`.
        match *body.get(at)? {
            open @ (b'{' | b'[') => {
                depth += 1;
                if depth > MAX_JSON_NESTING_DEPTH {
                    return None;
                }
                shape.depth = shape.depth.max(depth);
                let is_object = open == b'{';
                objects = objects << 1 | u128::from(is_object);
                at = skip_whitespace(body, at + 1);
                let close = if is_object { b'}' } else { b']' };
                if *body.get(at)? == close {
                    at += 1;
                    depth -= 1;
                    objects >>= 1;
                } else {
                    if is_object {
                        at = member_key(body, at, depth, &mut member, &mut shape)?;
                    }
                    continue 'value;
                }
            }
            b'"' => at = string_end(body, at + 1, &mut shape)?,
            b't' => at = literal_end(body, at, b"true")?,
            b'f' => at = literal_end(body, at, b"false")?,
            b'n' => at = literal_end(body, at, b"null")?,
            b'-' | b'0'..=b'9' => at = number_end(body, at)?,
            _ => return None,
        }
        // A value ended at `at`: close what it completes, up to the next value.
        loop {
            let in_object = objects & 1 == 1;
            if depth == 1 && in_object {
                let key = &body[member.key_start..member.key_end];
                if !on_member(Member { key, value: &body[member.value_start..at] }) {
                    return None;
                }
            }
            at = skip_whitespace(body, at);
            if depth == 0 {
                return (at == body.len()).then_some(shape);
            }
            match *body.get(at)? {
                b',' => {
                    at = skip_whitespace(body, at + 1);
                    if in_object {
                        at = member_key(body, at, depth, &mut member, &mut shape)?;
                    }
                    continue 'value;
                }
                b'}' if in_object => {}
                b']' if !in_object => {}
                _ => return None,
            }
            at += 1;
            depth -= 1;
            objects >>= 1;
        }
    }
}

/// Reads `"key" :` at `at` and returns where the value starts, noting where both are when
/// the object is the top-level one.
#[inline(always)]
fn member_key(body: &[u8], at: usize, depth: usize, member: &mut OpenMember, shape: &mut Shape) -> Option<usize> {
    if *body.get(at)? != b'"' {
        return None;
    }
    let key_end = string_end(body, at + 1, shape)?;
    let colon = skip_whitespace(body, key_end);
    if *body.get(colon)? != b':' {
        return None;
    }
    let value_start = skip_whitespace(body, colon + 1);
    if depth == 1 {
        *member = OpenMember { key_start: at, key_end, value_start };
    }
    Some(value_start)
}

/// Just past the JSON whitespace (space, tab, line feed, carriage return) at `at`.
/// Pretty-printed JSON puts a line feed and a run of spaces between tokens, and the run is
/// measured sixteen bytes at a time; the single space after a colon is not (measuring it
/// cost 13 % of the whole pass over a pretty-printed body).
#[inline(always)]
fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = body.get(at) {
        at += 1;
        if body.get(at) != Some(&b' ') {
            continue;
        }
        while let Some(chunk) = body.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            let spaces = leading_spaces(chunk);
            at += spaces;
            if spaces < chunk.len() {
                break;
            }
        }
    }
    at
}

/// Just past the closing quote of the string whose contents start at `at`, if it is valid:
/// no control characters, valid escapes, UTF-8 (noting U+FFFE and U+FFFF in `shape`).
/// Contents are skipped a word at a time up to the next byte that is not plain printable
/// ASCII.
#[inline(always)]
fn string_end(body: &[u8], mut at: usize, shape: &mut Shape) -> Option<usize> {
    loop {
        while let Some(word) = word_at(body, at) {
            let stops = equal_to(word, b'"') | equal_to(word, b'\\') | less_than(word, 0x20) | non_ascii(word);
            if stops != 0 {
                at += first_marked(stops);
                break;
            }
            at += 8;
        }
        match *body.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at = escape_end(body, at + 1)?,
            0x00..=0x1f => return None,
            0x80.. => {
                let end = utf8_character_end(body, at)?;
                // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
                shape.has_noncharacters |= matches!(body[at..end], [0xef, 0xbf, 0xbe | 0xbf]);
                at = end;
            }
            // Only within the last eight bytes, where there is no word to read.
            _ => at += 1,
        }
    }
}

/// Just past the escape whose letter is at `at` (after the backslash), if it is one JSON has.
#[inline(never)]
fn escape_end(body: &[u8], at: usize) -> Option<usize> {
    match *body.get(at)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 1),
        b'u' => body.get(at + 1..at + 5)?.iter().all(u8::is_ascii_hexdigit).then_some(at + 5),
        _ => None,
    }
}

/// Just past the UTF-8 character whose first byte, not ASCII, is at `at`, if it is well
/// formed (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF).
/// Inlined: text in most languages, and prices in most currencies, put one in many strings
/// (a call for each cost 6 % of the pass over the bench's body, two per line item).
#[inline(always)]
fn utf8_character_end(body: &[u8], at: usize) -> Option<usize> {
    let (len, second) = match *body.get(at)? {
        0xc2..=0xdf => (2, 0x80..=0xbf),
        0xe0 => (3, 0xa0..=0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80..=0xbf),
        0xed => (3, 0x80..=0x9f),
        0xf0 => (4, 0x90..=0xbf),
        0xf1..=0xf3 => (4, 0x80..=0xbf),
        0xf4 => (4, 0x80..=0x8f),
        _ => return None,
    };
    let character = body.get(at..at + len)?;
    let continuation = |b: &u8| b & 0xc0 == 0x80;
    (second.contains(&character[1]) && character[2..].iter().all(continuation)).then_some(at + len)
}

fn literal_end(body: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    (body.get(at..at + literal.len())? == literal).then_some(at + literal.len())
}

/// Just past the number at `at`, read as serde_json reads one: an optional minus, an integer
/// part without leading zeros, then optionally a fraction and an exponent, each with at least
/// one digit. What follows is the caller's to judge (`01` ends after the `0`, and the `1`
/// is then out of place).
#[inline(always)]
fn number_end(body: &[u8], mut at: usize) -> Option<usize> {
    let digits_end = |mut at: usize| {
        while body.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    if body.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match *body.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits_end(at + 1),
        _ => return None,
    };
    if body.get(at) == Some(&b'.') {
        let end = digits_end(at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if let Some(b'e' | b'E') = body.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = body.get(at) {
            at += 1;
        }
        let end = digits_end(at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn serde_accepts(body: &[u8]) -> bool {
        crate::json_limits::within_limits(body) && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    }

    #[test]
    fn accepts_and_refuses_as_serde_json_does() {
        let cases: &[&[u8]] = &[
            b"{}",
            b" [ ] ",
            b"\t\r\n0\n",
            b"-0",
            b"-",
            b"01",
            b"1.",
            b"1.5e",
            b"1e+9",
            b"1E-09",
            b".5",
            b"+1",
            b"1e400",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{1:1}",
            b"[true,false,null]",
            b"tru",
            b"nulll",
            b"\"\\ud800\"",
            b"\"\\u12G4\"",
            b"\"\\x\"",
            b"\"a\x01\"",
            b"\"\x7f\"",
            b"\"\\u00e9\"",
            b"\x0c{}",
            b"{} {}",
            b"",
            b"  ",
            b"\"\xc3\xa9\"",
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xf4\x90\x80\x80\"",
            b"\xef\xbb\xbf{}",
        ];
        for &body in cases {
            assert_eq!(is_valid(body), serde_accepts(body), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn members_of_the_top_level_object_are_shown_in_order_and_nothing_else() {
        let body = br#" { "id" : "evt_1", "data": {"id": 2, "x": [ {"type": 3} ]}, "\u0074ype":[] , "n":-1.5e3 } "#;
        let mut seen = Vec::new();
        assert!(
            validate(body, |m| {
                seen.push((String::from_utf8_lossy(m.key).into_owned(), String::from_utf8_lossy(m.value).into_owned()));
                true
            })
            .is_some()
        );
        let expected = [
            (r#""id""#, r#""evt_1""#),
            (r#""data""#, r#"{"id": 2, "x": [ {"type": 3} ]}"#),
            (r#""\u0074ype""#, "[]"),
            (r#""n""#, "-1.5e3"),
        ];
        assert_eq!(seen, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert!(validate(body, |m| m.key != br#""n""#).is_none());
        let mut calls = 0;
        assert!(
            validate(br#"[{"id":1}]"#, |_| {
                calls += 1;
                true
            })
            .is_some()
        );
        assert_eq!(calls, 0);
    }

    #[test]
    fn utf8_characters_are_checked_as_std_checks_them() {
        for lead in 0x80..=0xffu8 {
            for second in [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0] {
                for rest in [&[][..], &[0x80], &[0x80, 0x80], &[0xbf, 0xbf, 0xbf], &[0x41]] {
                    let text = [&[lead, second][..], rest].concat();
                    let body = [&b"\""[..], &text, b"\""].concat();
                    assert_eq!(is_valid(&body), std::str::from_utf8(&text).is_ok(), "{text:02x?}");
                }
            }
        }
    }

    fn shape(body: &str) -> Option<Shape> {
        validate(body.as_bytes(), |_| true)
    }

    #[test]
    fn the_shape_is_the_deepest_nesting_and_any_noncharacter() {
        let plain = |depth| Some(Shape { depth, has_noncharacters: false });
        assert_eq!(shape("1"), plain(0));
        assert_eq!(shape(r#""\uffff""#), plain(0), "an escape is ASCII, which SQS accepts");
        assert_eq!(shape(r#"[[1],{"a":[[]]},[]]"#), plain(4));
        assert_eq!(shape(r#"{"a":{},"b":[[{}]]}"#), plain(4));
        let deepest = format!("{}{}", "[".repeat(MAX_JSON_NESTING_DEPTH), "]".repeat(MAX_JSON_NESTING_DEPTH));
        assert_eq!(shape(&deepest), plain(MAX_JSON_NESTING_DEPTH));
        for text in ["\"\u{FFFE}\"", "[\"a\u{FFFF}b\"]", "{\"\u{FFFE}\":1}", "{\"a\":{\"\u{FFFF}\":\"\u{FFFD}\"}}"] {
            assert_eq!(shape(text).map(|s| s.has_noncharacters), Some(true), "{text}");
        }
        for neighbour in ["\u{FFFD}", "\u{EFFF}", "\u{F000}", "\u{1FFFE}", "\u{10FFFF}", "\u{FEFF}"] {
            assert_eq!(shape(&format!("[\"{neighbour}\"]")), plain(1), "{neighbour:?}");
        }
    }

    proptest! {
        #[test]
        fn numbers_end_where_serde_json_says(text in "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,2})?[.eE+-]?") {
            prop_assert_eq!(is_valid(text.as_bytes()), serde_accepts(text.as_bytes()), "{}", text);
        }
    }
}
