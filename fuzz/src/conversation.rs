//! One newline-delimited connection, driven through the public
//! [`Stream`](mcp_server::transport::Stream), and the check that every
//! request got exactly one answer.
//!
//! What the server must answer is worked out from the bytes alone, the way
//! the framing contract states it: a line ends at `\n` (the last one at the
//! end of input); a line longer than the limit, or not UTF-8, or not JSON-RPC
//! gets one error; a request gets one answer; notifications and responses
//! get none; a batch gets one array, or one error when the session takes no
//! batches.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use mcp_server::Server;
use mcp_server::core::jsonrpc::{Incoming, Message, RequestId};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, WriteHalf};
use tokio::sync::mpsc;

/// Longer than anything the fixture does (its slowest tool sleeps five
/// minutes); the runtime's clock is paused, so waiting costs nothing.
const PATIENCE: Duration = Duration::from_secs(3600);

/// Requests that may legitimately stay open until the connection ends.
const LONG_LIVED: &[&str] = &["subscriptions/listen", "tasks/result"];

/// What the server must and may answer to some input.
#[derive(Debug, Default)]
pub struct Expectations {
    /// Ids that must get exactly this many answers.
    must: HashMap<RequestId, usize>,
    /// Ids that get at most this many answers, `must` included.
    at_most: HashMap<RequestId, usize>,
    /// Ids with no exact count: cancelled, in a batch, or long-lived.
    uncertain: HashSet<RequestId>,
    /// Errors without an id, on a line of their own.
    null_errors: (usize, usize),
    /// Lines that hold a batch.
    batches: usize,
}

impl Expectations {
    /// The answers the lines of `input` call for, with lines of at most
    /// `max_line` bytes.
    pub fn of(input: &[u8], max_line: usize) -> Self {
        let mut expect = Self::default();
        let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        // Input ending in `\n` has no last line; otherwise EOF ends it.
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        for line in lines {
            expect.line(line, max_line);
        }
        expect
    }

    fn line(&mut self, line: &[u8], max_line: usize) {
        if line.len() > max_line {
            self.null_error();
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            self.null_error();
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        match Incoming::parse(text) {
            Err(e) => match e.id {
                Some(id) => self.answer(id, true),
                None => self.null_error(),
            },
            Ok(Incoming::Single(message)) => self.message(message, true),
            Ok(Incoming::Batch(items)) => {
                self.batches += 1;
                // Rejected whole when the session takes no batches.
                self.null_errors.1 += 1;
                for item in items {
                    match item {
                        Ok(message) => self.message(message, false),
                        Err(e) => {
                            if let Some(id) = e.id {
                                self.answer(id, false);
                            }
                        }
                    }
                }
            }
        }
    }

    fn message(&mut self, message: Message, single: bool) {
        match message {
            Message::Request(request) => {
                let exact = single && !LONG_LIVED.contains(&request.method.as_str());
                self.answer(request.id, exact);
            }
            Message::Notification(notification) => {
                if notification.method == "notifications/cancelled"
                    && let Some(id) = notification
                        .params
                        .as_deref()
                        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                        .and_then(|params| params.get("requestId").cloned())
                        .and_then(|id| serde_json::from_value::<RequestId>(id).ok())
                {
                    self.uncertain.insert(id);
                }
            }
            Message::Response(_) | Message::Error(_) => {}
        }
    }

    fn answer(&mut self, id: RequestId, exact: bool) {
        *self.at_most.entry(id.clone()).or_default() += 1;
        if exact {
            *self.must.entry(id).or_default() += 1;
        } else {
            self.uncertain.insert(id);
        }
    }

    fn null_error(&mut self) {
        self.null_errors.0 += 1;
        self.null_errors.1 += 1;
    }

    /// Whether every answer that must come has come.
    fn satisfied(&self, seen: &Transcript) -> bool {
        seen.null_errors >= self.null_errors.0
            && self.must.iter().all(|(id, &n)| {
                self.uncertain.contains(id) || seen.answers.get(id).copied().unwrap_or(0) >= n
            })
    }

    fn missing(&self, seen: &Transcript) -> String {
        let mut missing = String::new();
        for (id, &n) in &self.must {
            let got = seen.answers.get(id).copied().unwrap_or(0);
            if !self.uncertain.contains(id) && got < n {
                let _ = write!(missing, " {id} ({got} of {n})");
            }
        }
        if seen.null_errors < self.null_errors.0 {
            let _ = write!(
                missing,
                " errors without an id ({} of {})",
                seen.null_errors, self.null_errors.0
            );
        }
        missing
    }

    /// Panics unless `seen` answered exactly what was asked.
    pub fn check(&self, seen: &Transcript) {
        for (id, &got) in &seen.answers {
            let most = self.at_most.get(id).copied().unwrap_or(0);
            assert!(
                got <= most,
                "request {id} was answered {got} times, expected at most {most}"
            );
            if !self.uncertain.contains(id)
                && let Some(&n) = self.must.get(id)
            {
                assert_eq!(
                    got, n,
                    "request {id} was answered {got} times, expected {n}"
                );
            }
        }
        assert!(
            self.satisfied(seen),
            "answers missing:{}",
            self.missing(seen)
        );
        let (least, most) = self.null_errors;
        assert!(
            (least..=most).contains(&seen.null_errors),
            "{} errors without an id, expected {least} to {most}",
            seen.null_errors
        );
        assert!(
            seen.arrays <= self.batches,
            "{} batch answers to {} batches",
            seen.arrays,
            self.batches
        );
    }
}

/// What the server wrote, counted.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Answers per request id, in arrays or alone.
    pub answers: HashMap<RequestId, usize>,
    /// Errors without an id, alone on their line.
    pub null_errors: usize,
    /// Batch answers.
    pub arrays: usize,
    /// Notifications from the server.
    pub notifications: usize,
}

