//! Resource definitions: concrete resources (`resources/list`) and URI
//! templates (`resources/templates/list`), both read with `resources/read`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::ProtocolError;
use mcp_core::apps::{UI_META, UI_MIME_TYPE, UI_SCHEME, UiResourceMeta};
use mcp_core::content::{BlobResourceContents, ResourceContents, TextResourceContents};
use mcp_core::resource::Resource;

use crate::context::RequestContext;
use crate::handler::BoxFuture;

mod contents;
mod template;
mod watch;

pub use contents::IntoResourceResult;
pub use mcp_core::uri_template::UriTemplateError;
pub use template::ResourceTemplateDef;
pub(crate) use watch::{Watch, WatchChange};

/// Why a resource could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// No such resource: -32002 up to 2025-11-25, -32602 with `data.uri` on
    /// 2026-07-28.
    #[error("resource not found: `{0}`")]
    NotFound(String),
    /// The URI names a resource but is malformed (-32602).
    #[error("invalid resource URI: {0}")]
    Invalid(String),
    /// Reading failed (-32603).
    #[error("reading the resource failed: {0}")]
    Failed(String),
}

impl From<ResourceError> for ProtocolError {
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::NotFound(uri) => ProtocolError::ResourceNotFound { uri },
            ResourceError::Invalid(message) => ProtocolError::InvalidParams(message),
            ResourceError::Failed(message) => ProtocolError::Internal(message),
        }
    }
}

/// One `resources/read`: the URI, the template's variables, the context.
#[derive(Debug)]
pub struct ResourceCall {
    uri: String,
    mime_type: Option<String>,
    variables: BTreeMap<String, String>,
    context: RequestContext,
}

impl ResourceCall {
    /// The URI being read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The resource's MIME type, as declared.
    pub fn mime_type(&self) -> Option<&str> {
        self.mime_type.as_deref()
    }

    /// A template variable's value, percent-decoded.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// Parses a template variable with `FromStr`.
    ///
    /// # Errors
    /// -32602 when it is missing or does not parse.
    pub fn parse<T>(&self, name: &str) -> Result<T, ResourceError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        let value = self
            .variable(name)
            .ok_or_else(|| ResourceError::Invalid(format!("`{}` has no `{name}`", self.uri)))?;
        value
            .parse()
            .map_err(|e| ResourceError::Invalid(format!("`{name}` in `{}`: {e}", self.uri)))
    }

    /// The request context.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Text contents for this URI, with the resource's MIME type.
    pub fn text(&self, text: impl Into<String>) -> ResourceContents {
        ResourceContents::Text(TextResourceContents {
            uri: self.uri.clone(),
            mime_type: self.mime_type.clone(),
            text: text.into(),
            meta: None,
        })
    }

    /// Binary contents (base64) for this URI, with the resource's MIME type.
    pub fn blob(&self, base64: impl Into<String>) -> ResourceContents {
        ResourceContents::Blob(BlobResourceContents {
            uri: self.uri.clone(),
            mime_type: self.mime_type.clone(),
            blob: base64.into(),
            meta: None,
        })
    }
}

type Handler = Arc<
    dyn Fn(ResourceCall) -> BoxFuture<Result<Vec<ResourceContents>, ResourceError>> + Send + Sync,
>;

fn wrap<F, Fut, R>(f: F) -> Handler
where
    F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResourceResult,
{
    Arc::new(move |call: ResourceCall| {
        let uri = call.uri.clone();
        let mime_type = call.mime_type.clone();
        let fut = f(call);
        Box::pin(async move { fut.await.into_contents(&uri, mime_type.as_deref()) })
    })
}

/// A concrete resource with a fixed URI.
///
/// ```
/// use mcp_server::prelude::*;
///
/// let readme = ResourceDef::new(
///     "docs://readme",
///     "readme",
///     Some("text/markdown"),
///     |_call| async { "# Hello" },
/// );
/// let server = Server::builder().resource(readme).build();
/// ```
#[derive(Clone)]
pub struct ResourceDef {
    resource: Arc<Resource>,
    uri: Arc<str>,
    handler: Handler,
    watch: Option<Watch>,
}

impl ResourceDef {
    /// A resource at `uri` named `name`, read by `handler`.
    pub fn new<F, Fut, R>(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime_type: Option<&str>,
        handler: F,
    ) -> Self
    where
        F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceResult,
    {
        Self::from_resource(
            Resource {
                uri: uri.into(),
                name: name.into(),
                title: None,
                description: None,
                mime_type: mime_type.map(str::to_owned),
                size: None,
                annotations: None,
                icons: None,
                meta: None,
            },
            handler,
        )
    }

    /// A resource from its full listing entry.
    pub fn from_resource<F, Fut, R>(resource: Resource, handler: F) -> Self
    where
        F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceResult,
    {
        Self {
            uri: Arc::from(resource.uri.as_str()),
            resource: Arc::new(resource),
            handler: wrap(handler),
            watch: None,
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.resource).description = Some(description.into());
        self
    }

