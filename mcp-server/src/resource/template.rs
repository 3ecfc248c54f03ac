//! [`ResourceTemplateDef`]: a family of resources named by a URI template.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::content::ResourceContents;
use mcp_core::resource::ResourceTemplate;
use mcp_core::uri_template::{UriTemplate, UriTemplateError};

use super::{Handler, IntoResourceResult, ResourceCall, ResourceError, Watch, non_empty, wrap};
use crate::completion::{Completer, CompletionRequest, Completions};
use crate::context::RequestContext;

/// A family of resources named by an RFC 6570 URI template, such as
/// `users://{id}/profile`. `{var}` matches one path segment, `{+var}` any
/// text, `{?a,b}` query parameters.
///
/// ```
/// use mcp_server::prelude::*;
///
/// let profile = ResourceTemplateDef::new(
///     "users://{id}/profile",
///     "profile",
///     Some("application/json"),
///     |call| async move {
///         let id: u64 = call.parse("id")?;
///         Ok::<_, ResourceError>(format!(r#"{{"id":{id}}}"#))
///     },
/// )
/// .unwrap();
/// let server = Server::builder().resource_template(profile).build();
/// ```
#[derive(Clone)]
pub struct ResourceTemplateDef {
    template: Arc<ResourceTemplate>,
    key: Arc<str>,
    matcher: Arc<UriTemplate>,
    handler: Handler,
    completers: Arc<HashMap<String, Completer>>,
    watch: Option<Watch>,
}

impl ResourceTemplateDef {
    /// A template named `name`, read by `handler`.
    ///
    /// # Errors
    /// The template is not valid RFC 6570 (an unclosed `{`, an empty or
    /// repeated variable, an operator this matcher cannot invert).
    pub fn new<F, Fut, R>(
        uri_template: &str,
        name: impl Into<String>,
        mime_type: Option<&str>,
        handler: F,
    ) -> Result<Self, UriTemplateError>
    where
        F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceResult,
    {
        Self::from_template(
            ResourceTemplate {
                uri_template: uri_template.to_owned(),
                name: name.into(),
                title: None,
                description: None,
                mime_type: mime_type.map(str::to_owned),
                annotations: None,
                icons: None,
                meta: None,
            },
            handler,
        )
    }

    /// A template from its full listing entry.
    ///
    /// # Errors
    /// See [`ResourceTemplateDef::new`].
    pub fn from_template<F, Fut, R>(
        template: ResourceTemplate,
        handler: F,
    ) -> Result<Self, UriTemplateError>
    where
        F: Fn(ResourceCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceResult,
    {
        let matcher = UriTemplate::parse(&template.uri_template)?;
        Ok(Self {
            key: Arc::from(template.uri_template.as_str()),
            template: Arc::new(template),
            matcher: Arc::new(matcher),
            handler: wrap(handler),
            completers: Arc::default(),
            watch: None,
        })
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.template).description = Some(description.into());
        self
    }

    /// Completes the variable `variable` with `completer`.
    #[must_use]
    pub fn complete<F, Fut>(mut self, variable: &str, completer: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Completions> + Send + 'static,
    {
        Arc::make_mut(&mut self.completers).insert(variable.to_owned(), Completer::new(completer));
        self
    }

    /// What `resources/templates/list` shows.
    pub fn template(&self) -> &ResourceTemplate {
        &self.template
    }

    /// The variables of the template, in order.
    pub fn variables(&self) -> Vec<&str> {
        self.matcher.variables()
    }

    pub(crate) fn shared_key(&self) -> &Arc<str> {
        &self.key
    }

    pub(crate) fn completer(&self, variable: &str) -> Option<&Completer> {
        self.completers.get(variable)
    }

    /// Told of each session's subscription to a URI of this template.
    #[must_use]
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn watched(mut self, watch: Watch) -> Self {
        self.watch = Some(watch);
        self
    }

    pub(crate) fn watch(&self) -> Option<&Watch> {
        self.watch.as_ref()
    }

    /// The template's variables in `uri`, percent-decoded, if `uri` is one
    /// of this template's resources: what `resources/read` of `uri` hands
    /// the handler. Takes time linear in the length of `uri`.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    ///
    /// let file = ResourceTemplateDef::new("file:///{+path}{?rev}", "file", None, |_call| async {
    ///     "contents"
    /// })
    /// .unwrap();
    /// let variables = file.matches("file:///docs/a%20b.md?rev=3").unwrap();
    /// assert_eq!(variables["path"], "docs/a b.md");
    /// assert_eq!(variables["rev"], "3");
    /// assert!(file.matches("http://example.com/").is_none());
    /// ```
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        self.matcher.matches(uri)
    }

    pub(crate) async fn read(
        &self,
        uri: &str,
        variables: BTreeMap<String, String>,
        context: RequestContext,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let call = ResourceCall {
            uri: uri.to_owned(),
            mime_type: self.template.mime_type.clone(),
            variables,
            context,
        };
        non_empty(uri, (self.handler)(call).await)
    }

    /// This template listed as `template` (a mounted server's template
    /// under its namespaced URI template): a URI it matches is mapped by
    /// `inner_uri` to one of this template's and read through this one, the
    /// contents passed through `map`. Keeps the completers.
    ///
    /// # Errors
    /// `template` is not a valid URI template.
    pub(crate) fn relisted(
        &self,
        template: ResourceTemplate,
        inner_uri: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        map: impl Fn(Vec<ResourceContents>) -> Vec<ResourceContents> + Send + Sync + 'static,
    ) -> Result<Self, UriTemplateError> {
        let matcher = UriTemplate::parse(&template.uri_template)?;
        let inner = self.clone();
        let map = Arc::new(map);
        let inner_uri = Arc::new(inner_uri);
        let mapping = Arc::clone(&inner_uri);
        Ok(Self {
            watch: self
                .watch
                .as_ref()
                .map(|w| w.mapped(move |uri| mapping(uri))),
            key: Arc::from(template.uri_template.as_str()),
            template: Arc::new(template),
            matcher: Arc::new(matcher),
            completers: Arc::clone(&self.completers),
            handler: Arc::new(move |call: ResourceCall| {
                let inner = inner.clone();
                let map = Arc::clone(&map);
                let uri = inner_uri(&call.uri);
                Box::pin(async move {
                    let Some(uri) = uri else {
                        return Err(ResourceError::NotFound(call.uri));
                    };
                    let variables = inner.matches(&uri).unwrap_or(call.variables);
                    inner
                        .read(&uri, variables, call.context)
                        .await
                        .map(|c| map(c))
                })
            }),
        })
    }
}

impl fmt::Debug for ResourceTemplateDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplateDef")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}
