//! The `agent-mcp` settings, from the environment and the `--workspace` flag.

use std::path::PathBuf;
use std::time::Duration;

use crate::agent::AgentConfig;
use crate::workspace::Limits;

/// A setting that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No workspace directory.
    #[error("no workspace: set AGENT_WORKSPACE or pass --workspace DIR")]
    NoWorkspace,
    /// A value that does not parse.
    #[error("invalid {name} `{value}`: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
}

/// Everything `agent-mcp` is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The workspace directory (`AGENT_WORKSPACE`, `--workspace`).
    pub workspace: PathBuf,
    /// The conversation database (`AGENT_DB`).
    pub database: PathBuf,
    /// Size and count caps of the tools.
    pub limits: Limits,
    /// The loop's limits.
    pub agent: AgentConfig,
    /// Where audit records go besides the log (`AGENT_AUDIT_FILE`).
    pub audit_file: Option<PathBuf>,
}

impl Config {
    /// Reads the settings; `workspace_flag` (from `--workspace`) wins over
    /// `AGENT_WORKSPACE`.
    ///
    /// # Errors
    /// No workspace, or a malformed value.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        workspace_flag: Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let workspace = workspace_flag
            .filter(|w| !w.trim().is_empty())
            .or_else(|| get("AGENT_WORKSPACE"))
            .ok_or(ConfigError::NoWorkspace)?;
        let limits = Limits::default();
        let agent = AgentConfig::default();
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(value) => value.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or(
                    ConfigError::Invalid {
                        name,
                        value,
                        expected: "a whole number above 0",
                    },
                ),
            }
        };
        let limits = Limits {
            max_read_bytes: number("AGENT_MAX_READ_BYTES", limits.max_read_bytes)?,
            max_write_bytes: number("AGENT_MAX_WRITE_BYTES", limits.max_write_bytes)?,
            max_results: to_usize(number("AGENT_MAX_RESULTS", limits.max_results as u64)?),
        };
        let timeout = match get("AGENT_TIMEOUT") {
            None => agent.timeout,
            Some(value) => parse_duration(&value).ok_or(ConfigError::Invalid {
                name: "AGENT_TIMEOUT",
                value,
                expected: "a duration such as `90s` or `5m`",
            })?,
        };
        let agent = AgentConfig {
            max_turns: to_u32(number("AGENT_MAX_TURNS", u64::from(agent.max_turns))?),
            timeout,
            max_tokens: to_u32(number("AGENT_MAX_TOKENS", u64::from(agent.max_tokens))?),
            max_context_bytes: to_usize(number(
                "AGENT_MAX_CONTEXT_BYTES",
                agent.max_context_bytes as u64,
            )?),
        };
        Ok(Self {
            workspace: PathBuf::from(workspace),
            database: PathBuf::from(get("AGENT_DB").unwrap_or_else(|| "data/agent.db".into())),
            limits,
            agent,
            audit_file: get("AGENT_AUDIT_FILE").map(PathBuf::from),
        })
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `500ms`, `30s`, `5m`, `1h`; a bare number is seconds. Zero is refused.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().ok()?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            Config::from_env(env(&[]), None),
            Err(ConfigError::NoWorkspace)
        );
        let config = Config::from_env(
            env(&[
                ("AGENT_WORKSPACE", "/srv/ws"),
                ("AGENT_MAX_TURNS", "3"),
                ("AGENT_TIMEOUT", "2m"),
                ("AGENT_MAX_READ_BYTES", "10"),
            ]),
            Some("/flag".into()),
        );
        let config = config.ok();
        assert_eq!(
            config.as_ref().map(|c| c.workspace.clone()),
            Some("/flag".into())
        );
        assert_eq!(config.as_ref().map(|c| c.agent.max_turns), Some(3));
        assert_eq!(
            config.as_ref().map(|c| c.agent.timeout),
            Some(Duration::from_secs(120))
        );
        assert_eq!(config.as_ref().map(|c| c.limits.max_read_bytes), Some(10));
        let bad = Config::from_env(
            env(&[("AGENT_WORKSPACE", "w"), ("AGENT_MAX_TURNS", "0")]),
            None,
        );
        assert!(matches!(
            bad,
            Err(ConfigError::Invalid {
                name: "AGENT_MAX_TURNS",
                ..
            })
        ));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
    }
}
