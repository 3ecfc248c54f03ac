//! Driving a server over Streamable HTTP, one hyper connection per client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::sync::Barrier;

use crate::{Error, Options, SESSION_VERSION, check, report};

/// How long to wait for the server to accept connections (valgrind is slow
/// to start).
const CONNECT_PATIENCE: Duration = Duration::from_secs(120);

/// One client connection and what its requests carry.
struct Client {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
    path: String,
    session: Option<String>,
    stateless: bool,
}

/// Splits `http://host:port/path`.
fn split_url(url: &str) -> Result<(String, String), Error> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the URL must start with http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    Ok((authority.to_owned(), path.to_owned()))
}

impl Client {
    async fn connect(url: &str, stateless: bool) -> Result<Self, Error> {
        let (authority, path) = split_url(url)?;
        let deadline = Instant::now() + CONNECT_PATIENCE;
        let stream = loop {
            match tokio::net::TcpStream::connect(&authority).await {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                // Polling for a server that is starting: nothing to wait on.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            authority,
            path,
            session: None,
            stateless,
        })
    }

    /// POSTs `body` (stateless, it must be a `tools/call` of `echo`); the
    /// status, the session id header and the response message, if any.
    async fn post(
        &mut self,
        body: String,
    ) -> Result<(StatusCode, Option<String>, Option<Value>), Error> {
        let mut request = Request::post(&self.path)
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if self.stateless {
            request = request
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "echo");
        } else if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", SESSION_VERSION);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let session = header("mcp-session-id");
        let content_type = header("content-type").unwrap_or_default();
        let body = response.into_body().collect().await?.to_bytes();
        let message = if body.is_empty() {
            None
        } else {
            Some(check::http_response(&content_type, &body)?)
        };
        Ok((status, session, message))
    }

    /// `initialize` and `notifications/initialized`: the session is open.
    async fn open_session(&mut self) -> Result<(), Error> {
        let (status, session, message) = self.post(check::initialize(0)).await?;
        let message = message.ok_or_else(|| format!("initialize: {status}, no body"))?;
        check::initialized(&message)?;
        self.session = Some(session.ok_or("initialize: no Mcp-Session-Id")?);
        let (status, _, _) = self.post(check::INITIALIZED.to_owned()).await?;
        if !status.is_success() {
            return Err(format!("notifications/initialized: {status}").into());
        }
        Ok(())
    }

    async fn call(&mut self, id: u64) -> Result<(), Error> {
        let (status, _, message) = self.post(check::call(id, self.stateless)).await?;
        let message = message.ok_or_else(|| format!("tools/call: {status}, no body"))?;
        check::echoed(&message)
    }
}

pub(crate) async fn run(options: &Options) -> Result<(), Error> {
    let stateless = match options.kind.as_str() {
        "session" => false,
        "stateless" => true,
        other => return Err(format!("unknown kind {other:?}").into()),
    };
    // Every client connects, opens its session and warms up before the
    // clock starts; each waits at the barrier even when that failed.
    let start = Arc::new(Barrier::new(options.concurrency + 1));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let start = Arc::clone(&start);
        let (url, warmup, calls) = (options.url.clone(), options.warmup, options.calls);
        clients.spawn(async move {
            let prepared = async {
                let mut client = Client::connect(&url, stateless).await?;
                if !stateless {
                    client.open_session().await?;
                }
                for id in 1..=warmup as u64 {
                    client.call(id).await?;
                }
                Ok::<_, Error>(client)
            }
            .await;
            start.wait().await;
            let mut client = prepared?;
            let mut latencies = Vec::with_capacity(calls);
            for id in 0..calls as u64 {
                let started = Instant::now();
                client.call(warmup as u64 + 1 + id).await?;
                latencies.push(started.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    start.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    while let Some(joined) = clients.join_next().await {
        latencies.extend(joined??);
    }
    let elapsed = started.elapsed();
    let mode = format!("http-{}-c{}", options.kind, options.concurrency);
    report(&mode, elapsed, &mut latencies);
    Ok(())
}

/// Opens `count` sessions on one connection and leaves them idle.
pub(crate) async fn open_sessions(options: &Options) -> Result<(), Error> {
    let mut client = Client::connect(&options.url, false).await?;
    for _ in 0..options.count {
        client.session = None;
        client.open_session().await?;
    }
    println!("mode=sessions opened={}", options.count);
    Ok(())
}

/// Streams per HTTP/2 connection, under servers' limit on concurrent streams.
const STREAMS_PER_CONNECTION: usize = 100;

/// One HTTP/2 connection, for many sessions and streams side by side.
async fn connect_h2(authority: &str) -> Result<Http2, Error> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

type Http2 = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// `initialize` and `notifications/initialized` over HTTP/2; the session id.
async fn open_session_h2(sender: &mut Http2, url: &str) -> Result<String, Error> {
    let post = |body: String, session: Option<&str>| {
        let mut request = Request::post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", SESSION_VERSION);
        }
        request.body(Full::new(Bytes::from(body)))
    };
    sender.ready().await?;
    let response = sender
        .send_request(post(check::initialize(0), None)?)
        .await?;
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or("initialize: no Mcp-Session-Id")?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // rmcp's answer is an event stream that ends after the answer.
    let body = response.into_body().collect().await?.to_bytes();
    check::initialized(&check::http_response(&content_type, &body)?)?;
    sender.ready().await?;
    let response = sender
        .send_request(post(check::INITIALIZED.to_owned(), Some(&session))?)
        .await?;
    if !response.status().is_success() {
        return Err(format!("notifications/initialized: {}", response.status()).into());
    }
    response.into_body().collect().await?;
    Ok(session)
}

/// Waits for a line on stdin (or its end): the script has measured.
async fn wait_for_go() -> Result<(), Error> {
    use tokio::io::AsyncBufReadExt as _;
    let mut line = String::new();
    tokio::io::BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await?;
    Ok(())
}

/// Opens `count` sessions over HTTP/2, then a GET event stream on each,
/// holding them open while the script reads the server's memory.
pub(crate) async fn open_streams(options: &Options) -> Result<(), Error> {
    let (authority, _) = split_url(&options.url)?;
    let mut connections = Vec::new();
    let mut sessions = Vec::with_capacity(options.count);
    for i in 0..options.count {
        if i % STREAMS_PER_CONNECTION == 0 {
            connections.push(connect_h2(&authority).await?);
        }
        let sender = connections.last_mut().ok_or("no connection")?;
        sessions.push(open_session_h2(sender, &options.url).await?);
    }
    println!("mode=streams sessions={}", sessions.len());
    wait_for_go().await?;
    let mut streams = Vec::with_capacity(sessions.len());
    for (i, session) in sessions.iter().enumerate() {
        let sender = connections
            .get_mut(i / STREAMS_PER_CONNECTION)
            .ok_or("no connection")?;
        let request = Request::get(&options.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", SESSION_VERSION)
            .body(Full::new(Bytes::new()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        if response.status() != StatusCode::OK {
            return Err(format!("GET stream: {}", response.status()).into());
        }
        // Held open, unread: an idle stream.
        streams.push(response.into_body());
    }
    println!("mode=streams streams={}", streams.len());
    wait_for_go().await?;
    drop(streams);
    Ok(())
}
