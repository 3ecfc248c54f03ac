//! Newline-delimited JSON-RPC over any byte stream.

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadHalf, WriteHalf};
use tokio_util::sync::CancellationToken;

use super::Transport;
use crate::server::{Server, ServerError};

/// One connection of newline-delimited JSON-RPC, exactly as on stdio, over
/// a reader and a writer: a Unix or TCP socket, a child process's pipes, an
/// in-memory pipe. Serving returns once `reader` ends and the requests in
/// flight have answered (those still running ten seconds later are
/// cancelled). Unlike [`Stdio`](super::Stdio), it installs no logging.
///
/// ```
/// use mcp_server::prelude::*;
/// use mcp_server::transport::duplex;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (transport, client) = duplex(4096);
/// let serving = tokio::spawn(Server::builder().build().serve(transport));
/// let (mut from_server, mut to_server) = tokio::io::split(client);
/// to_server.write_all(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await.unwrap();
/// to_server.shutdown().await.unwrap(); // end of input: the server answers, then stops
/// let mut output = String::new();
/// from_server.read_to_string(&mut output).await.unwrap();
/// assert!(output.starts_with(r#"{"jsonrpc":"2.0","id":1,"#));
/// serving.await.unwrap().unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct Stream<R, W> {
    reader: R,
    writer: W,
}

impl<R, W> Stream<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    /// Reads requests from `reader`, writes answers to `writer`.
    pub fn new(reader: R, writer: W) -> Self {
        Self { reader, writer }
    }
}

impl<S> Stream<ReadHalf<S>, WriteHalf<S>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Both directions of one stream, such as a `tokio::net::UnixStream`
    /// or `TcpStream`.
    pub fn split(io: S) -> Self {
        let (reader, writer) = tokio::io::split(io);
        Self { reader, writer }
    }
}

impl<R, W> Transport for Stream<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    async fn serve(self, server: Server) -> Result<(), ServerError> {
        server.check_ready()?;
        super::lines::serve(server, self.reader, self.writer, CancellationToken::new()).await
    }
}

/// The server's end of an in-memory pipe: see [`duplex`].
pub type Duplex = Stream<ReadHalf<DuplexStream>, WriteHalf<DuplexStream>>;

/// An in-memory connection, for tests and for running a server inside the
/// process that talks to it: the transport to serve, and the client's end.
/// Each direction buffers up to `max_buf_size` bytes.
pub fn duplex(max_buf_size: usize) -> (Duplex, DuplexStream) {
    let (client, server) = tokio::io::duplex(max_buf_size);
    (Stream::split(server), client)
}
