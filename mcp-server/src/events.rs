//! What changed on a server, as its sessions and listeners learn it. Apart
//! from the server, so sessions follow changes without depending on it.

use std::sync::Arc;

/// Something that changed on the server, broadcast to every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerEvent {
    ToolsChanged,
    PromptsChanged,
    ResourcesChanged,
    ResourceUpdated(Arc<str>),
}
