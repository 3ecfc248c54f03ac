//! Tool definitions: what `tools/list` shows and the handler `tools/call` runs.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::apps::{LEGACY_RESOURCE_URI_META, UI_META, UiToolMeta, Visibility};
use mcp_core::tool::{CallToolResult, Tool};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::arguments::Arguments;
use crate::context::RequestContext;

pub use crate::handler::BoxFuture;

type Handler = Arc<dyn Fn(ToolCall) -> BoxFuture<CallToolResult> + Send + Sync>;

/// One call of a tool: its raw arguments and the request context.
#[derive(Debug)]
pub struct ToolCall {
    name: Arc<str>,
    arguments: Option<Arguments>,
    /// The arguments as a raw value of their own, made when first asked
    /// for where they are part of the params.
    raw: std::sync::OnceLock<Box<RawValue>>,
    context: RequestContext,
}

impl ToolCall {
    pub(crate) fn new(
        name: Arc<str>,
        arguments: Option<Arguments>,
        context: RequestContext,
    ) -> Self {
        Self {
            name,
            arguments,
            raw: std::sync::OnceLock::new(),
            context,
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw `arguments` object, if the client sent one.
    pub fn raw_arguments(&self) -> Option<&RawValue> {
        let arguments = self.arguments.as_ref()?;
        if let Some(raw) = arguments.as_raw() {
            return Some(raw);
        }
        Some(self.raw.get_or_init(|| {
            crate::json_members::raw_from_valid(arguments.get())
                .unwrap_or_else(|| RawValue::NULL.to_owned())
        }))
    }

    /// The arguments' JSON text, if the client sent any.
    pub(crate) fn arguments_text(&self) -> Option<&str> {
        self.arguments.as_ref().map(Arguments::get)
    }

    /// Frees the raw arguments once they have been read into their type.
    pub(crate) fn release_arguments(&mut self) {
        self.arguments = None;
        self.raw.take();
    }

    /// The request context.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Deserializes the arguments, straight from the raw JSON.
    ///
    /// Missing arguments read as `{}`, so tools whose parameters are all
    /// optional accept a call without any.
    ///
    /// # Errors
    /// An `isError` result naming the tool and the failing field, ready to
    /// return to the client so the model can correct its call.
    pub fn arguments<T: DeserializeOwned>(&self) -> Result<T, CallToolResult> {
        parse_arguments(&self.name, self.arguments_text())
    }
}

pub(crate) fn parse_arguments<T: DeserializeOwned>(
    tool: &str,
    arguments: Option<&str>,
) -> Result<T, CallToolResult> {
    let json = arguments.unwrap_or("{}");
    if !json.trim_start().starts_with('{') {
        return Err(CallToolResult::error(format!(
            "invalid arguments for tool `{tool}`: `arguments` must be a JSON object"
        )));
    }
    // The path is tracked only to name the failing field: on a second
    // reading, once the first has failed.
    if let Ok(parsed) = serde_json::from_str(json) {
        return Ok(parsed);
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_position(&e.into_inner());
        let message = if path == "." || path.is_empty() {
            format!("invalid arguments for tool `{tool}`: {inner}")
        } else {
            format!("invalid arguments for tool `{tool}`: `{path}`: {inner}")
        };
        CallToolResult::error(message)
    })
}

/// The error's text without serde_json's "at line 1 column 7": positions in a
/// one-line argument object mean nothing to the model reading the error.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

/// A tool: its definition and its handler.
///
/// `#[mcp_tool]` builds these; build one by hand to register a tool at run time.
///
/// ```
/// use mcp_server::prelude::*;
/// use mcp_server::{ToolDef, schema};
/// use mcp_server::core::tool::Tool;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { /// The text to shout.
///     text: String }
///
/// let tool = Tool {
///     name: "shout".into(),
///     title: None,
///     description: Some("Upper-case a text.".into()),
///     input_schema: schema::input_schema_for::<Args>(),
///     output_schema: None,
///     annotations: None,
///     icons: None,
///     meta: None,
/// };
/// let shout = ToolDef::new(tool, |call: ToolCall| async move {
///     match call.arguments::<Args>() {
///         Ok(args) => args.text.to_uppercase().into_tool_result(),
///         Err(invalid) => invalid,
///     }
/// });
/// let server = Server::builder().tool(shout).build();
/// ```
#[derive(Clone)]
pub struct ToolDef {
    tool: Arc<Tool>,
    name: Arc<str>,
    handler: Handler,
    /// Arguments mirrored in `Mcp-Param-*` headers: (lower-case header
    /// suffix, property name), from `x-mcp-header` in the input schema.
    header_params: Arc<[(String, String)]>,
    /// Whether the handler may continue as a task (`ctx.start_task()`).
    tasks: bool,
    /// Scopes a principal needs to see and call the tool.
    scopes: Arc<[String]>,
    /// How long a call may run before it is stopped.
    timeout: Option<std::time::Duration>,
    /// Whether the audit log records the arguments, not only their digest.
    audit_arguments: bool,
    /// Only views may call it (MCP Apps `visibility: ["app"]`).
    app_only: bool,
}

impl ToolDef {
    /// A tool from its definition and an async handler.
    pub fn new<F, Fut>(tool: Tool, handler: F) -> Self
    where
        F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallToolResult> + Send + 'static,
    {
        let name = Arc::from(tool.name.as_str());
        let header_params = header_params(&tool.input_schema).into();
        Self {
            tool: Arc::new(tool),
            name,
            handler: Arc::new(move |call| Box::pin(handler(call))),
            header_params,
            tasks: false,
            scopes: Arc::from(Vec::new()),
            timeout: None,
            audit_arguments: false,
            app_only: false,
        }
        .with_ui_meta_of_tool()
    }

