//! The settings every server takes from its environment, and
//! [`SettingsError`] for a value it cannot use.

use super::builder::ServerBuilder;

/// An environment variable [`ServerBuilder::env_settings`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name} `{value}`: {reason}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// Its value (redacted for secrets).
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// `500ms`, `30s`, `2m`, `1h`, or plain seconds; never zero.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    parse_duration_or_zero(text).filter(|d| !d.is_zero())
}

/// [`parse_duration`], where zero (`0`, `0s`) is allowed.
pub(crate) fn parse_duration_or_zero(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let duration = match unit.trim() {
        "ms" => std::time::Duration::from_millis(number),
        "" | "s" => std::time::Duration::from_secs(number),
        "m" | "min" => std::time::Duration::from_secs(number.checked_mul(60)?),
        "h" => std::time::Duration::from_secs(number.checked_mul(3600)?),
        _ => return None,
    };
    Some(duration)
}

#[cfg(feature = "redis")]
fn redis_limit(
    limit: crate::limit::RateLimit,
    url: &str,
    prefix: &str,
) -> Result<crate::limit::RateLimit, String> {
    limit
        .redis_with_prefix(url, prefix)
        .map_err(|e| e.to_string())
}

/// `local` (the default) or `refuse`: what the limiter does while Redis
/// cannot be reached.
#[cfg(feature = "redis")]
fn when_unreachable(
    limit: crate::limit::RateLimit,
    policy: &str,
) -> Result<crate::limit::RateLimit, String> {
    use crate::limit::WhenUnreachable;
    match policy.trim() {
        "local" => Ok(limit.when_unreachable(WhenUnreachable::LimitLocally)),
        "refuse" => Ok(limit.when_unreachable(WhenUnreachable::Refuse)),
        _ => Err("expected `local` or `refuse`".into()),
    }
}

#[cfg(not(feature = "redis"))]
fn when_unreachable(
    _limit: crate::limit::RateLimit,
    _policy: &str,
) -> Result<crate::limit::RateLimit, String> {
    Err("this server was built without mcp-server's `redis` feature".into())
}

#[cfg(feature = "redis")]
fn redis_stores(url: &str, prefix: &str) -> Result<crate::store::Stores, String> {
    crate::store::Stores::redis(url, prefix).map_err(|e| e.to_string())
}

#[cfg(not(feature = "redis"))]
fn redis_stores(_url: &str, _prefix: &str) -> Result<crate::store::Stores, String> {
    Err("this server was built without mcp-server's `redis` feature".into())
}

#[cfg(not(feature = "redis"))]
fn redis_limit(
    _limit: crate::limit::RateLimit,
    _url: &str,
    _prefix: &str,
) -> Result<crate::limit::RateLimit, String> {
    Err("this server was built without mcp-server's `redis` feature".into())
}

impl ServerBuilder {
    /// Applies the settings every server shares through its environment,
    /// so each deployment is configured the same way:
    ///
    /// - `MCP_RATE_LIMIT`: each caller's quota, such as `120/min`;
    ///   `MCP_RATE_LIMIT_BURST` its burst; `MCP_TOOL_RATE_LIMITS` quotas per
    ///   tool, such as `send_email=5/min,search=60/min`;
    /// - `REDIS_URL`: keep those limits in Redis, shared by every replica
    ///   (feature `redis`), under the key prefix `MCP_RATE_LIMIT_PREFIX`
    ///   (default `mcp:rl:<server name>`); `MCP_RATE_LIMIT_WHEN_UNREACHABLE`:
    ///   `local` (the default: each replica limits on its own while Redis
    ///   is down) or `refuse`;
    /// - `REDIS_URL` also shares sessions, tasks and notifications between
    ///   replicas (see [`crate::store`]), under the key prefix
    ///   `MCP_STATE_PREFIX` (default `mcp:state:<server name>`);
    ///   `MCP_SESSION_TTL`: how long an unused shared session lives
    ///   (default `30m`); `MCP_REPLICA_LEASE`: how long a replica that
    ///   stopped beating counts as alive (default `15s`), after which its
    ///   tasks fail and its streams end with an error;
    /// - `MCP_TOOL_TIMEOUT`: the default time limit of a tool call, such as
    ///   `30s`; `MCP_MAX_IN_FLIGHT`: requests in progress per session;
    ///   `MCP_MAX_MESSAGE_BYTES`: the longest stdio message;
    /// - `MCP_REQUEST_STATE_SECRET`: the secret replicas share to sign
    ///   2026-07-28 request states (at least 32 bytes);
    /// - `MCP_MAX_TASKS`, `MCP_MAX_TASKS_PER_CALLER`: how many 2026-07-28
    ///   tasks are kept in all and per caller; `MCP_TASK_RETENTION`: how
    ///   long a finished one stays readable, such as `1h`;
    /// - `MCP_AUDIT`: `off` turns the audit log off; `MCP_AUDIT_FILE`:
    ///   append it to this file as JSON lines instead of `tracing` events;
    ///   `MCP_AUDIT_QUEUE`: how many records may wait for the sink.
    ///
    /// Unset variables leave the builder as it is.
    ///
    /// # Errors
    /// A variable holds a value that cannot be used.
    pub fn env_settings(self) -> Result<Self, SettingsError> {
        self.settings_from(|name| std::env::var(name).ok())
    }

