//! The invocation deadline as the batch flow uses it.

/// Any real deadline is an absolute time in Unix milliseconds, well after this (2001-09-09).
const EARLIEST_ABSOLUTE_DEADLINE_MILLIS: i64 = 1_000_000_000_000;

/// The deadline in Unix milliseconds. Lambda reports an absolute time; some runtime API
/// emulators (`cargo lambda watch` among them) report the function timeout as a duration
/// instead. A value that cannot be an absolute time is read as that duration from `now`,
/// rather than as a deadline decades in the past that would leave every record unstarted.
pub fn effective_deadline(reported_millis: u64, now_millis: i64) -> i64 {
    let reported = i64::try_from(reported_millis).unwrap_or(i64::MAX);
    if reported < EARLIEST_ABSOLUTE_DEADLINE_MILLIS { now_millis.saturating_add(reported) } else { reported }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_deadlines_are_kept_and_durations_are_anchored_at_now() {
        let now = 1_795_867_200_000;
        assert_eq!(effective_deadline(1_795_867_230_000, now), 1_795_867_230_000);
        assert_eq!(effective_deadline(600_000, now), now + 600_000);
        assert_eq!(effective_deadline(u64::MAX, now), i64::MAX);
    }
}
