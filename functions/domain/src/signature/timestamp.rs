//! Signed timestamps: parsing the header value and the replay window.

use super::hmac_sha256::malformed;
use super::{SignatureError, VerifyRequest};

/// Parses a Unix timestamp in seconds written as plain decimal digits.
///
/// The digits are checked first because `str::parse` alone would also take a leading `+`
/// or `-`, which no sender writes in a Unix time.
pub(super) fn parse(value: &str, header: &'static str) -> Result<i64, SignatureError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(header, "timestamp is not decimal digits"));
    }
    value.parse::<i64>().map_err(|_| malformed(header, "timestamp out of range"))
}

/// Accepts `signed_at` when it is at most `tolerance_seconds` away from `now`, in either
/// direction: a timestamp far in the future is as suspicious as a stale one.
pub(super) fn check_tolerance(signed_at: i64, now: i64, tolerance_seconds: u64) -> Result<(), SignatureError> {
    // abs_diff is exact over the whole i64 range, so no input can overflow here.
    if now.abs_diff(signed_at) <= tolerance_seconds {
        Ok(())
    } else {
        Err(SignatureError::TimestampOutsideTolerance { signed_at, now, tolerance_seconds })
    }
}

/// [`parse`] then [`check_tolerance`] against the request's clock and window.
pub(super) fn parse_within_tolerance(
    value: &str,
    header: &'static str,
    request: &VerifyRequest<'_>,
) -> Result<i64, SignatureError> {
    let signed_at = parse(value, header)?;
    check_tolerance(signed_at, request.now_unix, request.tolerance_seconds)?;
    Ok(signed_at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const H: &str = "x-timestamp";

    #[test]
    fn parses_plain_digits() {
        assert_eq!(parse("0", H), Ok(0));
        assert_eq!(parse("1531420618", H), Ok(1_531_420_618));
        assert_eq!(parse("0001531420618", H), Ok(1_531_420_618));
        assert_eq!(parse("9223372036854775807", H), Ok(i64::MAX));
    }

    #[test]
    fn rejects_anything_but_digits() {
        for bad in ["", " ", "-1", "+1", " 1", "1 ", "1.5", "1e9", "0x10", "١٢٣", "12a", "1_000"] {
            assert_eq!(parse(bad, H), Err(malformed(H, "timestamp is not decimal digits")), "{bad:?}");
        }
    }

    #[test]
    fn rejects_overflow() {
        for bad in ["9223372036854775808", "99999999999999999999999999999"] {
            assert_eq!(parse(bad, H), Err(malformed(H, "timestamp out of range")), "{bad:?}");
        }
    }

    #[test]
    fn tolerance_is_inclusive_in_both_directions() {
        let now = 1_700_000_000;
        assert_eq!(check_tolerance(now, now, 0), Ok(()));
        assert_eq!(check_tolerance(now - 300, now, 300), Ok(()));
        assert_eq!(check_tolerance(now + 300, now, 300), Ok(()));
        let outside =
            |signed_at| Err(SignatureError::TimestampOutsideTolerance { signed_at, now, tolerance_seconds: 300 });
        assert_eq!(check_tolerance(now - 301, now, 300), outside(now - 301));
        assert_eq!(check_tolerance(now + 301, now, 300), outside(now + 301));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        assert!(check_tolerance(i64::MAX, i64::MIN, u64::MAX).is_ok());
        assert!(check_tolerance(i64::MIN, i64::MAX, u64::MAX - 1).is_err());
        assert!(check_tolerance(i64::MAX, 0, 0).is_err());
        assert!(check_tolerance(0, i64::MIN, i64::MAX as u64).is_err());
        assert!(check_tolerance(0, i64::MIN, i64::MAX as u64 + 1).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(value in ".*") {
            let _ = parse(&value, H);
        }

        #[test]
        fn parse_round_trips_non_negative_values(ts in 0..=i64::MAX) {
            prop_assert_eq!(parse(&ts.to_string(), H), Ok(ts));
        }

        #[test]
        fn tolerance_matches_exact_arithmetic(signed_at: i64, now: i64, tolerance: u64) {
            let distance = (i128::from(now) - i128::from(signed_at)).unsigned_abs();
            prop_assert_eq!(
                check_tolerance(signed_at, now, tolerance).is_ok(),
                distance <= u128::from(tolerance)
            );
        }
    }
}
