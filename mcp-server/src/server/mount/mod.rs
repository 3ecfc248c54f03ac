//! Mounting one server into another: its tools, prompts, resources and
//! templates listed under a namespace, followed as they change.
//!
//! Names: tool and prompt `name` becomes `{prefix}_{name}`. URIs: `ui://rest`
//! becomes `ui://{prefix}/rest` (MCP Apps hosts expect the `ui` scheme);
//! any other URI gets the prefix in front of its scheme,
//! `contacts://42` becoming `{prefix}+contacts://42` (still a valid scheme).

use std::fmt;
use std::sync::{Arc, Mutex};

use mcp_core::content::ResourceContents;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::events::ServerEvent;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef, UriTemplateError};
use crate::tool::ToolDef;

mod follow;
mod links;

pub(crate) use follow::follow;

use super::{Keyed, Server};

/// What kind of definition two sources both define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefinitionKind {
    /// A tool, by name.
    Tool,
    /// A prompt, by name.
    Prompt,
    /// A concrete resource, by URI.
    Resource,
    /// A resource template, by URI template.
    ResourceTemplate,
}

impl fmt::Display for DefinitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
            Self::ResourceTemplate => "resource template",
        })
    }
}

/// Where a definition of a composed server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefinitionSource {
    /// Defined on the server being built.
    Local,
    /// From the server mounted under this prefix.
    Mount(String),
}

impl fmt::Display for DefinitionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("this server"),
            Self::Mount(prefix) => write!(f, "the server mounted as `{prefix}`"),
        }
    }
}

/// Why servers could not be composed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The prefix cannot start a name and a URI scheme: it must start with
    /// an ASCII letter and hold only ASCII letters, digits and `-`.
    #[error(
        "invalid mount prefix `{0}`: use an ASCII letter followed by ASCII letters, digits or `-`"
    )]
    InvalidPrefix(String),
    /// Two sources define the same name or URI; the first is kept.
    #[error("{kind} `{name}` is defined by both {first} and {second}")]
    Clash {
        /// What is defined twice.
        kind: DefinitionKind,
        /// The name or URI, as the composed server would list it.
        name: String,
        /// The source that keeps it.
        first: DefinitionSource,
        /// The source whose definition is left out.
        second: DefinitionSource,
    },
    /// A mounted template is no longer a valid template with the prefix.
    #[error("the template `{template}` mounted as `{prefix}` is invalid: {error}")]
    Template {
        /// The mount's prefix.
        prefix: String,
        /// The namespaced template.
        template: String,
        /// Why it does not parse.
        error: UriTemplateError,
    },
}

/// A mount not yet built.
#[derive(Debug)]
pub(crate) struct Pending {
    prefix: String,
    server: Server,
    /// Whether the prefix was given by the application (and so must be a
    /// valid one), not empty for a proxy served under its own names.
    checked: bool,
}

impl Pending {
    pub(crate) fn checked(prefix: String, server: Server) -> Self {
        Self {
            prefix,
            server,
            checked: true,
        }
    }

    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn unprefixed(server: Server) -> Self {
        Self {
            prefix: String::new(),
            server,
            checked: false,
        }
    }
}

/// Whether `prefix` can start both a tool name and a URI scheme.
pub(super) fn valid_prefix(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The name a mounted tool or prompt is listed under.
pub(crate) fn outer_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        return name.to_owned();
    }
    format!("{prefix}_{name}")
}

/// The URI (or URI template) a mounted resource is listed under.
pub(crate) fn outer_uri(prefix: &str, uri: &str) -> String {
    if prefix.is_empty() {
        return uri.to_owned();
    }
    match uri.strip_prefix("ui://") {
        Some(rest) => format!("ui://{prefix}/{rest}"),
        None => format!("{prefix}+{uri}"),
    }
}

/// The mounted server's URI for one listed under `prefix`, if it is one.
pub(crate) fn inner_uri(prefix: &str, uri: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some(uri.to_owned());
    }
    if let Some(rest) = uri.strip_prefix("ui://") {
        let rest = rest.strip_prefix(prefix)?.strip_prefix('/')?;
        return Some(format!("ui://{rest}"));
    }
    let rest = uri.strip_prefix(prefix)?.strip_prefix('+')?;
    Some(rest.to_owned())
}

