//! A limit on how often something may start in a minute, for the whole process: the Device
//! Code sign-ins, each of which costs a request to the provider.

use std::sync::Mutex;

/// How many Device Code sign-ins may start in a minute, for the whole application (this
/// process): each start is a request to the provider, and a provider throttles the whole
/// application, not the visitor who caused it.
pub(crate) struct StartLimit {
    per_minute: u32,
    /// The start of the current window (Unix seconds) and the starts in it.
    window: Mutex<(i64, u32)>,
}

impl StartLimit {
    pub(crate) fn new(per_minute: u32) -> Self {
        StartLimit {
            per_minute,
            window: Mutex::new((i64::MIN, 0)),
        }
    }

    /// Takes one start at `now`, if the last minute has one left.
    pub(crate) fn take(&self, now: i64) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if now.saturating_sub(window.0) >= 60 {
            *window = (now, 0);
        }
        if window.1 >= self.per_minute {
            return false;
        }
        window.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_allows_as_many_starts_as_configured_then_the_next_minute_as_many_again() {
        let limit = StartLimit::new(3);
        assert!((0..3).all(|_| limit.take(1000)));
        assert!(!limit.take(1000));
        assert!(!limit.take(1059));
        assert!(limit.take(1060), "a new window");
        let none = StartLimit::new(0);
        assert!(!none.take(0));
    }
}
