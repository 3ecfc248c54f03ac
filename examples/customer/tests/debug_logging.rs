//! `DEBUG` end to end: the binary, on stdio with stdin closed, logs at
//! `debug` under `DEBUG=true` unless `RUST_LOG` or `LOG_LEVEL` says
//! otherwise, and refuses a value that is neither true nor false.
#![allow(clippy::expect_used)]

use std::process::{Command, Stdio};

/// Runs the server with `env` (and no inherited log settings); its exit
/// code and stderr.
fn run(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_customer"));
    command
        .args(["--transport", "stdio"])
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .env_remove("DEBUG")
        .env("DB_PATH", ":memory:")
        .env("NO_COLOR", "1")
        .env("LOG_FORMAT", "compact")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the customer binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn has_debug_lines(stderr: &str) -> bool {
    stderr.lines().any(|line| line.contains(" DEBUG "))
}

#[test]
fn debug_true_or_1_logs_at_debug() {
    for value in ["true", "1"] {
        let (code, stderr) = run(&[("DEBUG", value)]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(has_debug_lines(&stderr), "DEBUG={value}:\n{stderr}");
    }
}

#[test]
fn without_debug_the_level_is_info() {
    for env in [&[][..], &[("DEBUG", "false")][..], &[("DEBUG", "0")][..]] {
        let (code, stderr) = run(env);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(!has_debug_lines(&stderr), "{env:?}:\n{stderr}");
        assert!(stderr.contains(" INFO "), "{env:?}:\n{stderr}");
    }
}

#[test]
fn rust_log_and_log_level_win_over_debug() {
    let (code, stderr) = run(&[("DEBUG", "true"), ("LOG_LEVEL", "info")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!has_debug_lines(&stderr), "LOG_LEVEL=info:\n{stderr}");
    assert!(stderr.contains(" INFO "), "{stderr}");

    let (code, stderr) = run(&[("DEBUG", "1"), ("RUST_LOG", "warn")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !has_debug_lines(&stderr) && !stderr.contains(" INFO "),
        "RUST_LOG=warn:\n{stderr}"
    );
}

#[test]
fn an_unclear_debug_value_stops_the_server() {
    let (code, stderr) = run(&[("DEBUG", "maybe")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("DEBUG=\"maybe\""), "{stderr}");
}