fn outer_contents(prefix: &str, contents: Vec<ResourceContents>) -> Vec<ResourceContents> {
    contents
        .into_iter()
        .map(|mut c| {
            let uri = match &mut c {
                ResourceContents::Text(t) => &mut t.uri,
                ResourceContents::Blob(b) => &mut b.uri,
            };
            *uri = outer_uri(prefix, uri);
            c
        })
        .collect()
}

pub(super) fn tool(prefix: &str, def: &ToolDef, server: &Server) -> ToolDef {
    let mut tool = def.tool().clone();
    tool.name = outer_name(prefix, &tool.name);
    // A tool linked to an MCP Apps view names the view's URI, which moved.
    if let Some(meta) = &mut tool.meta {
        if let Some(Value::Object(ui)) = meta.get_mut("ui")
            && let Some(Value::String(uri)) = ui.get_mut("resourceUri")
        {
            *uri = outer_uri(prefix, uri);
        }
        if let Some(Value::String(uri)) = meta.get_mut("ui/resourceUri") {
            *uri = outer_uri(prefix, uri);
        }
    }
    if prefix.is_empty() {
        return def.relisted(tool, |result| result);
    }
    let (prefix, server) = (prefix.to_owned(), server.clone());
    def.relisted(tool, move |result| {
        links::tool_result(&prefix, &server, result)
    })
}

pub(super) fn prompt(prefix: &str, def: &PromptDef, server: &Server) -> PromptDef {
    let mut prompt = def.prompt().clone();
    prompt.name = outer_name(prefix, &prompt.name);
    if prefix.is_empty() {
        return def.relisted(prompt, |result| result);
    }
    let (prefix, server) = (prefix.to_owned(), server.clone());
    def.relisted(prompt, move |result| {
        links::prompt_result(&prefix, &server, result)
    })
}

pub(super) fn resource(prefix: &str, def: &ResourceDef) -> ResourceDef {
    let mut resource = def.resource().clone();
    resource.uri = outer_uri(prefix, &resource.uri);
    let prefix = prefix.to_owned();
    def.relisted(resource, move |c| outer_contents(&prefix, c))
}

pub(super) fn template(
    prefix: &str,
    def: &ResourceTemplateDef,
) -> Result<ResourceTemplateDef, MountError> {
    let mut template = def.template().clone();
    template.uri_template = outer_uri(prefix, &template.uri_template);
    let shown = template.uri_template.clone();
    let (p1, p2) = (prefix.to_owned(), prefix.to_owned());
    def.relisted(
        template,
        move |uri| inner_uri(&p1, uri),
        move |c| outer_contents(&p2, c),
    )
    .map_err(|error| MountError::Template {
        prefix: prefix.to_owned(),
        template: shown,
        error,
    })
}

/// The keys one mount put into each of the composed server's registries.
#[derive(Debug, Default)]
pub(super) struct Contributed {
    pub(super) tools: Vec<Arc<str>>,
    pub(super) prompts: Vec<Arc<str>>,
    pub(super) resources: Vec<Arc<str>>,
    pub(super) templates: Vec<Arc<str>>,
}

/// A server mounted into another.
pub(crate) struct Mount {
    pub(super) prefix: String,
    pub(super) server: Server,
    pub(super) contributed: Mutex<Contributed>,
    /// The mounted server's events, taken by the task that follows them.
    pub(super) events: Mutex<Option<broadcast::Receiver<ServerEvent>>>,
}

impl Mount {
    pub(super) fn new(prefix: String, server: Server) -> Self {
        // Subscribed now, so no change between build and serve is missed.
        let events = server.subscribe();
        Self {
            prefix,
            server,
            contributed: Mutex::default(),
            events: Mutex::new(Some(events)),
        }
    }

    fn source(&self) -> DefinitionSource {
        DefinitionSource::Mount(self.prefix.clone())
    }
}

/// Adds `fresh` to `defs`, recording a clash with what is there, and
/// returns the keys added.
pub(super) fn merge<D: Keyed>(
    defs: &mut Vec<(D, DefinitionSource)>,
    fresh: Vec<D>,
    source: &DefinitionSource,
    kind: DefinitionKind,
    errors: &mut Vec<MountError>,
) -> Vec<Arc<str>> {
    let mut added = Vec::new();
    for def in fresh {
        if let Some((_, first)) = defs.iter().find(|(d, _)| d.key() == def.key()) {
            errors.push(MountError::Clash {
                kind,
                name: def.key().to_string(),
                first: first.clone(),
                second: source.clone(),
            });
            continue;
        }
        added.push(Arc::clone(def.key()));
        defs.push((def, source.clone()));
    }
    added
}

