//! The invocation deadline as the batch flow uses it.

use std::time::Duration;

/// Any real deadline is an absolute time in Unix milliseconds, well after this (2001-09-09).
const EARLIEST_ABSOLUTE_DEADLINE_MILLIS: i64 = 1_000_000_000_000;

/// The deadline in Unix milliseconds. Lambda reports an absolute time; some runtime API
/// emulators (`cargo lambda watch` among them) report the function timeout as a duration
/// instead. A value that cannot be an absolute time is read as that duration from `now`,
/// rather than as a deadline decades in the past that would leave every record unstarted.
///
/// `function_timeout` (the function's configured Timeout, when known) caps the result: a
/// runtime API that reports a longer deadline than the function really has (`cargo lambda
/// watch` reports 600 s whatever the Timeout) would otherwise make the idempotency locks of a
/// killed invocation outlive it by minutes, parking events that should simply be retried.
pub fn effective_deadline(reported_millis: u64, now_millis: i64, function_timeout: Option<Duration>) -> i64 {
    let reported = i64::try_from(reported_millis).unwrap_or(i64::MAX);
    let deadline =
        if reported < EARLIEST_ABSOLUTE_DEADLINE_MILLIS { now_millis.saturating_add(reported) } else { reported };
    match function_timeout {
        Some(timeout) => deadline.min(now_millis.saturating_add(timeout.as_millis() as i64)),
        None => deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_deadlines_are_kept_and_durations_are_anchored_at_now() {
        let now = 1_795_867_200_000;
        assert_eq!(effective_deadline(1_795_867_230_000, now, None), 1_795_867_230_000);
        assert_eq!(effective_deadline(600_000, now, None), now + 600_000);
        assert_eq!(effective_deadline(u64::MAX, now, None), i64::MAX);
    }

    #[test]
    fn the_configured_timeout_caps_a_longer_reported_deadline() {
        let now = 1_795_867_200_000;
        let five = Some(Duration::from_secs(5));
        assert_eq!(effective_deadline(600_000, now, five), now + 5_000);
        assert_eq!(effective_deadline(1_795_867_230_000, now, five), now + 5_000);
        assert_eq!(effective_deadline(1_795_867_203_000, now, five), 1_795_867_203_000, "a shorter one is kept");
    }
}
