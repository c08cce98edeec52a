//! A body as the contents of a JSON string in one pass: serde_json's escaping, written
//! straight into the message, giving up when SQS would refuse the text or when it outgrows
//! the base64 it competes with.

use crate::byte_words::{equal_to, first_marked, less_than, word_at};

/// Appends `body` to `out` escaped exactly as serde_json escapes a string's contents (`\"`,
/// `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00xx` for other control characters, every other
/// byte as it is) and returns true; or, when `body` holds U+FFFE or U+FFFF in UTF-8 (which
/// SQS refuses) or its escaped form is longer than `max_len` bytes, leaves `out` as it was
/// and returns false.
///
/// It does not check that `body` is UTF-8: escaping only replaces ASCII with ASCII, so the
/// result is UTF-8 exactly when `body` is, and the caller checks that once, on the result.
///
/// The bytes that need a look (quotes, backslashes, control characters, and `EF`, which
/// starts U+FFFE and U+FFFF but also U+F000 to U+FFFD) are found a word at a time. Each word
/// read is written whole, and the output advances past the part before the first find only,
/// where that find's escape goes: pretty-printed JSON has a quote or a line feed every few
/// bytes, and copying runs of varying length between them cost more than the scan.
pub(super) fn push_escaped(out: &mut Vec<u8>, body: &[u8], max_len: usize) -> bool {
    let start = out.len();
    // Written by index into room made up front, then cut to length: pushing each piece kept
    // the `Vec`'s length in memory and made each push wait on the one before. Between two
    // checks the output grows by at most a word, or a run and an escape.
    let room = max_len.min(body.len().saturating_mul(6)).saturating_add(WORD_GROWTH_MAX);
    out.resize(start + room, 0);
    let buffer = &mut out[start..];
    let mut written = 0;
    let mut at = 0;
    let fits = loop {
        if written > max_len {
            break false;
        }
        let Some(word) = word_at(body, at) else {
            break escape_tail(buffer, &mut written, &body[at..]) && written <= max_len;
        };
        let stops = equal_to(word, b'"') | equal_to(word, b'\\') | less_than(word, 0x20) | equal_to(word, 0xef);
        buffer[written..written + 8].copy_from_slice(&word.to_le_bytes());
        if stops == 0 {
            written += 8;
            at += 8;
        } else {
            let run = first_marked(stops);
            written += run;
            at += run;
            if !escape_byte(buffer, &mut written, body, at) {
                break false;
            }
            at += 1;
        }
    };
    out.truncate(if fits { start + written } else { start });
    fits
}

/// The most bytes written past the length last checked: a word, a run and a `\u00xx`, or
/// the last bytes (under a word) all as `\u00xx`.
const WORD_GROWTH_MAX: usize = 7 * 6;

/// Writes the last bytes, fewer than a word, one at a time.
fn escape_tail(buffer: &mut [u8], written: &mut usize, tail: &[u8]) -> bool {
    (0..tail.len()).all(|at| escape_byte(buffer, written, tail, at))
}

/// Writes `body[at]` as serde_json writes it in a string; false when it starts U+FFFE or
/// U+FFFF.
#[inline(always)]
fn escape_byte(buffer: &mut [u8], written: &mut usize, body: &[u8], at: usize) -> bool {
    // Each arm writes a fixed number of bytes: a copy of varying length is a call to memcpy.
    let byte = body[at];
    match ESCAPES[usize::from(byte)] {
        0 => {
            if byte == 0xef && body.get(at + 1) == Some(&0xbf) && matches!(body.get(at + 2), Some(0xbe | 0xbf)) {
                return false;
            }
            buffer[*written] = byte;
            *written += 1;
        }
        b'u' => {
            buffer[*written..*written + 6].copy_from_slice(&control_escape(byte));
            *written += 6;
        }
        letter => {
            buffer[*written..*written + 2].copy_from_slice(&[b'\\', letter]);
            *written += 2;
        }
    }
    true
}