/// The mounted server's current definitions of each kind, namespaced.
pub(super) fn namespaced(prefix: &str, server: &Server, errors: &mut Vec<MountError>) -> Composed {
    Composed {
        tools: server
            .tools()
            .defs()
            .iter()
            .map(|d| tool(prefix, d, server))
            .collect(),
        prompts: server
            .prompts()
            .defs()
            .iter()
            .map(|d| prompt(prefix, d, server))
            .collect(),
        resources: server
            .resources()
            .defs()
            .iter()
            .map(|d| resource(prefix, d))
            .collect(),
        templates: server
            .resource_templates()
            .defs()
            .iter()
            .filter_map(|d| template(prefix, d).map_err(|e| errors.push(e)).ok())
            .collect(),
    }
}

/// A server's definitions of each kind.
pub(super) struct Composed {
    pub(super) tools: Vec<ToolDef>,
    pub(super) prompts: Vec<PromptDef>,
    pub(super) resources: Vec<ResourceDef>,
    pub(super) templates: Vec<ResourceTemplateDef>,
}

/// A server's own definitions with its mounts' merged in.
pub(super) struct Composition {
    pub(super) defs: Composed,
    pub(super) mounts: Vec<Arc<Mount>>,
    pub(super) errors: Vec<MountError>,
}

fn tagged<D>(defs: Vec<D>) -> Vec<(D, DefinitionSource)> {
    defs.into_iter()
        .map(|d| (d, DefinitionSource::Local))
        .collect()
}

fn untagged<D>(defs: Vec<(D, DefinitionSource)>) -> Vec<D> {
    defs.into_iter().map(|(d, _)| d).collect()
}

pub(super) fn compose(local: Composed, mounts: Vec<Pending>) -> Composition {
    let mut errors = Vec::new();
    let mut tools = tagged(local.tools);
    let mut prompts = tagged(local.prompts);
    let mut resources = tagged(local.resources);
    let mut templates = tagged(local.templates);
    let mut followed = Vec::new();
    for Pending {
        prefix,
        server,
        checked,
    } in mounts
    {
        if checked && !valid_prefix(&prefix) {
            errors.push(MountError::InvalidPrefix(prefix));
            continue;
        }
        let mount = Mount::new(prefix, server);
        let fresh = namespaced(&mount.prefix, &mount.server, &mut errors);
        let source = mount.source();
        let contributed = Contributed {
            tools: merge(
                &mut tools,
                fresh.tools,
                &source,
                DefinitionKind::Tool,
                &mut errors,
            ),
            prompts: merge(
                &mut prompts,
                fresh.prompts,
                &source,
                DefinitionKind::Prompt,
                &mut errors,
            ),
            resources: merge(
                &mut resources,
                fresh.resources,
                &source,
                DefinitionKind::Resource,
                &mut errors,
            ),
            templates: merge(
                &mut templates,
                fresh.templates,
                &source,
                DefinitionKind::ResourceTemplate,
                &mut errors,
            ),
        };
        *mount
            .contributed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = contributed;
        followed.push(Arc::new(mount));
    }
    Composition {
        defs: Composed {
            tools: untagged(tools),
            prompts: untagged(prompts),
            resources: untagged(resources),
            templates: untagged(templates),
        },
        mounts: followed,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        for uri in [
            "contacts://42",
            "ui://crm/contact",
            "urn:x:y",
            "file:///a/b",
        ] {
            let outer = outer_uri("crm", uri);
            assert_eq!(inner_uri("crm", &outer).as_deref(), Some(uri), "{outer}");
        }
        assert_eq!(outer_uri("crm", "contacts://42"), "crm+contacts://42");
        assert_eq!(outer_uri("crm", "ui://crm/contact"), "ui://crm/crm/contact");
        assert_eq!(inner_uri("crm", "jobs+saved://1"), None);
        assert_eq!(inner_uri("crm", "ui://jobs/view"), None);
        assert_eq!(inner_uri("crm", "crmx+a://b"), None);
    }

    #[test]
    fn prefixes_must_start_a_scheme() {
        assert!(valid_prefix("crm"));
        assert!(valid_prefix("job-search2"));
        for bad in ["", "2crm", "crm_x", "c rm", "crm+", "é"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
