//! When to try a failed Stripe call again: capped exponential backoff with jitter, at least
//! [`RetryPolicy::rate_limited_min_delay`] after a 429, at most [`RetryPolicy::max_attempts`].

use std::time::Duration;

use crate::StripeCallError;

/// The outbox worker's retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failed attempt, before jitter (default 500 ms).
    pub base_delay: Duration,
    /// The largest delay (default 60 s).
    pub max_delay: Duration,
    /// The least delay after a 429 (default 2 s).
    pub rate_limited_min_delay: Duration,
    /// Attempts before a retryable error is recorded as a failure (default 12, about 8 minutes
    /// in all: well inside the 24 hours Stripe keeps an idempotency key).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            rate_limited_min_delay: Duration::from_secs(2),
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, after attempt `attempts` (from 1) failed with
    /// `error`: `min(max_delay, base_delay * 2^(attempts - 1))`, of which a random half
    /// (`jitter` in `[0, 1)`) is kept ("equal jitter", so clients that failed together do not
    /// retry together); at least `rate_limited_min_delay` after a 429. Pure.
    pub fn delay_after(&self, attempts: u32, error: &StripeCallError, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let jitter = jitter.clamp(0.0, 1.0);
        let delay = full / 2 + full.mul_f64(jitter / 2.0);
        match error {
            StripeCallError::Status { status: 429, .. } => delay.max(self.rate_limited_min_delay),
            _ => delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> StripeCallError {
        StripeCallError::from_response(status, None, b"{}")
    }

    #[test]
    fn the_delay_doubles_up_to_the_cap_and_jitter_keeps_at_least_half() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = [1, 2, 3, 8, 30]
            .iter()
            .map(|attempts| policy.delay_after(*attempts, &status(500), 0.0))
            .collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 30_000, 30_000].map(Duration::from_millis)
        );
        assert_eq!(
            policy.delay_after(1, &status(500), 0.999_999),
            Duration::from_nanos(499_999_750)
        );
    }

    #[test]
    fn a_rate_limit_waits_at_least_the_rate_limited_minimum() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay_after(1, &status(429), 0.0),
            Duration::from_secs(2)
        );
    }
}