    /// Reads `app_only` back from a definition that already carries
    /// `_meta.ui` (built by hand or by a proxy).
    fn with_ui_meta_of_tool(mut self) -> Self {
        self.app_only =
            UiToolMeta::from_meta(self.tool.meta.as_ref()).is_some_and(|ui| ui.is_app_only());
        self
    }

    fn set_ui(mut self, edit: impl FnOnce(&mut UiToolMeta)) -> Self {
        let tool = Arc::make_mut(&mut self.tool);
        let mut ui = UiToolMeta::from_meta(tool.meta.as_ref()).unwrap_or_default();
        edit(&mut ui);
        self.app_only = ui.is_app_only();
        let meta = tool.meta.get_or_insert_with(serde_json::Map::new);
        if let Some(uri) = &ui.resource_uri {
            // Hosts written before `_meta.ui` read the flat key.
            meta.insert(LEGACY_RESOURCE_URI_META.into(), uri.clone().into());
        }
        if let Ok(value) = serde_json::to_value(&ui) {
            meta.insert(UI_META.into(), value);
        }
        self
    }

    /// Links the tool to an MCP Apps view: hosts that render views show
    /// its results in the `ui://` resource at `resource_uri`
    /// (`_meta.ui.resourceUri`); other clients get its content as usual.
    #[must_use]
    pub fn with_ui(self, resource_uri: impl Into<String>) -> Self {
        let uri = resource_uri.into();
        self.set_ui(|ui| ui.resource_uri = Some(uri))
    }

    /// Who may call the tool (`_meta.ui.visibility`). An app-only tool
    /// (`[Visibility::App]`) is callable by the views of a client that
    /// declared the MCP Apps extension and is left out of `tools/list` for
    /// other clients, whose model would otherwise see it; they cannot call
    /// it either.
    #[must_use]
    pub fn with_visibility(self, visibility: impl IntoIterator<Item = Visibility>) -> Self {
        let mut list: Vec<Visibility> = Vec::new();
        for v in visibility {
            if !list.contains(&v) {
                list.push(v);
            }
        }
        self.set_ui(|ui| ui.visibility = Some(list))
    }

    /// The tool's MCP Apps metadata (`_meta.ui`), if it has any.
    pub fn ui(&self) -> Option<UiToolMeta> {
        UiToolMeta::from_meta(self.tool.meta.as_ref())
    }

