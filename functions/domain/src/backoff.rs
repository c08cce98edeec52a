//! Retry delays for transient failures: exponential backoff with full jitter, applied by
//! changing the message's visibility timeout, driven by SQS's `ApproximateReceiveCount`.

/// SQS's largest visibility timeout (12 hours).
pub const MAX_VISIBILITY_TIMEOUT_SECONDS: u32 = 43_200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_seconds: u32,
    /// Never above [`MAX_VISIBILITY_TIMEOUT_SECONDS`].
    pub cap_seconds: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_seconds: 2, cap_seconds: 900 }
    }
}

impl Backoff {
    /// A backoff with its cap clamped into SQS's limits.
    pub fn new(base_seconds: u32, cap_seconds: u32) -> Self {
        let cap_seconds = cap_seconds.clamp(1, MAX_VISIBILITY_TIMEOUT_SECONDS);
        Backoff { base_seconds: base_seconds.clamp(1, cap_seconds), cap_seconds }
    }

    /// The ceiling for the `receive_count`-th receive: `min(cap, base * 2^(n-1))`.
    pub fn ceiling(&self, receive_count: u32) -> u32 {
        let exponent = receive_count.saturating_sub(1).min(31);
        self.base_seconds.saturating_mul(1u32 << exponent).min(self.cap_seconds)
    }

    /// Full jitter: a delay drawn uniformly from `0..=ceiling`, `unit` being a uniform
    /// random number in `[0, 1)` supplied by the caller.
    pub fn delay(&self, receive_count: u32, unit: f64) -> u32 {
        let ceiling = self.ceiling(receive_count);
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        ((f64::from(ceiling) + 1.0) * unit).floor().min(f64::from(ceiling)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let backoff = Backoff::new(2, 60);
        let ceilings: Vec<u32> = (1..=7).map(|n| backoff.ceiling(n)).collect();
        assert_eq!(ceilings, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.ceiling(0), 2);
        assert_eq!(backoff.ceiling(u32::MAX), 60);
    }

    #[test]
    fn the_cap_stays_within_sqs_limits() {
        assert_eq!(Backoff::new(5, 1_000_000).cap_seconds, MAX_VISIBILITY_TIMEOUT_SECONDS);
        assert_eq!(Backoff::new(0, 0), Backoff { base_seconds: 1, cap_seconds: 1 });
    }

    proptest! {
        #[test]
        fn delays_stay_within_zero_and_the_ceiling(count in 0u32..100, unit in 0.0f64..1.0) {
            let backoff = Backoff::new(3, 900);
            prop_assert!(backoff.delay(count, unit) <= backoff.ceiling(count));
        }
    }

    #[test]
    fn full_jitter_spans_the_whole_range() {
        let backoff = Backoff::new(2, 900);
        assert_eq!(backoff.delay(5, 0.0), 0);
        assert_eq!(backoff.delay(5, 0.999_999), 32);
        assert_eq!(backoff.delay(5, f64::NAN), 0);
    }
}
