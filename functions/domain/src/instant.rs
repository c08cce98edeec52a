//! Instants as Hookline writes them: RFC 3339, UTC, millisecond precision.

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for `unix_millis` (the Unix epoch when `time` cannot represent it).
pub fn rfc3339_millis(unix_millis: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    utc_instant(unix_millis).format(FORMAT).expect("every instant `time` represents has these components")
}

/// The Unix milliseconds of an RFC 3339 instant (`None` when `text` is not one).
pub fn parse_rfc3339_millis(text: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn utc_instant(unix_millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each field of the instant, zero-padded, with the milliseconds.
    #[test]
    fn rfc3339_with_milliseconds() {
        let reference = |unix_millis: i64| {
            let at = utc_instant(unix_millis);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
                at.millisecond()
            )
        };
        assert_eq!(rfc3339_millis(1_795_867_200_250), "2026-11-28T12:00:00.250Z");
        assert_eq!(rfc3339_millis(i64::MAX), "1970-01-01T00:00:00.000Z");
        let year_10000 = 253_402_300_800_000;
        let mut instants = vec![0, 1, 999, -1, -62_135_596_800_000, year_10000 - 1, year_10000, i64::MIN];
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            instants.push(x.rem_euclid(year_10000));
        }
        for unix_millis in instants {
            let text = rfc3339_millis(unix_millis);
            assert_eq!(text, reference(unix_millis), "{unix_millis}");
            if (0..year_10000).contains(&unix_millis) {
                assert_eq!(parse_rfc3339_millis(&text), Some(unix_millis), "{text}");
            }
        }
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
    }
}
