//! Rate limits on tool calls and completion requests, per caller and
//! optionally per tool: the generic cell rate algorithm (GCRA), which
//! allows a burst and then one request per interval, with one timestamp of
//! state per key. The state lives in memory, or in Redis (feature `redis`)
//! so that every replica of a server enforces one limit together.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

mod memory;

use memory::Memory;

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

    /// How far a key's next allowed time may run ahead of now.
    fn tolerance(&self) -> Duration {
        self.interval * (self.burst - 1)
    }
}

/// A quota that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quota `{0}`: expected <count>/<s|min|h>, such as 120/min")]
pub struct QuotaError(pub String);

impl FromStr for Quota {
    type Err = QuotaError;

    /// `<count>/<period>`, where the period is `s`, `min` or `h` (also
    /// `sec`, `second`, `m`, `minute`, `hour`).
    fn from_str(text: &str) -> Result<Self, QuotaError> {
        let error = || QuotaError(text.to_owned());
        let (count, period) = text.trim().split_once('/').ok_or_else(error)?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        if count == 0 {
            return Err(error());
        }
        let period = match period.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(error()),
        };
        Ok(Self::per(count, period))
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
pub struct RateLimit {
    caller: Quota,
    tools: HashMap<String, Quota>,
    store: Store,
    /// This process's own limits: the store, or the fallback while Redis
    /// cannot be reached.
    memory: Memory,
}

enum Store {
    Memory,
    #[cfg(feature = "redis")]
    Redis(Box<redis_store::RedisStore>),
}

/// What the limiter does while its shared store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenUnreachable {
    /// Enforce the limits in this process alone (each replica allows the
    /// quota on its own) until the store answers again. The default.
    #[default]
    LimitLocally,
    /// Refuse every request that needs the limiter, as if over the limit.
    Refuse,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("caller", &self.caller)
            .field("tools", &self.tools)
            .field(
                "store",
                &match self.store {
                    Store::Memory => "memory",
                    #[cfg(feature = "redis")]
                    Store::Redis(_) => "redis",
                },
            )
            .finish()
    }
}

impl RateLimit {
    /// `quota` for each caller, across its tool calls and completions.
    pub fn per_caller(quota: Quota) -> Self {
        Self {
            caller: quota,
            tools: HashMap::new(),
            store: Store::Memory,
            memory: Memory::default(),
        }
    }

    /// Keeps the limits in Redis at `url` (such as `redis://cache:6379`), so
    /// every replica sharing it enforces one limit together. Keys start
    /// with `mcp:rl:`. Time comes from the Redis server, so replicas' clocks
    /// need not agree. While Redis cannot be reached (or does not answer
    /// within a second), each replica enforces the limits on its own, and a
    /// warning is logged once per outage: an outage of the limiter neither
    /// lifts the limits nor becomes an outage of the server. See
    /// [`RateLimit::when_unreachable`] to refuse instead.
    ///
    /// ```
    /// use mcp_server::limit::{Quota, RateLimit};
    ///
    /// let limits = RateLimit::per_caller(Quota::per_minute(120)).redis("redis://127.0.0.1:6379")?;
    /// # Ok::<(), mcp_server::limit::RateLimitError>(())
    /// ```
    ///
    /// # Errors
    /// `url` is not a Redis URL.
    #[cfg(feature = "redis")]
    pub fn redis(self, url: &str) -> Result<Self, RateLimitError> {
        self.redis_with_prefix(url, "mcp:rl")
    }

    /// [`RateLimit::redis`] with another key prefix, for servers that must
    /// not share limits while sharing a Redis.
    ///
    /// # Errors
    /// `url` is not a Redis URL.
    #[cfg(feature = "redis")]
    pub fn redis_with_prefix(mut self, url: &str, prefix: &str) -> Result<Self, RateLimitError> {
        self.store = Store::Redis(Box::new(redis_store::RedisStore::new(url, prefix)?));
        Ok(self)
    }

    /// What to do while the shared store (Redis) cannot be reached:
    /// [`WhenUnreachable::LimitLocally`] by default.
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn when_unreachable(mut self, policy: WhenUnreachable) -> Self {
        if let Store::Redis(store) = &mut self.store {
            store.policy = policy;
        }
        self
    }

