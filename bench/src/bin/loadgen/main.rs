//! Load generator for the echo servers.
//!
//! ```text
//! loadgen stdio [--calls N] [--warmup W] [--pipeline K] [--mode seq|pipe|both] -- SERVER ARGS...
//! loadgen http --url URL [--kind session|stateless] [--concurrency C] [--calls N] [--warmup W]
//! loadgen sessions --url URL --count S
//! loadgen streams --url URL --count S
//! ```
//!
//! `stdio` spawns the server (any command line: a prefix such as valgrind
//! works) and drives it over its pipes: `initialize`, then `tools/call`
//! one at a time (`seq`) and with K in flight (`pipe`). `http` opens C
//! connections; each either opens a session (`initialize`, then its calls
//! carry `Mcp-Session-Id`) or sends 2026-07-28 stateless calls. `sessions`
//! opens S sessions and leaves them idle. `streams` opens S sessions on one
//! HTTP/2 connection, prints `mode=streams sessions=S` and waits for a line
//! on stdin, then opens a GET event stream on each, prints
//! `mode=streams streams=S` and waits for another line (so that a script
//! can read the server's memory at each step). `--message-bytes N` makes
//! the echoed message N bytes long (default: a 43-byte sentence). Every
//! answer is checked: its text must be the message sent. One line per
//! measurement on stdout: `mode=… calls=… secs=… rps=… p50_us=… p99_us=…`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: results on stdout, errors on stderr"
)]

mod check;
mod http;
mod stdio;

use std::process::ExitCode;
use std::time::Duration;

/// The message every call echoes, unless `--message-bytes` is given.
const SENTENCE: &str = "The quick brown fox jumps over the lazy dog";

/// The message every call echoes: set once, from the options.
static MESSAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The message every call echoes.
fn message() -> &'static str {
    MESSAGE.get().map_or(SENTENCE, String::as_str)
}

/// `bytes` of text (the sentence repeated), to echo a large message.
fn message_of(bytes: usize) -> String {
    SENTENCE
        .bytes()
        .cycle()
        .take(bytes)
        .map(char::from)
        .collect()
}

/// The protocol revision sessions are opened with.
const SESSION_VERSION: &str = "2025-11-25";

/// An error that ends the run.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options shared by every mode, read from `--flag value` pairs.
#[derive(Debug, Clone)]
struct Options {
    calls: usize,
    warmup: usize,
    pipeline: usize,
    mode: String,
    url: String,
    kind: String,
    concurrency: usize,
    count: usize,
    message_bytes: Option<usize>,
    command: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut options = Options {
        calls: 1000,
        warmup: 200,
        pipeline: 16,
        mode: "both".into(),
        url: "http://127.0.0.1:3001/mcp".into(),
        kind: "session".into(),
        concurrency: 1,
        count: 100,
        message_bytes: None,
        command: Vec::new(),
    };
    while let Some(flag) = args.next() {
        if flag == "--" {
            options.command = args.collect();
            break;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: {value:?}"))
        };
        match flag.as_str() {
            "--calls" => options.calls = number()?,
            "--warmup" => options.warmup = number()?,
            "--pipeline" => options.pipeline = number()?.max(1),
            "--concurrency" => options.concurrency = number()?.max(1),
            "--count" => options.count = number()?,
            "--message-bytes" => options.message_bytes = Some(number()?),
            "--mode" => options.mode = value,
            "--url" => options.url = value,
            "--kind" => options.kind = value,
            other => return Err(format!("unknown flag {other:?}").into()),
        }
    }
    Ok(options)
}

/// Prints one measurement: `calls` answered in `elapsed`, with their
/// latencies.
fn report(mode: &str, elapsed: Duration, latencies: &mut [Duration]) {
    latencies.sort_unstable();
    let calls = latencies.len();
    let at = |percent: usize| {
        latencies
            .get((calls * percent / 100).min(calls.saturating_sub(1)))
            .map_or(0, |d| d.as_micros())
    };
    let secs = elapsed.as_secs_f64();
    let rps = if secs > 0.0 { calls as f64 / secs } else { 0.0 };
    println!(
        "mode={mode} calls={calls} secs={secs:.3} rps={rps:.0} p50_us={} p99_us={}",
        at(50),
        at(99)
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!("usage: loadgen stdio|http|sessions|streams [options]");
        return ExitCode::from(2);
    };
    let result = match parse(args) {
        Ok(options) => match command.as_str() {
            _ if options
                .message_bytes
                .is_some_and(|bytes| MESSAGE.set(message_of(bytes)).is_err()) =>
            {
                Err("the message was already set".into())
            }
            "stdio" => stdio::run(&options).await,
            "http" => http::run(&options).await,
            "sessions" => http::open_sessions(&options).await,
            "streams" => http::open_streams(&options).await,
            other => Err(format!("unknown command {other:?}").into()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
