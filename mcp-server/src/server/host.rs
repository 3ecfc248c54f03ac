//! The server as a request's context holds it.

use std::any::Any;

use super::Server;
use crate::audit::AuditLog;
use crate::context::{Host, RequestContext};
use crate::metrics::Metrics;
use crate::task::TaskStore;

impl Host for Server {
    fn tasks(&self) -> &TaskStore {
        Server::tasks(self)
    }

    fn audit_log(&self) -> Option<&AuditLog> {
        Server::audit_log(self)
    }

    fn metrics(&self) -> &Metrics {
        Server::metrics(self)
    }
}

impl RequestContext {
    /// The server serving the request: to add or remove tools, prompts and
    /// resources at run time, or to tell subscribers a resource changed.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    ///
    /// async fn retire(ctx: &RequestContext, name: &str) -> bool {
    ///     ctx.server().remove_tool(name)
    /// }
    /// ```
    pub fn server(&self) -> &Server {
        let host: &dyn Any = self.host();
        match host.downcast_ref::<Server>() {
            Some(server) => server,
            // Only the router makes contexts, and always with its server.
            None => unreachable!("a request context is made with its server"),
        }
    }
}
