//! Serving a tower service over real HTTP on loopback, for the tests that
//! compare or stack layers.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use mcp_server::transport::http::layers::ClientAddr;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// Serves `service` on a loopback port, attaching each connection's peer
/// as `HttpServer` does.
pub(crate) async fn serve<S, B>(service: S) -> SocketAddr
where
    S: Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut request| {
                    request.extensions_mut().insert(ClientAddr(peer));
                    service.clone().oneshot(request)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}
