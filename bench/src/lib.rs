//! What the two echo servers share: their command line and the hyper accept
//! loop, so that both serve HTTP through the same connection code.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use hyper::body::{Body, Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// Which transport a server binary serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportArg {
    /// Newline-delimited JSON-RPC on stdin and stdout.
    Stdio,
    /// Streamable HTTP on `127.0.0.1:<port>/mcp`.
    Http,
}

/// A server binary's command line:
/// `[--transport stdio|http] [--port N] [--max-message-bytes N]`.
#[derive(Debug, Clone, Copy)]
pub struct Args {
    /// The transport to serve.
    pub transport: TransportArg,
    /// The HTTP port (0 picks a free one, printed on stderr).
    pub port: u16,
    /// A larger bound on a message (and an HTTP body) than the framework's
    /// default (4 MiB in both), for the large-message run.
    pub max_message_bytes: Option<usize>,
}

impl Args {
    /// Parses the process's arguments.
    ///
    /// # Errors
    /// An unknown flag, or a value that is missing or unusable.
    pub fn parse() -> Result<Self, String> {
        Self::parse_from(std::env::args().skip(1))
    }

    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// See [`Args::parse`].
    pub fn parse_from(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Self {
            transport: TransportArg::Stdio,
            port: 3001,
            max_message_bytes: None,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--transport" => {
                    parsed.transport = match value.as_str() {
                        "stdio" => TransportArg::Stdio,
                        "http" => TransportArg::Http,
                        other => return Err(format!("unknown transport {other:?}")),
                    }
                }
                "--port" => {
                    parsed.port = value
                        .parse()
                        .map_err(|_| format!("--port: not a port: {value:?}"))?;
                }
                "--max-message-bytes" => {
                    parsed.max_message_bytes =
                        Some(value.parse().map_err(|_| {
                            format!("--max-message-bytes: not a number: {value:?}")
                        })?);
                }
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        Ok(parsed)
    }
}

/// Serves HTTP/1.1 and HTTP/2 on `127.0.0.1:port` with hyper, setting
/// `TCP_NODELAY` on every accepted socket, until SIGINT or SIGTERM.
///
/// # Errors
/// The port could not be bound.
pub async fn serve_hyper<F, Fut, B>(port: u16, handle: F) -> std::io::Result<()>
where
    F: Fn(SocketAddr, Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            () = &mut signal => return Ok(()),
        };
        // Without it a response written in two pieces waits for the
        // client's delayed ACK (Nagle), about 40 ms a request.
        stream.set_nodelay(true)?;
        let handle = handle.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let response = handle(peer, request);
            async move { Ok::<_, Infallible>(response.await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// Completes on SIGINT or SIGTERM, so that a server under callgrind exits
/// normally and its profile is written.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{Args, TransportArg};

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse_from(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn stdio_by_default_http_on_request() -> Result<(), String> {
        assert_eq!(parse(&[])?.transport, TransportArg::Stdio);
        let http = parse(&["--transport", "http", "--port", "4100"])?;
        assert_eq!((http.transport, http.port), (TransportArg::Http, 4100));
        assert_eq!(http.max_message_bytes, None);
        let large = parse(&["--max-message-bytes", "1024"])?;
        assert_eq!(large.max_message_bytes, Some(1024));
        Ok(())
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for args in [
            &["--transport", "sse"][..],
            &["--port", "70000"],
            &["--port"],
            &["--max-message-bytes", "lots"],
            &["--verbose", "yes"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }
}
