//! When a signed-in session ends (SPEC §8; issue 3: idle 30 minutes, absolute 12 hours).

use chrono::{Duration, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    IdleExpired,
    AbsoluteExpired,
}

impl SessionLimits {
    pub fn state(
        &self,
        created: NaiveDateTime,
        last_seen: NaiveDateTime,
        now: NaiveDateTime,
    ) -> SessionState {
        if now - created >= self.absolute {
            SessionState::AbsoluteExpired
        } else if now - last_seen >= self.idle {
            SessionState::IdleExpired
        } else {
            SessionState::Live
        }
    }
}

/// Lockout after repeated failed sign-ins (configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            lock_for: Duration::minutes(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn sessions_end_after_thirty_idle_minutes_or_twelve_hours() {
        let l = SessionLimits::default();
        assert_eq!(l.state(t(8, 0), t(8, 0), t(8, 29)), SessionState::Live);
        assert_eq!(
            l.state(t(8, 0), t(8, 0), t(8, 30)),
            SessionState::IdleExpired
        );
        assert_eq!(
            l.state(t(8, 0), t(19, 59), t(20, 0)),
            SessionState::AbsoluteExpired
        );
        assert_eq!(l.state(t(8, 0), t(19, 50), t(19, 59)), SessionState::Live);
    }
}
