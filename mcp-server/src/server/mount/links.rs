//! URIs inside a mounted server's results: a resource link or an embedded
//! resource that names one of its resources is rewritten to the URI the
//! composed server lists, so a client can read what it was pointed at.
//! URIs the mounted server does not serve (`https://..`, another server's)
//! are left as they are.

use mcp_core::content::{Content, ResourceContents};
use mcp_core::prompt::GetPromptResult;
use mcp_core::tool::CallToolResult;

use super::outer_uri;
use crate::Server;

/// Whether `server` lists `uri` as a resource or serves it from a template.
fn serves(server: &Server, uri: &str) -> bool {
    server.resources().defs().iter().any(|d| d.uri() == uri)
        || server
            .resource_templates()
            .defs()
            .iter()
            .any(|t| t.matches(uri).is_some())
}

fn relink(prefix: &str, server: &Server, content: &mut Content) {
    let uri = match content {
        Content::ResourceLink(link) => &mut link.uri,
        Content::Resource { resource, .. } => match resource {
            ResourceContents::Text(t) => &mut t.uri,
            ResourceContents::Blob(b) => &mut b.uri,
        },
        _ => return,
    };
    if serves(server, uri) {
        *uri = outer_uri(prefix, uri);
    }
}

pub(super) fn tool_result(
    prefix: &str,
    server: &Server,
    mut result: CallToolResult,
) -> CallToolResult {
    for content in &mut result.content {
        relink(prefix, server, content);
    }
    result
}

pub(super) fn prompt_result(
    prefix: &str,
    server: &Server,
    mut result: GetPromptResult,
) -> GetPromptResult {
    for message in &mut result.messages {
        relink(prefix, server, &mut message.content);
    }
    result
}
