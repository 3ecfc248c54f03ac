//! GCRA in one Lua script: both keys are checked before either is
//! taken, atomically, on the Redis server's clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Quota, RateLimitError, WhenUnreachable};

/// What Redis said.
pub(super) enum Outcome {
    Checked(Result<(), Duration>),
    Unreachable(WhenUnreachable),
}

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  if tat - tolerance > now then
return tat - tolerance - now
  end
  next[i] = tat + interval
end
for i, key in ipairs(KEYS) do
  local ttl = math.floor((next[i] - now) / 1000) + 1
  redis.call('SET', key, string.format('%d', next[i]), 'PX', ttl)
end
return 0
";

pub(super) struct RedisStore {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    pub(super) policy: WhenUnreachable,
    /// Whether the last check reached Redis, so an outage is logged
    /// once when it starts and once when it ends.
    reachable: AtomicBool,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RedisStore {
    pub(super) fn new(url: &str, prefix: &str) -> Result<Self, RateLimitError> {
        let client = redis::Client::open(url).map_err(|e| RateLimitError(e.to_string()))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            script: redis::Script::new(SCRIPT),
            connection: tokio::sync::OnceCell::new(),
            policy: WhenUnreachable::default(),
            reachable: AtomicBool::new(true),
        })
    }

    pub(super) fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                // A limiter that waits long for Redis would stall every
                // request; give up quickly and let the request through.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(2);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    pub(super) async fn check(
        &self,
        caller_quota: &Quota,
        caller: &str,
        tool: Option<(&str, &Quota)>,
    ) -> Outcome {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{}:caller:{caller}", self.prefix))
            .arg(micros(caller_quota.interval))
            .arg(micros(caller_quota.tolerance()));
        if let Some((tool, quota)) = tool {
            invocation
                .key(format!("{}:tool:{tool}:{caller}", self.prefix))
                .arg(micros(quota.interval))
                .arg(micros(quota.tolerance()));
        }
        let result = match self.connection().await {
            Ok(mut connection) => invocation.invoke_async::<u64>(&mut connection).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(wait) => {
                if !self.reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!("the Redis rate limiter answers again; limits are shared");
                }
                Outcome::Checked(if wait == 0 {
                    Ok(())
                } else {
                    Err(Duration::from_micros(wait))
                })
            }
            Err(e) => {
                if self.reachable.swap(false, Ordering::Relaxed) {
                    match self.policy {
                        WhenUnreachable::LimitLocally => {
                            tracing::warn!(error = %e, "the Redis rate limiter is unreachable; each replica limits on its own until it answers")
                        }
                        WhenUnreachable::Refuse => {
                            tracing::error!(error = %e, "the Redis rate limiter is unreachable; refusing rate-limited requests until it answers")
                        }
                    }
                }
                Outcome::Unreachable(self.policy)
            }
        }
    }
}