/// For each byte, the letter of its serde_json escape (`u` for `\u00xx`), or 0 for none.
static ESCAPES: [u8; 256] = {
    let mut escapes = [0; 256];
    let mut byte = 0;
    while byte < 0x20 {
        escapes[byte] = b'u';
        byte += 1;
    }
    escapes[0x08] = b'b';
    escapes[0x09] = b't';
    escapes[0x0a] = b'n';
    escapes[0x0c] = b'f';
    escapes[0x0d] = b'r';
    escapes[b'"' as usize] = b'"';
    escapes[b'\\' as usize] = b'\\';
    escapes
};

/// `\u00xx`, lower-case hex as serde_json writes it.
fn control_escape(byte: u8) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the envelope did before: serde_json's escaping, unless SQS would refuse the text
    /// or it came out longer than `max_len`.
    fn reference(text: &str, max_len: usize) -> Option<String> {
        let quoted = serde_json::to_string(text).unwrap();
        let escaped = &quoted[1..quoted.len() - 1];
        (!text.contains(['\u{FFFE}', '\u{FFFF}']) && escaped.len() <= max_len).then(|| escaped.to_owned())
    }

    fn escaped(text: &str, max_len: usize) -> Option<String> {
        let mut out = b"prefix".to_vec();
        let pushed = push_escaped(&mut out, text.as_bytes(), max_len);
        let rest = String::from_utf8(out).unwrap().strip_prefix("prefix").unwrap().to_owned();
        assert!(pushed || rest.is_empty(), "gave up but left {rest:?}");
        pushed.then_some(rest)
    }

    #[test]
    fn every_ascii_character_is_escaped_as_serde_json_escapes_it() {
        for b in 0u8..0x80 {
            let text = format!("ab{}cdefghijk{}", char::from(b), char::from(b));
            assert_eq!(escaped(&text, usize::MAX), reference(&text, usize::MAX), "byte {b:#04x}");
        }
    }

    #[test]
    fn noncharacters_anywhere_give_up_and_their_neighbours_do_not() {
        for c in ['\u{FFFE}', '\u{FFFF}'] {
            for at in 0..20 {
                let text = format!("{}{c}{}", "a".repeat(at), "b".repeat(20 - at));
                assert_eq!(escaped(&text, usize::MAX), None, "{text:?}");
            }
        }
        let neighbours = "\u{F000}\u{FFFD}\u{FEFF}\u{EFFF}\u{1FFFE}\u{10FFFF}".repeat(3);
        assert_eq!(escaped(&neighbours, usize::MAX).as_deref(), Some(neighbours.as_str()));
    }

    #[test]
    fn the_length_limit_is_inclusive() {
        let text = "a\"b\n".repeat(10);
        let len = reference(&text, usize::MAX).unwrap().len();
        assert_eq!(escaped(&text, len), reference(&text, len));
        assert_eq!(escaped(&text, len - 1), None);
        assert_eq!(escaped("", 0), Some(String::new()));
        // Shrunk by the envelope's round trip: escapes took the output past the limit, and
        // the plain words after them were written without a check until past the buffer.
        let then_plain = format!("{}{}", "\u{1}".repeat(3), "a".repeat(100));
        for max_len in 0..130 {
            assert_eq!(escaped(&then_plain, max_len), reference(&then_plain, max_len), "{max_len}");
        }
        for len in 0..20 {
            let controls = "\u{1}".repeat(len);
            for max_len in [0, 5, 6 * len, usize::MAX] {
                assert_eq!(escaped(&controls, max_len), reference(&controls, max_len), "{len} {max_len}");
            }
        }
    }

    fn any_char() -> impl Strategy<Value = char> {
        prop_oneof![
            any::<char>(),
            prop::char::range('\0', '\u{7f}'),
            prop::sample::select(vec!['"', '\\', '\n', '\u{1f}', '\u{FFFE}', '\u{FFFF}', '\u{FFFD}', '\u{F000}', 'é']),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(
            chars in prop::collection::vec(any_char(), 0..300),
            max_len in prop_oneof![Just(usize::MAX), 0usize..200],
        ) {
            let text: String = chars.into_iter().collect();
            prop_assert_eq!(escaped(&text, max_len), reference(&text, max_len), "{:?}", text);
        }
    }
}