impl Transcript {
    /// Counts one line the server wrote, and answers the server's own
    /// requests (elicitation, sampling, roots) with an error, as a client
    /// without those capabilities would.
    async fn take<W: tokio::io::AsyncWrite>(&mut self, line: &[u8], writer: &mut WriteHalf<W>) {
        let text = match std::str::from_utf8(line) {
            Ok(text) => text.trim_end_matches('\n'),
            Err(e) => panic!("the server wrote a line that is not UTF-8 ({e}): {line:?}"),
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => panic!("the server wrote a line that is not JSON ({e}): {text}"),
        };
        match value {
            Value::Array(items) => {
                assert!(!items.is_empty(), "the server wrote an empty batch answer");
                self.arrays += 1;
                for item in items {
                    match parse(&item.to_string()) {
                        Message::Response(r) => *self.answers.entry(r.id).or_default() += 1,
                        Message::Error(e) => {
                            if let Some(id) = e.id {
                                *self.answers.entry(id).or_default() += 1;
                            }
                        }
                        other => panic!("a batch answer holds {other:?}"),
                    }
                }
            }
            Value::Object(_) => match parse(text) {
                Message::Response(r) => *self.answers.entry(r.id).or_default() += 1,
                Message::Error(e) => match e.id {
                    Some(id) => *self.answers.entry(id).or_default() += 1,
                    None => self.null_errors += 1,
                },
                Message::Notification(_) => self.notifications += 1,
                Message::Request(request) => {
                    let reply = serde_json::json!({"jsonrpc": "2.0", "id": request.id, "error": {
                        "code": -32601, "message": "this client answers no requests"}});
                    // After the input closed the server no longer reads.
                    let _ = writer.write_all(format!("{reply}\n").as_bytes()).await;
                }
            },
            other => panic!("the server wrote JSON that is no message: {other}"),
        }
    }
}

fn parse(text: &str) -> Message {
    match Message::parse(text) {
        Ok(message) => message,
        Err(e) => panic!("the server wrote an invalid JSON-RPC message ({e:?}): {text}"),
    }
}

/// Sends `chunks` to `server` one write each, answers what the server
/// asks, closes the input once every answer that must come has come, and
/// reads to the end. Panics if an answer is missing or the server does not
/// stop.
pub async fn converse(server: Server, chunks: Vec<&[u8]>, expect: &Expectations) -> Transcript {
    let (client, server_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let serving = tokio::spawn(server.serve(mcp_server::transport::Stream::new(
        server_read,
        server_write,
    )));
    let (client_read, mut writer) = tokio::io::split(client);
    // A reader of its own, so a server with much to say never blocks on a
    // client that is still writing.
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let mut reader = BufReader::new(client_read);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut seen = Transcript::default();
    let mut last = b'\n';
    for chunk in chunks {
        if let Err(e) = writer.write_all(chunk).await {
            panic!("the server stopped reading its input: {e}");
        }
        if let Some(&byte) = chunk.last() {
            last = byte;
        }
        tokio::task::yield_now().await;
    }
    // End the last line, so the answers to the server's requests below
    // start lines of their own; EOF would end it all the same.
    if last != b'\n' {
        let _ = writer.write_all(b"\n").await;
    }
    while !expect.satisfied(&seen) {
        match tokio::time::timeout(PATIENCE, rx.recv()).await {
            Ok(Some(line)) => seen.take(&line, &mut writer).await,
            Ok(None) => break, // checked below
            Err(_) => panic!("answers missing after an hour:{}", expect.missing(&seen)),
        }
    }
    let _ = writer.shutdown().await;
    loop {
        match tokio::time::timeout(PATIENCE, rx.recv()).await {
            Ok(Some(line)) => seen.take(&line, &mut writer).await,
            Ok(None) => break,
            Err(_) => panic!("the server kept its output open an hour after its input ended"),
        }
    }
    match tokio::time::timeout(PATIENCE, serving).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => panic!("the connection ended with an error: {e}"),
        Ok(Err(e)) => panic!("the connection task failed: {e}"),
        Err(_) => panic!("the server did not stop an hour after its input ended"),
    }
    expect.check(&seen);
    seen
}