    /// Whether the shared store answered the last check; always true for
    /// limits kept in memory.
    pub fn store_reachable(&self) -> bool {
        match &self.store {
            Store::Memory => true,
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.reachable(),
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
    pub(crate) async fn check(&self, caller: &str, tool: Option<&str>) -> Result<(), Duration> {
        let tool_quota = tool.and_then(|t| self.tools.get(t).map(|q| (t, q)));
        match &self.store {
            Store::Memory => self.memory.check(&self.caller, caller, tool_quota),
            #[cfg(feature = "redis")]
            Store::Redis(store) => match store.check(&self.caller, caller, tool_quota).await {
                redis_store::Outcome::Checked(result) => result,
                redis_store::Outcome::Unreachable(WhenUnreachable::LimitLocally) => {
                    self.memory.check(&self.caller, caller, tool_quota)
                }
                redis_store::Outcome::Unreachable(WhenUnreachable::Refuse) => {
                    Err(Duration::from_secs(1))
                }
            },
        }
    }
}

/// A Redis URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Redis URL: {0}")]
pub struct RateLimitError(pub String);

#[cfg(feature = "redis")]
mod redis_store;

#[cfg(test)]
mod tests {
    use super::memory::MAX_KEYS;
    use super::*;

    #[test]
    fn quotas_parse() {
        assert_eq!("120/min".parse(), Ok(Quota::per_minute(120)));
        assert_eq!(" 5 / s ".parse(), Ok(Quota::per_second(5)));
        assert_eq!(
            "1000/h".parse(),
            Ok(Quota::per(1000, Duration::from_secs(3600)))
        );
        for bad in ["", "120", "0/min", "x/min", "5/week", "-1/s"] {
            assert!(bad.parse::<Quota>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn bursts_then_one_per_interval() {
        let limit = RateLimit::per_caller(Quota::per_minute(60).burst(3))
            .tool("expensive", Quota::per_minute(1));
        for _ in 0..3 {
            assert!(limit.check("ada", None).await.is_ok());
        }
        let wait = limit.check("ada", None).await.unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // Callers are independent.
        assert!(limit.check("alan", Some("expensive")).await.is_ok());
        let wait = limit.check("alan", Some("expensive")).await.unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        // A refused tool call did not use up the caller's quota.
        assert!(limit.check("alan", None).await.is_ok());
    }

    #[tokio::test]
    async fn the_memory_table_stays_bounded_without_forgetting_live_callers() {
        let limit = RateLimit::per_caller(Quota::per_minute(1));
        for n in 0..MAX_KEYS + 10 {
            assert!(limit.check(&n.to_string(), None).await.is_ok());
        }
        let kept = limit.memory.state.lock().unwrap().tats.len();
        assert!(kept <= MAX_KEYS, "{kept}");
        // The newest callers are still limited.
        let last = (MAX_KEYS + 9).to_string();
        assert!(limit.check(&last, None).await.is_err());
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn an_unreachable_redis_limits_locally_or_refuses() {
        // Nothing listens on port 1: every connection is refused at once.
        let limit = RateLimit::per_caller(Quota::per_minute(2))
            .redis("redis://127.0.0.1:1")
            .unwrap();
        assert!(limit.check("ada", None).await.is_ok());
        assert!(limit.check("ada", None).await.is_ok());
        assert!(limit.check("ada", None).await.is_err(), "limits still hold");
        assert!(!limit.store_reachable());

        let refusing = RateLimit::per_caller(Quota::per_minute(2))
            .redis("redis://127.0.0.1:1")
            .unwrap()
            .when_unreachable(WhenUnreachable::Refuse);
        assert!(refusing.check("ada", None).await.is_err());
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn a_hung_redis_limits_locally() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let limit = RateLimit::per_caller(Quota::per_minute(1))
            .redis(&url)
            .unwrap();
        let checks = async {
            assert!(limit.check("ada", None).await.is_ok());
            assert!(limit.check("ada", None).await.is_err());
        };
        tokio::time::timeout(Duration::from_secs(30), checks)
            .await
            .expect("each check gives up on Redis within seconds");
        assert!(!limit.store_reachable());
    }
}
