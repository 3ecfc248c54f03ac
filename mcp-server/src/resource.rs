//! Resource definitions: concrete resources (`resources/list`) and URI
//! templates (`resources/templates/list`), both read with `resources/read`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::ProtocolError;
use mcp_core::content::{BlobResourceContents, ResourceContents, TextResourceContents};
use mcp_core::resource::{Resource, ResourceTemplate};

use crate::completion::{Completer, CompletionRequest, Completions};
use crate::context::RequestContext;
use crate::tool::BoxFuture;

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

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not resource contents",
    note = "return `String` for text, `Vec<u8>` for binary data, `Structured<T>`, `ResourceContents`, a `Vec` of those, or `Result<T, ResourceError>`"
)]
/// A value a resource handler can return: `String` (text), `Vec<u8>`
/// (binary), `ResourceContents`, a `Vec` of those, or a `Result` of those
/// with a [`ResourceError`] (or anything `Display`, read as a failure).
pub trait IntoResourceResult {
    /// Converts the value into the contents of the resource at `uri`.
    ///
    /// # Errors
    /// The resource could not be read.
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError>;
}

fn text(uri: &str, mime_type: Option<&str>, text: String) -> ResourceContents {
    ResourceContents::Text(TextResourceContents {
        uri: uri.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        text,
        meta: None,
    })
}

impl IntoResourceResult for String {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![text(uri, mime_type, self)])
    }
}

impl IntoResourceResult for &'static str {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![text(uri, mime_type, self.to_owned())])
    }
}

impl IntoResourceResult for Vec<u8> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        use base64::Engine as _;
        Ok(vec![ResourceContents::Blob(BlobResourceContents {
            uri: uri.to_owned(),
            mime_type: mime_type.map(str::to_owned),
            blob: base64::engine::general_purpose::STANDARD.encode(self),
            meta: None,
        })])
    }
}

impl IntoResourceResult for ResourceContents {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![self])
    }
}

impl IntoResourceResult for Vec<ResourceContents> {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(self)
    }
}

impl<T: serde::Serialize> IntoResourceResult for crate::Structured<T> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        serde_json::to_string(&self.0)
            .map(|json| vec![text(uri, mime_type.or(Some("application/json")), json)])
            .map_err(|e| ResourceError::Failed(format!("could not encode JSON: {e}")))
    }
}

impl<T: IntoResourceResult> IntoResourceResult for Result<T, ResourceError> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        self?.into_contents(uri, mime_type)
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
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.resource).description = Some(description.into());
        self
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
        non_empty(&self.resource.uri, (self.handler)(call).await)
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
}

impl fmt::Debug for ResourceTemplateDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplateDef")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// A URI template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI template `{template}`: {reason}")]
pub struct UriTemplateError {
    /// The template.
    pub template: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{var}`: one segment, no `/`, `?` or `#`.
    Simple(String),
    /// `{+var}` or `{#var}`: any text (reserved expansion).
    Reserved(String),
    /// `{?a,b}`: query parameters, in any order, all optional.
    Query(Vec<String>),
}

/// An RFC 6570 template, inverted to match URIs (levels 1 to 3, the forms a
/// resource URI uses).
///
/// Matching runs a regular expression compiled from the template, so its
/// time is linear in the URI whatever the template: a backtracking matcher
/// takes time exponential in the number of variables on a URI that almost
/// matches, and URIs come from clients.
#[derive(Debug, Clone)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
    regex: regex::Regex,
    /// What each capture group of `regex` holds, in order.
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
enum Group {
    Variable(String),
    Query,
}

impl UriTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, UriTemplateError> {
        let fail = |reason: &str| UriTemplateError {
            template: template.to_owned(),
            reason: reason.to_owned(),
        };
        let parts = parse_parts(template).map_err(|reason| fail(&reason))?;
        let (pattern, groups) = pattern(&parts);
        let regex =
            regex::Regex::new(&pattern).map_err(|e| fail(&format!("it cannot be matched: {e}")))?;
        Ok(Self {
            parts,
            regex,
            groups,
        })
    }

    pub(crate) fn variables(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|part| match part {
                Part::Simple(name) | Part::Reserved(name) => vec![name.as_str()],
                Part::Query(names) => names.iter().map(String::as_str).collect(),
                Part::Literal(_) => Vec::new(),
            })
            .collect()
    }

    pub(crate) fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let captures = self.regex.captures(uri)?;
        let mut variables = BTreeMap::new();
        for (group, capture) in self.groups.iter().zip(captures.iter().skip(1)) {
            let Some(capture) = capture else { continue };
            match group {
                Group::Variable(name) => {
                    variables.insert(name.clone(), percent_decode(capture.as_str())?);
                }
                Group::Query => {
                    for pair in capture.as_str().split('&').filter(|p| !p.is_empty()) {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        variables.insert(key.to_owned(), percent_decode(value)?);
                    }
                }
            }
        }
        Some(variables)
    }
}