    /// An MCP Apps view: an HTML document at a `ui://` URI, served with
    /// the MIME type `text/html;profile=mcp-app`. The handler returns the
    /// HTML (a `&'static str` from `include_str!`, a `String` it builds).
    /// Add its CSP and the rest with [`with_ui`](Self::with_ui).
    ///
    /// ```
    /// use mcp_server::prelude::*;
    /// use mcp_server::core::apps::{UiCsp, UiResourceMeta};
    ///
    /// let view = ResourceDef::ui("ui://notes/board", "board", |_call| async {
    ///     "<!doctype html><html><body>Notes</body></html>"
    /// })
    /// .with_ui(UiResourceMeta {
    ///     csp: Some(UiCsp { connect_domains: vec!["https://api.example.com".into()], ..UiCsp::default() }),
    ///     prefers_border: Some(true),
    ///     ..UiResourceMeta::default()
    /// });
    /// assert_eq!(view.resource().mime_type.as_deref(), Some("text/html;profile=mcp-app"));
    /// ```
    pub fn ui<F, Fut, R>(uri: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceResult,
    {
        Self::new(uri, name, Some(UI_MIME_TYPE), handler).with_ui(UiResourceMeta::default())
    }

    /// Declares the resource an MCP Apps view with this `_meta.ui` (CSP,
    /// permissions, domain, border), shown on its `resources/list` entry
    /// and on every content `resources/read` returns. Sets the MIME type
    /// to `text/html;profile=mcp-app` when none was given.
    #[must_use]
    pub fn with_ui(mut self, ui: UiResourceMeta) -> Self {
        let resource = Arc::make_mut(&mut self.resource);
        resource
            .mime_type
            .get_or_insert_with(|| UI_MIME_TYPE.to_owned());
        let value = serde_json::to_value(&ui).unwrap_or_else(|_| serde_json::json!({}));
        resource
            .meta
            .get_or_insert_with(serde_json::Map::new)
            .insert(UI_META.into(), value);
        self
    }

    /// The view's `_meta.ui`, when this resource is an MCP Apps view.
    pub fn ui_meta(&self) -> Option<UiResourceMeta> {
        let ui = self.resource.meta.as_ref()?.get(UI_META)?;
        serde_json::from_value(ui.clone()).ok()
    }

    /// Whether this resource is an MCP Apps view (a `ui://` URI with the
    /// view MIME type).
    pub fn is_ui(&self) -> bool {
        self.resource.uri.starts_with(UI_SCHEME)
            && self.resource.mime_type.as_deref() == Some(UI_MIME_TYPE)
    }

    /// What `resources/list` shows.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn shared_uri(&self) -> &Arc<str> {
        &self.uri
    }

    /// Told of each session's subscription to this resource.
    #[must_use]
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn watched(mut self, watch: Watch) -> Self {
        self.watch = Some(watch);
        self
    }

    pub(crate) fn watch(&self) -> Option<&Watch> {
        self.watch.as_ref()
    }

    pub(crate) async fn read(
        &self,
        context: RequestContext,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let call = ResourceCall {
            uri: self.resource.uri.clone(),
            mime_type: self.resource.mime_type.clone(),
            variables: BTreeMap::new(),
            context,
        };
        let mut contents = non_empty(&self.resource.uri, (self.handler)(call).await)?;
        if let Some(ui) = self.resource.meta.as_ref().and_then(|m| m.get(UI_META)) {
            stamp_ui(&mut contents, ui);
        }
        Ok(contents)
    }

    /// This resource listed as `resource` (a mounted server's resource under
    /// its namespaced URI): read through this one, its contents passed
    /// through `map`.
    pub(crate) fn relisted(
        &self,
        resource: Resource,
        map: impl Fn(Vec<ResourceContents>) -> Vec<ResourceContents> + Send + Sync + 'static,
    ) -> Self {
        let inner = self.clone();
        let map = Arc::new(map);
        let own = self.uri.to_string();
        Self {
            watch: self
                .watch
                .as_ref()
                .map(|w| w.mapped(move |_| Some(own.clone()))),
            uri: Arc::from(resource.uri.as_str()),
            resource: Arc::new(resource),
            handler: Arc::new(move |call: ResourceCall| {
                let inner = inner.clone();
                let map = Arc::clone(&map);
                Box::pin(async move { inner.read(call.context).await.map(|c| map(c)) })
            }),
        }
    }
}

/// Puts a view's `_meta.ui` on contents that do not carry their own: hosts
/// read the CSP from the contents of `resources/read`.
fn stamp_ui(contents: &mut [ResourceContents], ui: &serde_json::Value) {
    for content in contents {
        let meta = match content {
            ResourceContents::Text(text) => &mut text.meta,
            ResourceContents::Blob(blob) => &mut blob.meta,
        };
        meta.get_or_insert_with(serde_json::Map::new)
            .entry(UI_META)
            .or_insert_with(|| ui.clone());
    }
}

impl fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceDef")
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

fn non_empty(
    uri: &str,
    contents: Result<Vec<ResourceContents>, ResourceError>,
) -> Result<Vec<ResourceContents>, ResourceError> {
    match contents {
        // The spec forbids empty contents: nothing to read is "not found".
        Ok(contents) if contents.is_empty() => Err(ResourceError::NotFound(uri.to_owned())),
        other => other,
    }
}
