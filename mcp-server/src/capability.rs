//! The client capabilities a handler can depend on, and the error when one
//! is missing. Apart from the request context, so the code that asks the
//! client names them without depending on it.

use std::fmt;

/// A client capability a handler can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCapability {
    /// `sampling/createMessage`: the client can run the model for the server.
    Sampling,
    /// `elicitation/create`: the client can ask the user.
    Elicitation,
    /// `roots/list`: the client can list its roots.
    Roots,
    /// The tasks extension (2026-07-28).
    Tasks,
}

impl fmt::Display for ClientCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sampling => "sampling",
            Self::Elicitation => "elicitation",
            Self::Roots => "roots",
            Self::Tasks => "io.modelcontextprotocol/tasks extension",
        })
    }
}

/// The client did not declare a capability the handler needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client did not declare the `{capability}` capability this tool needs")]
pub struct MissingCapability {
    /// The capability that is missing.
    pub capability: ClientCapability,
}