    /// Whether only views may call the tool.
    pub fn is_app_only(&self) -> bool {
        self.app_only
    }

    /// Records this tool's arguments in the audit log, not only their
    /// digest: for tools whose arguments hold nothing sensitive (no
    /// personal data, no secrets), where the values help an investigation.
    #[must_use]
    pub fn with_audited_arguments(mut self) -> Self {
        self.audit_arguments = true;
        self
    }

    /// Whether the audit log records the arguments.
    pub fn audits_arguments(&self) -> bool {
        self.audit_arguments
    }

    /// Stops a call that runs longer than `timeout`: the handler's future
    /// is dropped (so its work is cancelled at its next `.await`) and the
    /// caller gets a tool error saying so. Overrides the server's default
    /// ([`ServerBuilder::tool_timeout`](crate::ServerBuilder::tool_timeout)).
    /// A call that has become a task is not timed.
    #[must_use]
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The tool's own time limit, if it has one.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// Requires these scopes of authenticated callers: a principal without
    /// them does not see the tool in `tools/list` and is refused (HTTP 403)
    /// if it calls it. Unauthenticated transports (stdio) are not checked.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes a caller needs.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Lets the handler continue as a task (the 2026-07-28 tasks
    /// extension): once it calls
    /// [`RequestContext::start_task`](crate::RequestContext::start_task),
    /// a client that declared the extension gets a task handle and the
    /// handler goes on in the background.
    #[must_use]
    pub fn with_tasks(mut self) -> Self {
        self.tasks = true;
        self
    }

    /// Whether the handler may continue as a task.
    pub fn supports_tasks(&self) -> bool {
        self.tasks
    }

    /// Arguments that 2026-07-28 clients mirror in `Mcp-Param-*` headers.
    pub(crate) fn header_params(&self) -> &[(String, String)] {
        &self.header_params
    }

    /// The definition `tools/list` shows.
    pub fn tool(&self) -> &Tool {
        &self.tool
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn call(&self, call: ToolCall) -> BoxFuture<CallToolResult> {
        (self.handler)(call)
    }

    /// The same tool listed as `tool` (a mounted server's tool under its
    /// namespaced name); the handler still sees the name it was written for.
    pub(crate) fn relisted(
        &self,
        tool: Tool,
        map: impl Fn(CallToolResult) -> CallToolResult + Send + Sync + 'static,
    ) -> Self {
        let original = Arc::clone(&self.name);
        let handler = Arc::clone(&self.handler);
        let map = Arc::new(map);
        let mut def = self.clone();
        def.name = Arc::from(tool.name.as_str());
        def.tool = Arc::new(tool);
        def.handler = Arc::new(move |mut call: ToolCall| {
            call.name = Arc::clone(&original);
            let result = handler(call);
            let map = Arc::clone(&map);
            Box::pin(async move { map(result.await) })
        });
        def
    }
}

fn header_params(schema: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(property, schema)| {
            let header = schema.get("x-mcp-header")?.as_str()?;
            Some((header.to_ascii_lowercase(), property.clone()))
        })
        .collect()
}

impl fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef")
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Args {
        a: i64,
        b: i64,
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = parse_arguments::<Args>("add", Some(r#"{"a":1,"b":"x"}"#)).unwrap_err();
        let text = err.content[0].as_text().unwrap();
        assert!(err.is_error());
        assert!(
            text.starts_with("invalid arguments for tool `add`: `b`: invalid type"),
            "{text}"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse_arguments::<Args>("add", Some(r#"{"a":1}"#)).unwrap_err();
        assert_eq!(
            err.content[0].as_text(),
            Some("invalid arguments for tool `add`: missing field `b`")
        );
    }

    #[test]
    fn non_object_arguments_are_rejected() {
        let err = parse_arguments::<Args>("add", Some("[1,2]")).unwrap_err();
        assert!(
            err.content[0]
                .as_text()
                .unwrap()
                .contains("must be a JSON object")
        );
    }
}
