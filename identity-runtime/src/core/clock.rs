//! What time it is, asked in one place so tests can move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The clock sign-in, token freshness and session validity read: the wall clock, or a manual
/// one for tests (set it with [`AuthBuilder::clock`](crate::AuthBuilder::clock)).
///
/// ```
/// use std::time::Duration;
/// use axum_identity_runtime::Clock;
///
/// let clock = Clock::manual(1_700_000_000);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), 1_700_000_090);
/// assert!(Clock::system().now() > 1_700_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the wall clock. Shared, so every clone of a manual clock moves together.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The wall clock (the default).
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands at `unix_seconds` until it is moved.
    pub fn manual(unix_seconds: i64) -> Self {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(unix_seconds))),
        }
    }

    /// A manual clock that starts at the wall clock's time.
    pub fn manual_from_now() -> Self {
        Self::manual(Self::system().now())
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::Relaxed),
            None => time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Moves a manual clock forward; the wall clock cannot be moved, so this does nothing there.
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.manual {
            now.fetch_add(by.as_secs() as i64, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            Some(now) => write!(f, "Clock::manual({})", now.load(Ordering::Relaxed)),
            None => f.write_str("Clock::system()"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_of_a_manual_clock_move_together() {
        let clock = Clock::manual(100);
        let other = clock.clone();
        other.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), 105);
    }

    #[test]
    fn the_system_clock_ignores_advance() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() - before < 60);
    }
}
