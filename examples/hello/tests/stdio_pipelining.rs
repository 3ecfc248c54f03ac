//! The hello binary on real stdio under pipelining: messages split at any
//! byte, written in bursts and pauses while other requests complete, a
//! client that keeps exactly the in-flight limit outstanding. Every request
//! must be answered exactly once, and nothing else may appear.
//!
//! `STDIO_CHAOS_MESSAGES` sets the messages per chaos run (default 20 000)
//! and `STDIO_CHAOS_SEED` replays a run; the seed is printed on failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The per-session limit the server documents (`MCP_MAX_IN_FLIGHT`).
const IN_FLIGHT_LIMIT: usize = 64;
const STATEFUL: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";

fn spawn() -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hello"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the hello binary starts");
    let stdin = child.stdin.take().unwrap();
    // Room for the largest answer in one buffer.
    let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
    (child, stdin, stdout)
}

/// The next message on stdout, within 30 s; `None` at EOF.
async fn recv(stdout: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stdout.read_until(b'\n', &mut line))
        .await
        .expect("a message within 30 s")
        .unwrap();
    if read == 0 {
        return None;
    }
    Some(serde_json::from_slice(&line).unwrap_or_else(|e| {
        panic!(
            "stdout carried a line that is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&line[..line.len().min(200)])
        )
    }))
}

async fn initialize(stdin: &mut ChildStdin, stdout: &mut BufReader<ChildStdout>) {
    let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": STATEFUL, "capabilities": {},
        "clientInfo": {"name": "pipelining", "version": "1"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let answer = recv(stdout).await.unwrap();
    assert_eq!(answer["result"]["protocolVersion"], STATEFUL, "{answer}");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .unwrap();
}

fn greet(id: u64, name: &str, stateless: bool) -> Value {
    let mut params = json!({"name": "greet", "arguments": {"name": name}});
    if stateless {
        params["_meta"] = stateless_meta();
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn stateless_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "pipelining", "version": "1"}
    })
}

fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a text result: {answer}"))
}

/// One request, written in two parts with another request's answer in
/// between: the first part must not be lost while the server is busy
/// finishing the other one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_split_while_another_completes_is_answered() {
    let (_child, mut stdin, mut stdout) = spawn();
    initialize(&mut stdin, &mut stdout).await;
    for round in 0..20u64 {
        let countdown = json!({"jsonrpc": "2.0", "id": round * 2, "method": "tools/call",
            "params": {"name": "countdown", "arguments": {"steps": 1}}});
        stdin
            .write_all(format!("{countdown}\n").as_bytes())
            .await
            .unwrap();
        let line = format!("{}\n", greet(round * 2 + 1, "Ada", false));
        let (head, tail) = line.split_at(line.len() / 2);
        stdin.write_all(head.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        let first = recv(&mut stdout).await.unwrap();
        assert_eq!(first["id"], round * 2, "{first}");
        assert_eq!(text(&first), "liftoff after 1 steps");
        stdin.write_all(tail.as_bytes()).await.unwrap();
        let second = recv(&mut stdout).await.unwrap();
        assert_eq!(second["id"], round * 2 + 1, "{second}");
        assert_eq!(text(&second), "Hello, Ada!");
    }
}

