//! The log level this server starts with: `DEBUG=true` asks for `debug`
//! logs, unless `RUST_LOG` or `LOG_LEVEL` names a filter, which wins.

/// `DEBUG` is set to something that is neither true nor false.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DEBUG={0:?} is neither true nor false (true/false, 1/0, yes/no, on/off)")]
pub struct InvalidDebug(pub String);

/// The log filter used when `RUST_LOG` and `LOG_LEVEL` give none, from the
/// value of `DEBUG`: `debug` for `true`, `1`, `yes` or `on`; `info` when it
/// is unset, empty, `false`, `0`, `no` or `off` (any case, spaces ignored).
///
/// ```
/// assert_eq!(customer::logging::default_filter(Some("true")), Ok("debug"));
/// assert_eq!(customer::logging::default_filter(None), Ok("info"));
/// ```
///
/// # Errors
///
/// [`InvalidDebug`] for any other value, so a typo does not silently mean
/// `info`.
pub fn default_filter(debug: Option<&str>) -> Result<&'static str, InvalidDebug> {
    let Some(value) = debug.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok("info");
    };
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok("debug"),
        "false" | "0" | "no" | "off" => Ok("info"),
        _ => Err(InvalidDebug(value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_true_or_1_means_debug() {
        for on in ["true", "1", "TRUE", " True ", "yes", "on"] {
            assert_eq!(default_filter(Some(on)), Ok("debug"), "{on:?}");
        }
    }

    #[test]
    fn unset_empty_or_false_means_info() {
        assert_eq!(default_filter(None), Ok("info"));
        for off in ["", "  ", "false", "0", "False", "no", "off"] {
            assert_eq!(default_filter(Some(off)), Ok("info"), "{off:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["2", "debug", "ture", "-1", "true!"] {
            assert_eq!(
                default_filter(Some(bad)),
                Err(InvalidDebug(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}
