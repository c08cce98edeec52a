//! Looking at eight bytes at once: the word-at-a-time searches the JSON scans are built on.
//!
//! A webhook body is mostly runs of ordinary bytes (string contents, indentation) between a
//! few bytes that matter. Testing a whole `u64` for "any byte that matters" and jumping to
//! the first one is several times faster than a byte-at-a-time loop, needs no `unsafe` and
//! no CPU-specific code. Words are read little-endian, so the first byte in memory is the
//! lowest byte and `trailing_zeros` finds it.
//!
//! The masks mark a byte by setting its high bit. They are exact for the lowest marked byte
//! only: a subtraction that borrows out of a marked byte can mark bytes above it. Every
//! caller reads the first marked byte and looks at the bytes after it again. (Exact masks
//! for every byte, walked bit by bit, were tried for escaping and were slower: the walk's
//! branches are as unpredictable as the bytes.)

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = ONES << 7;

/// The eight bytes of `bytes` from `at`, or `None` when fewer than eight remain.
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes.get(at..).and_then(<[u8]>::first_chunk::<8>).map(|word| u64::from_le_bytes(*word))
}

/// Offset in its word of the first marked byte of a nonzero `marks`.
#[inline(always)]
pub(crate) fn first_marked(marks: u64) -> usize {
    (marks.trailing_zeros() / 8) as usize
}

/// Marks the bytes of `word` equal to `byte`.
#[inline(always)]
pub(crate) fn equal_to(word: u64, byte: u8) -> u64 {
    let x = word ^ (u64::from(byte) * ONES);
    x.wrapping_sub(ONES) & !x & HIGH_BITS
}

/// Marks the bytes of `word` below `bound`, which must be at most 0x80.
#[inline(always)]
pub(crate) fn less_than(word: u64, bound: u8) -> u64 {
    word.wrapping_sub(u64::from(bound) * ONES) & !word & HIGH_BITS
}

/// Marks the bytes of `word` that are not ASCII.
#[inline(always)]
pub(crate) fn non_ascii(word: u64) -> u64 {
    word & HIGH_BITS
}

/// How many of `bytes` are spaces before the first that is not (16 when all are). Exact.
#[inline(always)]
pub(crate) fn leading_spaces(bytes: &[u8; 16]) -> usize {
    let differing = u128::from_le_bytes(*bytes) ^ u128::from_le_bytes([b' '; 16]);
    (differing.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Bytes where the masks' borrows happen: the targets, their neighbours, the bounds.
    fn tricky_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            any::<u8>(),
            prop::sample::select(vec![
                0, 1, 0x1f, 0x20, 0x21, b'"', b'#', b'/', b'0', b'5', b'9', b':', b'\\', b']', 0x7f, 0x80, 0x81, 0xb0,
                0xb9, 0xff
            ])
        ]
    }

    proptest! {
        #[test]
        fn the_first_marked_byte_is_the_first_matching_byte(
            bytes in prop::array::uniform8(tricky_byte()),
            target in tricky_byte(),
            bound in 0u8..=0x80,
        ) {
            let word = u64::from_le_bytes(bytes);
            let first = |marks: u64| (marks != 0).then(|| first_marked(marks));
            prop_assert_eq!(first(equal_to(word, target)), bytes.iter().position(|&b| b == target));
            prop_assert_eq!(first(less_than(word, bound)), bytes.iter().position(|&b| b < bound));
            prop_assert_eq!(first(non_ascii(word)), bytes.iter().position(|&b| b >= 0x80));
            for offset in [0, 8] {
                let mut sixteen = [b' '; 16];
                sixteen[offset..offset + 8].copy_from_slice(&bytes);
                prop_assert_eq!(leading_spaces(&sixteen), sixteen.iter().take_while(|&&b| b == b' ').count());
            }
        }
    }
}