/// A client that keeps exactly the documented limit of requests
/// outstanding, sending the next as each answer arrives, is never refused:
/// a request stops counting before its answer is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_in_flight_limit_outstanding_is_never_refused() {
    let (_child, mut stdin, mut stdout) = spawn();
    initialize(&mut stdin, &mut stdout).await;
    let mut rng = Rng::new(seed());
    let total = 3_000u64;
    let mut sent = 0u64;
    let mut names = HashMap::new();
    let mut send = async |stdin: &mut ChildStdin, names: &mut HashMap<u64, usize>, id: u64| {
        // Large names make the server spend time on each line, which is
        // when an answered request used to be counted still.
        let len = if rng.below(8) == 0 {
            rng.below(256 * 1024)
        } else {
            rng.below(64)
        };
        names.insert(id, len);
        let line = format!("{}\n", greet(id, &"x".repeat(len), false));
        stdin.write_all(line.as_bytes()).await.unwrap();
    };
    while sent < IN_FLIGHT_LIMIT as u64 {
        send(&mut stdin, &mut names, sent).await;
        sent += 1;
    }
    for _ in 0..total {
        let answer = recv(&mut stdout).await.unwrap();
        let id = answer["id"].as_u64().unwrap_or_else(|| panic!("{answer}"));
        assert!(
            answer.get("error").is_none(),
            "request {id} refused with {IN_FLIGHT_LIMIT} outstanding: {answer}"
        );
        let len = names.remove(&id).expect("answered once");
        assert_eq!(text(&answer).len(), "Hello, !".len() + len);
        if sent < total {
            send(&mut stdin, &mut names, sent).await;
            sent += 1;
        }
    }
    assert!(names.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_chaos_on_a_session_loses_nothing() {
    chaos(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_chaos_on_stateless_requests_loses_nothing() {
    chaos(true).await;
}

/// What the answer to a request must be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `Hello, <name>!`, for a name of this length and hash.
    Greeting {
        len: usize,
        hash: u64,
    },
    Pong,
    Liftoff(u64),
}

#[derive(Debug, Default)]
struct Tally {
    expected: HashMap<u64, Expect>,
    answered: usize,
    garbage_sent: usize,
    garbage_answered: usize,
    progress: usize,
}

/// Writes `STDIO_CHAOS_MESSAGES` random messages (requests of 1 B to 1 MiB
/// of arguments, notifications, blank lines and garbage) as one byte stream
/// cut at random offsets, some with pauses, while reading every answer.
async fn chaos(stateless: bool) {
    let seed = seed();
    let messages: usize = std::env::var("STDIO_CHAOS_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    eprintln!("stdio chaos: {messages} messages, STDIO_CHAOS_SEED={seed}");
    let (mut child, mut stdin, mut stdout) = spawn();
    if !stateless {
        initialize(&mut stdin, &mut stdout).await;
    }
    let tally = Arc::new(Mutex::new(Tally::default()));

    let reader = {
        let tally = Arc::clone(&tally);
        tokio::spawn(async move {
            while let Some(message) = recv(&mut stdout).await {
                check(&tally, &message, seed);
            }
        })
    };

    let mut rng = Rng::new(seed);
    let mut stream: Vec<u8> = Vec::new();
    for id in 0..messages as u64 {
        let (line, expect) = random_message(&mut rng, id, stateless);
        {
            let mut tally = tally.lock().unwrap();
            match expect {
                Some(expect) => {
                    tally.expected.insert(id, expect);
                }
                None if line.starts_with(b"not json") || line == b"{" => tally.garbage_sent += 1,
                None => {}
            }
        }
        stream.extend_from_slice(&line);
        stream.push(b'\n');
        // Cut what is buffered at random offsets, so messages (and UTF-8
        // characters) are split across writes, sometimes with a pause.
        while stream.len() > 64 * 1024 || (id + 1 == messages as u64 && !stream.is_empty()) {
            let cut = 1 + rng.below(stream.len().min(96 * 1024));
            stdin.write_all(&stream[..cut]).await.unwrap();
            stdin.flush().await.unwrap();
            stream.drain(..cut);
            if rng.below(64) == 0 {
                tokio::time::sleep(Duration::from_micros(rng.below(3_000) as u64)).await;
            }
        }
    }

    // Every request answered: closing stdin then ends the server cleanly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if reader.is_finished() {
            // The reader stopped early: show why.
            if let Err(e) = reader.await {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("the server closed stdout early (STDIO_CHAOS_SEED={seed})");
        }
        let (left, garbage_left) = {
            let tally = tally.lock().unwrap();
            (
                tally.expected.len(),
                tally.garbage_sent - tally.garbage_answered,
            )
        };
        if left == 0 && garbage_left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{left} requests and {garbage_left} garbage lines unanswered (STDIO_CHAOS_SEED={seed})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits once stdin closes")
        .unwrap();
    assert!(status.success(), "{status}");
    reader.await.unwrap();
    let tally = tally.lock().unwrap();
    assert!(tally.expected.is_empty());
    assert_eq!(
        tally.garbage_answered, tally.garbage_sent,
        "one parse error per garbage line (STDIO_CHAOS_SEED={seed})"
    );
    eprintln!(
        "stdio chaos: {} requests answered once each, {} garbage lines, {} progress notifications",
        tally.answered, tally.garbage_sent, tally.progress
    );
}

fn check(tally: &Mutex<Tally>, message: &Value, seed: u64) {
    let mut tally = tally.lock().unwrap();
    if message.get("method").and_then(Value::as_str) == Some("notifications/progress") {
        tally.progress += 1;
        return;
    }
    if message["id"].is_null() {
        assert_eq!(
            message["error"]["code"], -32700,
            "only garbage lines get errors without an id: {message} (STDIO_CHAOS_SEED={seed})"
        );
        tally.garbage_answered += 1;
        return;
    }
    let id = message["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("unexpected message {message}"));
    let expect = tally.expected.remove(&id).unwrap_or_else(|| {
        panic!("request {id} answered twice, or never sent (STDIO_CHAOS_SEED={seed})")
    });
    assert!(
        message.get("error").is_none(),
        "request {id} failed: {message} (STDIO_CHAOS_SEED={seed})"
    );
    match expect {
        Expect::Greeting { len, hash } => {
            let greeting = text(message);
            let name = greeting
                .strip_prefix("Hello, ")
                .and_then(|g| g.strip_suffix('!'))
                .unwrap_or_else(|| panic!("request {id}: {greeting:.80}"));
            assert_eq!(
                (name.len(), fnv(name.as_bytes())),
                (len, hash),
                "request {id}"
            );
        }
        Expect::Pong => assert!(message["result"].is_object(), "{message}"),
        Expect::Liftoff(steps) => {
            assert_eq!(text(message), format!("liftoff after {steps} steps"));
        }
    }
    tally.answered += 1;
}

/// A random message and what its answer must be (`None`: no answer, or a
/// parse error for garbage).
fn random_message(rng: &mut Rng, id: u64, stateless: bool) -> (Vec<u8>, Option<Expect>) {
    let meta = |mut params: Value| {
        if stateless {
            params["_meta"] = stateless_meta();
        }
        params
    };
    match rng.below(100) {
        0..=74 => {
            let name = random_name(rng);
            let expect = Expect::Greeting {
                len: name.len(),
                hash: fnv(name.as_bytes()),
            };
            let line = serde_json::to_vec(&greet(id, &name, stateless)).unwrap();
            (line, Some(expect))
        }
        75..=84 => {
            // 2026-07-28 has no `ping`; `server/discover` is as cheap.
            let method = if stateless { "server/discover" } else { "ping" };
            let ping =
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": meta(json!({}))});
            (serde_json::to_vec(&ping).unwrap(), Some(Expect::Pong))
        }
        85..=89 => {
            let steps = 1 + rng.below(2) as u64;
            let mut params = meta(json!({"name": "countdown", "arguments": {"steps": steps}}));
            params["_meta"]["progressToken"] = json!(format!("p{id}"));
            let call =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
            (
                serde_json::to_vec(&call).unwrap(),
                Some(Expect::Liftoff(steps)),
            )
        }
        90..=93 => {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"});
            (serde_json::to_vec(&note).unwrap(), None)
        }
        94..=95 => (b" \t ".to_vec(), None),
        96 => (b"{".to_vec(), None),
        _ => {
            let junk = random_name(rng);
            (
                format!("not json {}", junk.replace('\n', " ")).into_bytes(),
                None,
            )
        }
    }
}

/// A name of 1 B to 1 MiB, mostly short, with multi-byte characters and
/// characters JSON must escape.
fn random_name(rng: &mut Rng) -> String {
    const ALPHABET: [&str; 8] = ["a", "b", "z", "é", "日", "\"", "\\", " "];
    let len = match rng.below(1000) {
        0..=899 => 1 + rng.below(256),
        900..=996 => 256 + rng.below(16 * 1024),
        _ => 64 * 1024 + rng.below(960 * 1024),
    };
    let mut name = String::with_capacity(len + 4);
    while name.len() < len {
        name.push_str(ALPHABET[rng.below(ALPHABET.len())]);
    }
    name
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn seed() -> u64 {
    std::env::var("STDIO_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// xorshift64*: enough randomness to cut a stream, and replayable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
    }
}
