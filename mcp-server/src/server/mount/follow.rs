//! Following mounted servers: their list changes re-read into the
//! composed server, their resource updates passed on.

use std::sync::{Arc, RwLock, Weak};

use tokio::sync::broadcast;

use crate::events::ServerEvent;

use super::super::{Keyed, Registry, Server, ServerInner};
use super::{DefinitionKind, DefinitionSource, Mount, MountError, merge, namespaced, outer_uri};

/// Starts following every mount's changes, once, if a runtime is there to
/// run the tasks (else a later call, from a connection, does).
pub(crate) fn follow(server: &Server) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for mount in &server.inner.mounts {
        let events = mount
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(events) = events {
            runtime.spawn(forward(
                Arc::downgrade(&server.inner),
                Arc::clone(mount),
                events,
            ));
        }
    }
}

/// Follows one mounted server: list changes re-read its definitions into
/// the composed server, resource updates are passed on under the
/// namespaced URI. Ends when either server is gone.
async fn forward(
    parent: Weak<ServerInner>,
    mount: Arc<Mount>,
    mut events: broadcast::Receiver<ServerEvent>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => Some(event),
            // Missed some: re-read everything.
            Err(broadcast::error::RecvError::Lagged(_)) => None,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(inner) = parent.upgrade() else {
            return;
        };
        let parent = Server { inner };
        match event {
            Some(ServerEvent::ResourceUpdated(uri)) => {
                parent.notify(ServerEvent::ResourceUpdated(Arc::from(outer_uri(
                    &mount.prefix,
                    &uri,
                ))));
            }
            Some(ServerEvent::ToolsChanged) => resync(&parent, &mount, Kinds::TOOLS),
            Some(ServerEvent::PromptsChanged) => resync(&parent, &mount, Kinds::PROMPTS),
            Some(ServerEvent::ResourcesChanged) => resync(&parent, &mount, Kinds::RESOURCES),
            None => resync(&parent, &mount, Kinds::ALL),
        }
    }
}

#[derive(Clone, Copy)]
struct Kinds {
    tools: bool,
    prompts: bool,
    resources: bool,
}

impl Kinds {
    const TOOLS: Self = Self {
        tools: true,
        prompts: false,
        resources: false,
    };
    const PROMPTS: Self = Self {
        tools: false,
        prompts: true,
        resources: false,
    };
    const RESOURCES: Self = Self {
        tools: false,
        prompts: false,
        resources: true,
    };
    const ALL: Self = Self {
        tools: true,
        prompts: true,
        resources: true,
    };
}

fn resync(parent: &Server, mount: &Mount, kinds: Kinds) {
    let mut errors = Vec::new();
    let fresh = namespaced(&mount.prefix, &mount.server, &mut errors);
    let mut contributed = mount
        .contributed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let source = mount.source();
    if kinds.tools {
        replace(
            &parent.inner.tools,
            &mut contributed.tools,
            fresh.tools,
            &source,
            DefinitionKind::Tool,
            &mut errors,
        );
        parent.notify(ServerEvent::ToolsChanged);
    }
    if kinds.prompts {
        replace(
            &parent.inner.prompts,
            &mut contributed.prompts,
            fresh.prompts,
            &source,
            DefinitionKind::Prompt,
            &mut errors,
        );
        parent.notify(ServerEvent::PromptsChanged);
    }
    if kinds.resources {
        replace(
            &parent.inner.resources,
            &mut contributed.resources,
            fresh.resources,
            &source,
            DefinitionKind::Resource,
            &mut errors,
        );
        replace(
            &parent.inner.templates,
            &mut contributed.templates,
            fresh.templates,
            &source,
            DefinitionKind::ResourceTemplate,
            &mut errors,
        );
        parent.notify(ServerEvent::ResourcesChanged);
    }
    for error in errors {
        tracing::warn!(%error, "a mounted server's definition was left out");
    }
}

/// Swaps the keys `previous` put into `slot` for `fresh`, leaving out any
/// that another source defines.
fn replace<D: Keyed>(
    slot: &RwLock<Arc<Registry<D>>>,
    previous: &mut Vec<Arc<str>>,
    fresh: Vec<D>,
    source: &DefinitionSource,
    kind: DefinitionKind,
    errors: &mut Vec<MountError>,
) {
    let mut guard = slot
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut defs: Vec<(D, DefinitionSource)> = guard
        .defs()
        .iter()
        .filter(|d| !previous.contains(d.key()))
        // Who defined the others no longer matters here: only that they win.
        .map(|d| (d.clone(), DefinitionSource::Local))
        .collect();
    *previous = merge(&mut defs, fresh, source, kind, errors);
    *guard = Arc::new(Registry::new(defs.into_iter().map(|(d, _)| d).collect()));
}
