//! stdin and stdout for the stdio transport.
//!
//! tokio's `Stdin` and `Stdout` do every read and write on the blocking
//! thread pool: each one is a hand-off to another thread and a wake-up back.
//! When stdin or stdout is a pipe (what an MCP client spawning the server
//! gives it), it is read or written instead as a non-blocking pipe on the
//! runtime's reactor, with no thread in between. Anything else (a terminal,
//! a file, a socket) goes through tokio's `Stdin` and `Stdout` as before.
//! The pipe is put back in blocking mode when the transport is done with it.
//!
//! Non-blocking mode belongs to the pipe's file description, which a parent
//! that handed the server its own pipe shares: `MCP_STDIO_PIPES=threaded`
//! keeps tokio's types for such a setup.

use tokio_util::either::Either;

/// The input of the stdio transport.
pub(crate) type Input = Either<imp::Pipe<imp::Receiver>, tokio::io::Stdin>;
/// The output of the stdio transport.
pub(crate) type Output = Either<imp::Pipe<imp::Sender>, tokio::io::Stdout>;

/// stdin: a non-blocking pipe when it is one. Call within the runtime.
pub(crate) fn stdin() -> Input {
    match reactor_pipes().then(imp::stdin_pipe).flatten() {
        Some(pipe) => Either::Left(pipe),
        None => Either::Right(tokio::io::stdin()),
    }
}

/// stdout: a non-blocking pipe when it is one, and stderr is not the same
/// pipe (logs are written to stderr synchronously, and must not find it
/// non-blocking). Call within the runtime.
pub(crate) fn stdout() -> Output {
    match reactor_pipes().then(imp::stdout_pipe).flatten() {
        Some(pipe) => Either::Left(pipe),
        None => Either::Right(tokio::io::stdout()),
    }
}

/// Whether pipes may go on the reactor: unless `MCP_STDIO_PIPES` is
/// `threaded`.
fn reactor_pipes() -> bool {
    std::env::var_os("MCP_STDIO_PIPES").is_none_or(|value| value != "threaded")
}

#[cfg(unix)]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    pub(crate) use tokio::net::unix::pipe::{Receiver, Sender};

    /// One end of a pipe on the reactor, back in blocking mode once dropped
    /// (the file description is shared with fd 0 or 1, and maybe with
    /// other processes).
    #[derive(Debug)]
    pub(crate) struct Pipe<P: Blocking>(Option<P>);

    pub(crate) trait Blocking {
        fn into_blocking(self);
    }

    impl Blocking for Receiver {
        fn into_blocking(self) {
            if let Err(e) = self.into_blocking_fd() {
                tracing::debug!(error = %e, "stdin could not be made blocking again");
            }
        }
    }

    impl Blocking for Sender {
        fn into_blocking(self) {
            if let Err(e) = self.into_blocking_fd() {
                tracing::debug!(error = %e, "stdout could not be made blocking again");
            }
        }
    }

    impl<P: Blocking> Drop for Pipe<P> {
        fn drop(&mut self) {
            if let Some(pipe) = self.0.take() {
                pipe.into_blocking();
            }
        }
    }

    /// A duplicate of `fd` if it is a pipe, with its identity (device and
    /// inode).
    fn pipe_fd(fd: std::os::fd::BorrowedFd<'_>) -> Option<(OwnedFd, (u64, u64))> {
        let file = File::from(fd.try_clone_to_owned().ok()?);
        let meta = file.metadata().ok()?;
        meta.file_type()
            .is_fifo()
            .then(|| (OwnedFd::from(file), (meta.dev(), meta.ino())))
    }

    pub(super) fn stdin_pipe() -> Option<Pipe<Receiver>> {
        let (fd, _) = pipe_fd(io::stdin().as_fd())?;
        Receiver::from_owned_fd(fd).ok().map(|r| Pipe(Some(r)))
    }

    pub(super) fn stdout_pipe() -> Option<Pipe<Sender>> {
        let (fd, id) = pipe_fd(io::stdout().as_fd())?;
        if pipe_fd(io::stderr().as_fd()).is_some_and(|(_, err)| err == id) {
            return None;
        }
        Sender::from_owned_fd(fd).ok().map(|s| Pipe(Some(s)))
    }

    fn gone() -> io::Error {
        io::Error::new(io::ErrorKind::NotConnected, "pipe already released")
    }

    impl AsyncRead for Pipe<Receiver> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.0.as_mut() {
                Some(pipe) => Pin::new(pipe).poll_read(cx, buf),
                None => Poll::Ready(Err(gone())),
            }
        }
    }

    impl AsyncWrite for Pipe<Sender> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            match self.0.as_mut() {
                Some(pipe) => Pin::new(pipe).poll_write(cx, buf),
                None => Poll::Ready(Err(gone())),
            }
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match self.0.as_mut() {
                Some(pipe) => Pin::new(pipe).poll_flush(cx),
                None => Poll::Ready(Ok(())),
            }
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match self.0.as_mut() {
                Some(pipe) => Pin::new(pipe).poll_shutdown(cx),
                None => Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    //! Elsewhere stdio is always tokio's: these types are never made.

    use std::convert::Infallible;
    use std::io;
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    #[derive(Debug)]
    pub(crate) struct Receiver;
    #[derive(Debug)]
    pub(crate) struct Sender;

    /// Uninhabited: no pipe is ever made.
    #[derive(Debug)]
    pub(crate) struct Pipe<P>(Infallible, PhantomData<P>);

    pub(super) fn stdin_pipe() -> Option<Pipe<Receiver>> {
        None
    }

    pub(super) fn stdout_pipe() -> Option<Pipe<Sender>> {
        None
    }

    impl AsyncRead for Pipe<Receiver> {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.0 {}
        }
    }

    impl AsyncWrite for Pipe<Sender> {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            match self.0 {}
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match self.0 {}
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match self.0 {}
        }
    }
}