fn parse_parts(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut seen = Vec::<String>::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Literal(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| "a `{` is never closed".to_owned())?
            + open;
        let expression = &rest[open + 1..close];
        let (operator, names) = match expression.chars().next() {
            Some(op @ ('+' | '#' | '?')) => (Some(op), &expression[1..]),
            Some(op @ ('/' | ';' | '.' | '&' | '=' | ',' | '!' | '@' | '|')) => {
                return Err(format!("the `{op}` operator is not supported"));
            }
            _ => (None, expression),
        };
        let names: Vec<String> = names.split(',').map(|n| n.trim().to_owned()).collect();
        for name in &names {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`{{{expression}}}` has an invalid variable name"));
            }
            if seen.contains(name) {
                return Err(format!("the variable `{name}` appears twice"));
            }
            seen.push(name.clone());
        }
        match operator {
            Some('?') => parts.push(Part::Query(names)),
            _ if names.len() > 1 => {
                return Err("list variables are only supported in `{?a,b}`".into());
            }
            Some('+' | '#') => {
                if operator == Some('#') {
                    parts.push(Part::Literal("#".into()));
                }
                parts.push(Part::Reserved(names[0].clone()));
            }
            _ => parts.push(Part::Simple(names[0].clone())),
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` is never opened".into());
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Ok(parts)
}

/// The regular expression that matches what `parts` expand to, and what
/// each of its groups captures.
fn pattern(parts: &[Part]) -> (String, Vec<Group>) {
    let mut pattern = String::from("(?s)^");
    let mut groups = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(literal) => pattern.push_str(&regex::escape(literal)),
            // A value never splits a `%XX` escape, so it always decodes.
            Part::Simple(name) => {
                pattern.push_str("((?:[^/?#%]|%[0-9A-Fa-f]{2})+)");
                groups.push(Group::Variable(name.clone()));
            }
            Part::Reserved(name) => {
                // The longest value wins, so a later literal anchors it; but
                // before a `{?query}` the shortest, so `?a=1` is read as the
                // query it most likely is rather than as part of the value.
                let query_follows = parts[i + 1..].iter().any(|p| matches!(p, Part::Query(_)));
                pattern.push_str(if query_follows {
                    "((?:[^%]|%[0-9A-Fa-f]{2})+?)"
                } else {
                    "((?:[^%]|%[0-9A-Fa-f]{2})+)"
                });
                groups.push(Group::Variable(name.clone()));
            }
            Part::Query(names) => {
                // Pairs in any order, each optional, names from the template.
                let names: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
                let pair = format!("(?:(?:{})(?:=[^&#]*)?)?", names.join("|"));
                pattern.push_str(&format!(r"(?:\?({pair}(?:&{pair})*))?"));
                groups.push(Group::Query);
            }
        }
    }
    pattern.push('$');
    (pattern, groups)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits exactly: `from_str_radix` alone would take `+1`.
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(template)
            .unwrap()
            .matches(uri)
            .map(|m| m.into_iter().collect())
    }

    #[test]
    fn templates_match_and_extract() {
        assert_eq!(
            vars("test://template/{id}/data", "test://template/42/data"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/4/2/data"),
            None
        );
        assert_eq!(
            vars("file:///{+path}", "file:///a/b/c.txt"),
            Some(vec![("path".into(), "a/b/c.txt".into())])
        );
        assert_eq!(
            vars("users://{id}{?fields,limit}", "users://7?limit=3"),
            Some(vec![
                ("id".into(), "7".into()),
                ("limit".into(), "3".into())
            ])
        );
        assert_eq!(
            vars("notes://{name}", "notes://hello%20world"),
            Some(vec![("name".into(), "hello world".into())])
        );
        assert_eq!(vars("notes://{name}", "notes://"), None);
        assert_eq!(vars("a://{x}", "b://1"), None);
    }

    #[test]
    fn matching_takes_linear_time_on_uris_that_almost_match() {
        // Five adjacent `{+var}`s and a URI that fails only at its end: a
        // backtracking matcher tries every split, C(3000, 5) of them.
        let template = UriTemplate::parse("t://{+a}{+b}{+c}{+d}{+e}/end").unwrap();
        let uri = format!("t://{}/nope", "x/".repeat(1500));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(template.matches(&uri));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(result, Ok(None), "matching did not finish in 10 s");
    }

    #[test]
    fn a_query_after_a_reserved_variable_is_read_as_the_query() {
        assert_eq!(
            vars("file:///{+path}{?rev}", "file:///a/b.txt?rev=2"),
            Some(vec![
                ("path".into(), "a/b.txt".into()),
                ("rev".into(), "2".into())
            ])
        );
        // A `?` that starts no known parameter stays in the value.
        assert_eq!(
            vars("file:///{+path}{?rev}", "file:///a?b"),
            Some(vec![("path".into(), "a?b".into())])
        );
    }

    #[test]
    fn percent_escapes_need_two_hex_digits() {
        assert_eq!(vars("notes://{name}", "notes://%+1"), None);
        assert_eq!(vars("notes://{name}", "notes://%4"), None);
        assert_eq!(
            vars("notes://{name}", "notes://%4a"),
            Some(vec![("name".into(), "J".into())])
        );
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(UriTemplate::parse("a://{x").is_err());
        assert!(UriTemplate::parse("a://{x}/{x}").is_err());
        assert!(UriTemplate::parse("a://{/x}").is_err());
        assert!(UriTemplate::parse("a://{}").is_err());
        assert_eq!(
            UriTemplate::parse("a://{x}/{+y}{?z}").unwrap().variables(),
            ["x", "y", "z"]
        );
    }
}
