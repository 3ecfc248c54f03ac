//! Rate limits on tool calls and completion requests, per caller and
//! optionally per tool: the generic cell rate algorithm (GCRA), which
//! allows a burst and then one request per interval, with one timestamp of
//! state per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many requests a caller may make: `count` per `period`, with bursts
/// of up to `burst`.
///
/// ```
/// use mcp_server::limit::Quota;
///
/// let quota = Quota::per_minute(60).burst(10);
/// assert_eq!(quota.interval().as_secs(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    interval: Duration,
    burst: u32,
}

impl Quota {
    /// `count` requests per second.
    pub fn per_second(count: u32) -> Self {
        Self::per(count, Duration::from_secs(1))
    }

    /// `count` requests per minute.
    pub fn per_minute(count: u32) -> Self {
        Self::per(count, Duration::from_secs(60))
    }

    /// `count` requests per `period`; a burst of `count` at once.
    pub fn per(count: u32, period: Duration) -> Self {
        let count = count.max(1);
        Self {
            interval: period / count,
            burst: count,
        }
    }

    /// At most `burst` requests back to back.
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The steady-state time between requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// Rate limits for a server: a default per caller (the principal, or the
/// client address when anonymous) and stricter ones per tool.
///
/// ```
/// use mcp_server::limit::{Quota, RateLimit};
///
/// let limits = RateLimit::per_caller(Quota::per_minute(120))
///     .tool("send_email", Quota::per_minute(5));
/// ```
#[derive(Debug)]
pub struct RateLimit {
    caller: Quota,
    tools: HashMap<String, Quota>,
    state: Mutex<HashMap<String, Instant>>,
}

/// The most keys remembered before stale ones are dropped.
const MAX_KEYS: usize = 100_000;

impl RateLimit {
    /// `quota` for each caller, across its tool calls and completions.
    pub fn per_caller(quota: Quota) -> Self {
        Self {
            caller: quota,
            tools: HashMap::new(),
            state: Mutex::default(),
        }
    }

    /// A separate `quota` per caller for one tool, on top of the caller's.
    #[must_use]
    pub fn tool(mut self, name: impl Into<String>, quota: Quota) -> Self {
        self.tools.insert(name.into(), quota);
        self
    }

    /// Takes one request for `caller` (and `tool`, if it has a quota);
    /// `Err` is how long to wait before retrying.
    pub(crate) fn check(&self, caller: &str, tool: Option<&str>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.len() >= MAX_KEYS {
            state.retain(|_, tat| *tat > now);
        }
        let tool_quota = tool.and_then(|t| self.tools.get(t).map(|q| (t, q)));
        // Check both before taking either, so a refusal costs nothing.
        let caller_key = format!("caller\u{0}{caller}");
        let caller_tat = admit(&state, &caller_key, &self.caller, now)?;
        let tool_entry = match tool_quota {
            Some((tool, quota)) => {
                let key = format!("tool\u{0}{tool}\u{0}{caller}");
                let tat = admit(&state, &key, quota, now)?;
                Some((key, tat))
            }
            None => None,
        };
        state.insert(caller_key, caller_tat);
        if let Some((key, tat)) = tool_entry {
            state.insert(key, tat);
        }
        Ok(())
    }
}

/// GCRA: the new theoretical arrival time if the request conforms.
fn admit(
    state: &HashMap<String, Instant>,
    key: &str,
    quota: &Quota,
    now: Instant,
) -> Result<Instant, Duration> {
    let tat = state.get(key).copied().unwrap_or(now).max(now);
    let tolerance = quota.interval * (quota.burst - 1);
    let allowed_at = tat.checked_sub(tolerance).unwrap_or(now);
    if allowed_at > now {
        return Err(allowed_at - now);
    }
    Ok(tat + quota.interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_one_per_interval() {
        let limit = RateLimit::per_caller(Quota::per_minute(60).burst(3))
            .tool("expensive", Quota::per_minute(1));
        for _ in 0..3 {
            assert!(limit.check("ada", None).is_ok());
        }
        let wait = limit.check("ada", None).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // Callers are independent.
        assert!(limit.check("alan", Some("expensive")).is_ok());
        let wait = limit.check("alan", Some("expensive")).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        // A refused tool call did not use up the caller's quota.
        assert!(limit.check("alan", None).is_ok());
    }
}