    /// [`ServerBuilder::env_settings`] from any lookup.
    ///
    /// # Errors
    /// A variable holds a value that cannot be used.
    pub fn settings_from(
        mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let invalid = |name: &'static str, value: String, reason: String| SettingsError {
            name,
            value,
            reason,
        };
        if let Some(quota) = var("MCP_RATE_LIMIT") {
            let mut parsed: crate::limit::Quota =
                quota.parse().map_err(|e: crate::limit::QuotaError| {
                    invalid("MCP_RATE_LIMIT", quota.clone(), e.to_string())
                })?;
            if let Some(burst) = var("MCP_RATE_LIMIT_BURST") {
                let n: u32 = burst.trim().parse().map_err(|_| {
                    invalid(
                        "MCP_RATE_LIMIT_BURST",
                        burst.clone(),
                        "expected a positive number".into(),
                    )
                })?;
                parsed = parsed.burst(n);
            }
            let mut limit = crate::limit::RateLimit::per_caller(parsed);
            if let Some(tools) = var("MCP_TOOL_RATE_LIMITS") {
                for entry in tools.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    let bad =
                        |reason: String| invalid("MCP_TOOL_RATE_LIMITS", tools.clone(), reason);
                    let (tool, quota) = entry
                        .split_once('=')
                        .ok_or_else(|| bad(format!("`{entry}` is not tool=<count>/<period>")))?;
                    let quota = quota
                        .parse()
                        .map_err(|e: crate::limit::QuotaError| bad(e.to_string()))?;
                    limit = limit.tool(tool.trim(), quota);
                }
            }
            if let Some(url) = var("REDIS_URL") {
                // Servers sharing one Redis keep separate limits by default.
                let prefix = var("MCP_RATE_LIMIT_PREFIX")
                    .unwrap_or_else(|| format!("mcp:rl:{}", self.info_mut().implementation.name));
                limit = redis_limit(limit, &url, prefix.trim())
                    .map_err(|reason| invalid("REDIS_URL", "(redacted)".into(), reason))?;
                if let Some(policy) = var("MCP_RATE_LIMIT_WHEN_UNREACHABLE") {
                    limit = when_unreachable(limit, &policy).map_err(|reason| {
                        invalid("MCP_RATE_LIMIT_WHEN_UNREACHABLE", policy.clone(), reason)
                    })?;
                }
            }
            self = self.rate_limit(limit);
        } else if var("MCP_TOOL_RATE_LIMITS").is_some() {
            return Err(invalid(
                "MCP_TOOL_RATE_LIMITS",
                String::new(),
                "per-tool limits need MCP_RATE_LIMIT, the callers' quota".into(),
            ));
        }
        if let Some(timeout) = var("MCP_TOOL_TIMEOUT") {
            let parsed = parse_duration(&timeout).ok_or_else(|| {
                invalid(
                    "MCP_TOOL_TIMEOUT",
                    timeout.clone(),
                    "expected a duration such as 30s, 500ms or 2m".into(),
                )
            })?;
            self = self.tool_timeout(parsed);
        }
        if let Some(limit) = var("MCP_MAX_IN_FLIGHT") {
            let parsed: usize = limit
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid(
                        "MCP_MAX_IN_FLIGHT",
                        limit.clone(),
                        "expected a positive number".into(),
                    )
                })?;
            self = self.max_in_flight_per_session(parsed);
        }
        if let Some(bytes) = var("MCP_MAX_MESSAGE_BYTES") {
            let parsed: usize = bytes
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    invalid(
                        "MCP_MAX_MESSAGE_BYTES",
                        bytes.clone(),
                        "expected a number of bytes, at least 1024".into(),
                    )
                })?;
            self = self.max_message_bytes(parsed);
        }
        if let Some(secret) = var("MCP_REQUEST_STATE_SECRET") {
            if secret.len() < 32 {
                return Err(invalid(
                    "MCP_REQUEST_STATE_SECRET",
                    "(redacted)".into(),
                    "must be at least 32 bytes".into(),
                ));
            }
            self = self.request_state_secret(secret.as_bytes());
        }
        let count = |name: &'static str| -> Result<Option<usize>, SettingsError> {
            let Some(value) = var(name) else {
                return Ok(None);
            };
            match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(invalid(name, value, "expected a positive number".into())),
            }
        };
        if let Some(limit) = count("MCP_MAX_TASKS")? {
            self = self.max_tasks(limit);
        }
        if let Some(limit) = count("MCP_MAX_TASKS_PER_CALLER")? {
            self = self.max_tasks_per_caller(limit);
        }
        if let Some(switch) = var("MCP_AUDIT") {
            match switch.trim() {
                "off" | "false" => self = self.no_audit(),
                "on" | "true" => {}
                _ => return Err(invalid("MCP_AUDIT", switch, "expected on or off".into())),
            }
        }
        if let Some(path) = var("MCP_AUDIT_FILE") {
            let sink = crate::audit::FileAudit::open(path.trim())
                .map_err(|e| invalid("MCP_AUDIT_FILE", path.clone(), e.to_string()))?;
            self = self.audit(sink);
        }
        if let Some(records) = count("MCP_AUDIT_QUEUE")? {
            self = self.audit_queue(records);
        }
        if let Some(retention) = var("MCP_TASK_RETENTION") {
            let parsed = parse_duration(&retention).ok_or_else(|| {
                invalid(
                    "MCP_TASK_RETENTION",
                    retention.clone(),
                    "expected a duration such as 1h, 30m or 90s".into(),
                )
            })?;
            self = self.task_retention(parsed);
        }
        if let Some(url) = var("REDIS_URL") {
            let prefix = var("MCP_STATE_PREFIX")
                .unwrap_or_else(|| format!("mcp:state:{}", self.info_mut().implementation.name));
            let mut stores = redis_stores(&url, prefix.trim())
                .map_err(|reason| invalid("REDIS_URL", "(redacted)".into(), reason))?;
            if let Some(ttl) = var("MCP_SESSION_TTL") {
                let parsed = parse_duration(&ttl)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        invalid(
                            "MCP_SESSION_TTL",
                            ttl.clone(),
                            "expected a duration such as `30m`".into(),
                        )
                    })?;
                stores = stores.session_ttl(parsed);
            }
            if let Some(lease) = var("MCP_REPLICA_LEASE") {
                let parsed = parse_duration(&lease)
                    .filter(|d| *d >= std::time::Duration::from_secs(1))
                    .ok_or_else(|| {
                        invalid(
                            "MCP_REPLICA_LEASE",
                            lease.clone(),
                            "expected a duration of at least 1s, such as `15s`".into(),
                        )
                    })?;
                stores = stores.replica_lease(parsed);
            }
            self = self.stores(stores);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::server::Server;
    use crate::task::TaskLimits;

    fn settings(vars: &[(&str, &str)]) -> Result<ServerBuilder, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Server::builder()
            .settings_from(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn redis_url_shares_state_between_replicas() {
        assert!(settings(&[]).unwrap().options.stores.is_none());
        let shared = settings(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("MCP_SESSION_TTL", "5m"),
            ("MCP_REPLICA_LEASE", "3s"),
        ]);
        let bad_lease = settings(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("MCP_REPLICA_LEASE", "10ms"),
        ]);
        let bad_ttl = settings(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("MCP_SESSION_TTL", "soon"),
        ]);
        if cfg!(feature = "redis") {
            let stores = shared.unwrap().options.stores.unwrap();
            assert_eq!(stores.session_ttl, std::time::Duration::from_secs(300));
            assert_eq!(stores.replica_lease, std::time::Duration::from_secs(3));
            assert_eq!(bad_lease.unwrap_err().name, "MCP_REPLICA_LEASE");
            assert_eq!(bad_ttl.unwrap_err().name, "MCP_SESSION_TTL");
        } else {
            assert_eq!(shared.unwrap_err().name, "REDIS_URL");
        }
        let not_redis = settings(&[("REDIS_URL", "http://example.com")]);
        assert_eq!(not_redis.unwrap_err().name, "REDIS_URL");
    }

    #[test]
    fn environment_settings_are_checked() {
        let builder = settings(&[
            ("MCP_RATE_LIMIT", "120/min"),
            ("MCP_RATE_LIMIT_BURST", "10"),
            ("MCP_TOOL_RATE_LIMITS", "send=5/min, search=1/s"),
        ])
        .unwrap();
        let limit = format!("{:?}", builder.options.rate_limit);
        assert!(
            limit.contains("send") && limit.contains("memory"),
            "{limit}"
        );
        assert!(settings(&[]).unwrap().options.rate_limit.is_none());
        let error = |vars: &[(&str, &str)]| settings(vars).err().map(|e| e.name);
        assert_eq!(error(&[("MCP_RATE_LIMIT", "lots")]), Some("MCP_RATE_LIMIT"));
        assert_eq!(
            error(&[("MCP_RATE_LIMIT", "1/s"), ("MCP_RATE_LIMIT_BURST", "x")]),
            Some("MCP_RATE_LIMIT_BURST")
        );
        assert_eq!(
            error(&[("MCP_TOOL_RATE_LIMITS", "send=5/min")]),
            Some("MCP_TOOL_RATE_LIMITS")
        );
        assert_eq!(
            error(&[("MCP_RATE_LIMIT", "1/s"), ("MCP_TOOL_RATE_LIMITS", "send")]),
            Some("MCP_TOOL_RATE_LIMITS")
        );
        let builder = settings(&[
            ("MCP_TOOL_TIMEOUT", "1500ms"),
            ("MCP_MAX_IN_FLIGHT", "8"),
            ("MCP_MAX_MESSAGE_BYTES", "65536"),
        ])
        .unwrap();
        assert_eq!(
            builder.options.tool_timeout,
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(builder.options.max_in_flight, 8);
        assert_eq!(builder.options.max_message_bytes, 65536);
        assert_eq!(
            parse_duration("2m"),
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(
            parse_duration("45"),
            Some(std::time::Duration::from_secs(45))
        );
        for bad in ["", "0s", "soon", "5 weeks", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(
            error(&[("MCP_TOOL_TIMEOUT", "soon")]),
            Some("MCP_TOOL_TIMEOUT")
        );
        assert_eq!(
            error(&[("MCP_MAX_IN_FLIGHT", "0")]),
            Some("MCP_MAX_IN_FLIGHT")
        );
        assert_eq!(
            error(&[("MCP_MAX_MESSAGE_BYTES", "10")]),
            Some("MCP_MAX_MESSAGE_BYTES")
        );
        let builder = settings(&[
            ("MCP_MAX_TASKS", "500"),
            ("MCP_MAX_TASKS_PER_CALLER", "5"),
            ("MCP_TASK_RETENTION", "10m"),
        ])
        .unwrap();
        assert_eq!(
            builder.options.tasks,
            TaskLimits {
                total: 500,
                per_caller: 5,
                retention: std::time::Duration::from_secs(600),
            }
        );
        assert_eq!(settings(&[]).unwrap().options.tasks, TaskLimits::default());
        for (name, bad) in [
            ("MCP_MAX_TASKS", "0"),
            ("MCP_MAX_TASKS_PER_CALLER", "many"),
            ("MCP_TASK_RETENTION", "forever"),
        ] {
            assert_eq!(error(&[(name, bad)]), Some(name));
        }
        let short = error(&[("MCP_REQUEST_STATE_SECRET", "short")]);
        assert_eq!(short, Some("MCP_REQUEST_STATE_SECRET"));
        let secret = settings(&[("MCP_REQUEST_STATE_SECRET", "x")]).unwrap_err();
        assert!(
            !secret.to_string().contains("`x`"),
            "secrets are not echoed"
        );
    }
}
