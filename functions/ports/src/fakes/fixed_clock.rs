use crate::clock::Clock;

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix_millis(&self) -> i64 {
        self.0
    }
}
