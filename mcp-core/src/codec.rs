//! Shapes outgoing messages for the revision they go to.
//!
//! Handlers build one revision-neutral value; before it is serialized,
//! [`Shape::shape`] removes or rewrites what the target revision does not
//! know, so a 2024-11-05 client never sees `structuredContent` and a
//! 2026-07-28 client gets `resultType`.
//!
//! ```
//! use mcp_core::codec::{Shape, encode_result};
//! use mcp_core::content::Content;
//! use mcp_core::tool::CallToolResult;
//! use mcp_core::ProtocolVersion;
//!
//! let mut result = CallToolResult {
//!     content: vec![Content::text("{\"n\":1}")],
//!     structured_content: Some(serde_json::json!({"n": 1})),
//!     ..CallToolResult::default()
//! };
//! let old = encode_result(&mut result.clone(), ProtocolVersion::V2024_11_05, None).unwrap();
//! assert!(!old.get().contains("structuredContent"));
//! let new = encode_result(&mut result, ProtocolVersion::V2026_07_28, None).unwrap();
//! assert!(new.get().contains(r#""resultType":"complete""#));
//! ```

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::completion::CompleteResult;
use crate::content::{Annotations, Content};
use crate::jsonrpc::{Message, Notification};
use crate::lifecycle::{DiscoverResult, Implementation, InitializeResult, ServerCapabilities};
use crate::logging::LoggingMessageParams;
use crate::meta;
use crate::notification::{CancelledParams, ProgressParams};
use crate::prompt::{GetPromptResult, ListPromptsResult, Prompt};
use crate::resource::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceTemplate, UriParams,
};
use crate::tool::{CallToolResult, ListToolsResult, Tool};
use crate::version::ProtocolVersion;

/// A message that can be shaped for one revision.
pub trait Shape {
    /// Rewrites `self` in place so it is valid on `version`.
    fn shape(&mut self, version: ProtocolVersion);
}

/// Shapes and serializes a result. On 2026-07-28 the result also gets
/// `resultType: "complete"` (unless it has one) and, when given, the
/// server's info under `_meta["io.modelcontextprotocol/serverInfo"]`.
///
/// # Errors
/// The result could not be serialized.
pub fn encode_result<T: Serialize + Shape>(
    result: &mut T,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    result.shape(version);
    if !version.has_result_type() {
        return serde_json::value::to_raw_value(result);
    }
    encode_value(serde_json::to_value(&*result)?, version, server_info)
}

/// Like [`encode_result`], for a result already built as JSON (such as the
/// empty result of `ping`).
///
/// # Errors
/// The value could not be serialized.
pub fn encode_value(
    mut value: Value,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    if version.has_result_type()
        && let Value::Object(map) = &mut value
    {
        map.entry("resultType")
            .or_insert_with(|| Value::from("complete"));
        if let Some(info) = server_info {
            let mut info = info.clone();
            info.shape(version);
            let meta = map
                .entry("_meta")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert(meta::SERVER_INFO.to_owned(), serde_json::to_value(info)?);
            }
        }
    }
    serde_json::value::to_raw_value(&value)
}

/// A notification, shaped for `version`.
///
/// # Errors
/// The params could not be serialized.
pub fn notification<T: Serialize + Shape>(
    method: &str,
    params: &mut T,
    version: ProtocolVersion,
) -> Result<Message, serde_json::Error> {
    params.shape(version);
    Ok(Message::Notification(Notification {
        method: method.to_owned(),
        params: Some(serde_json::value::to_raw_value(params)?),
    }))
}

/// Wraps a non-object schema as `{"result": <schema>}`, for revisions whose
/// `outputSchema` must be an object.
fn wrap_schema(schema: Map<String, Value>) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("result".into(), Value::Object(schema));
    let mut wrapped = Map::new();
    wrapped.insert("type".into(), "object".into());
    wrapped.insert("properties".into(), Value::Object(properties));
    wrapped.insert("required".into(), Value::Array(vec!["result".into()]));
    wrapped
}

fn is_object_schema(schema: &Map<String, Value>) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

impl Shape for Annotations {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_last_modified() {
            self.last_modified = None;
        }
    }
}

fn shape_annotations(annotations: &mut Option<Annotations>, version: ProtocolVersion) {
    if let Some(a) = annotations {
        a.shape(version);
        if *a == Annotations::default() {
            *annotations = None;
        }
    }
}

impl Shape for Content {
    fn shape(&mut self, version: ProtocolVersion) {
        match self {
            Content::Audio { mime_type, .. } if !version.has_audio() => {
                *self = Content::text(format!(
                    "[audio omitted: {mime_type}, not supported by protocol {version}]"
                ));
            }
            Content::ResourceLink(link) if !version.has_resource_links() => {
                let mut text = format!("[resource: {}]({})", link.name, link.uri);
                if let Some(description) = &link.description {
                    text.push_str(" - ");
                    text.push_str(description);
                }
                *self = Content::text(text);
            }
            Content::Text { annotations, .. }
            | Content::Image { annotations, .. }
            | Content::Audio { annotations, .. } => shape_annotations(annotations, version),
            Content::Resource { annotations, .. } => shape_annotations(annotations, version),
            Content::ResourceLink(link) => {
                shape_annotations(&mut link.annotations, version);
                if !version.has_titles() {
                    link.title = None;
                }
            }
        }
    }
}

impl Shape for Vec<Content> {
    fn shape(&mut self, version: ProtocolVersion) {
        for content in self {
            content.shape(version);
        }
    }
}

impl Shape for Tool {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_tool_annotations() {
            self.annotations = None;
        } else if !version.has_titles() {
            // 2025-03-26 has only `annotations.title`.
            if let Some(title) = self.title.take() {
                let annotations = self.annotations.get_or_insert_with(Default::default);
                annotations.title.get_or_insert(title);
            }
        }
        if !version.has_titles() {
            self.title = None;
        }
        if !version.has_icons() {
            self.icons = None;
        }
        if !version.has_structured_output() {
            self.output_schema = None;
        } else if !version.allows_non_object_output()
            && let Some(schema) = self.output_schema.take()
        {
            self.output_schema = Some(if is_object_schema(&schema) {
                schema
            } else {
                wrap_schema(schema)
            });
        }
    }
}

impl Shape for ListToolsResult {
    fn shape(&mut self, version: ProtocolVersion) {
        for tool in &mut self.tools {
            tool.shape(version);
        }
    }
}

impl Shape for CallToolResult {
    fn shape(&mut self, version: ProtocolVersion) {
        self.content.shape(version);
        if !version.has_structured_output() {
            self.structured_content = None;
        } else if !version.allows_non_object_output()
            && let Some(value) = self.structured_content.take()
        {
            self.structured_content = Some(if value.is_object() {
                value
            } else {
                let mut wrapped = Map::new();
                wrapped.insert("result".into(), value);
                Value::Object(wrapped)
            });
        }
    }
}

impl Shape for Implementation {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_titles() {
            self.title = None;
        }
        if !version.has_icons() {
            self.description = None;
            self.website_url = None;
            self.icons = None;
        }
    }
}

impl Shape for ServerCapabilities {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_completions_capability() {
            self.completions = None;
        }
        if version != ProtocolVersion::V2025_11_25 {
            self.tasks = None;
        }
        // Before 2026-07-28 tasks have their own `tasks` capability (on
        // 2025-11-25), so the tasks extension is not announced there; other
        // extensions (MCP Apps) are negotiated through `extensions` on every
        // revision, the open set of capabilities a server may add.
        if !version.is_stateless()
            && let Some(extensions) = &mut self.extensions
        {
            extensions.remove(crate::lifecycle::TASKS_EXTENSION);
            if extensions.is_empty() {
                self.extensions = None;
            }
        }
    }
}

impl Shape for InitializeResult {
    fn shape(&mut self, version: ProtocolVersion) {
        self.capabilities.shape(version);
        self.server_info.shape(version);
    }
}

impl Shape for DiscoverResult {
    fn shape(&mut self, version: ProtocolVersion) {
        self.capabilities.shape(version);
    }
}

impl Shape for ProgressParams {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_progress_message() {
            self.message = None;
        }
    }
}

impl Shape for LoggingMessageParams {
    fn shape(&mut self, _version: ProtocolVersion) {}
}

impl Shape for CancelledParams {
    fn shape(&mut self, _version: ProtocolVersion) {}
}

impl Shape for Prompt {
    fn shape(&mut self, version: ProtocolVersion) {
        if !version.has_titles() {
            self.title = None;
            for argument in &mut self.arguments {
                argument.title = None;
            }
        }
        if !version.has_icons() {
            self.icons = None;
        }
    }
}

impl Shape for ListPromptsResult {
    fn shape(&mut self, version: ProtocolVersion) {
        for prompt in &mut self.prompts {
            prompt.shape(version);
        }
    }
}

impl Shape for GetPromptResult {
    fn shape(&mut self, version: ProtocolVersion) {
        for message in &mut self.messages {
            message.content.shape(version);
        }
    }
}

macro_rules! shape_listed_resource {
    ($($t:ty),*) => {$(
        impl Shape for $t {
            fn shape(&mut self, version: ProtocolVersion) {
                shape_annotations(&mut self.annotations, version);
                if !version.has_titles() {
                    self.title = None;
                }
                if !version.has_icons() {
                    self.icons = None;
                }
            }
        }
    )*};
}
shape_listed_resource!(Resource, ResourceTemplate);

impl Shape for ListResourcesResult {
    fn shape(&mut self, version: ProtocolVersion) {
        for resource in &mut self.resources {
            resource.shape(version);
        }
    }
}

impl Shape for ListResourceTemplatesResult {
    fn shape(&mut self, version: ProtocolVersion) {
        for template in &mut self.resource_templates {
            template.shape(version);
        }
    }
}

/// Types that look the same on every revision.
macro_rules! shape_unchanged {
    ($($t:ty),*) => {$(
        impl Shape for $t {
            fn shape(&mut self, _version: ProtocolVersion) {}
        }
    )*};
}
shape_unchanged!(ReadResourceResult, CompleteResult, UriParams);

impl Shape for Value {
    fn shape(&mut self, _version: ProtocolVersion) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ResourceLink;
    use crate::tool::ToolAnnotations;
    use serde_json::json;

    fn tool() -> Tool {
        Tool {
            name: "t".into(),
            title: Some("T".into()),
            description: Some("d".into()),
            input_schema: Map::new(),
            output_schema: json!({"type": "array"}).as_object().cloned(),
            annotations: Some(ToolAnnotations {
                read_only_hint: Some(true),
                ..ToolAnnotations::default()
            }),
            icons: Some(vec![]),
            meta: None,
        }
    }

    #[test]
    fn tools_lose_what_older_revisions_lack() {
        let mut t = tool();
        t.shape(ProtocolVersion::V2024_11_05);
        assert_eq!(
            (t.title, t.annotations, t.icons, t.output_schema),
            (None, None, None, None)
        );

        let mut t = tool();
        t.shape(ProtocolVersion::V2025_03_26);
        assert_eq!(t.title, None);
        assert_eq!(t.annotations.unwrap().title.as_deref(), Some("T"));

        let mut t = tool();
        t.shape(ProtocolVersion::V2025_06_18);
        assert_eq!(t.title.as_deref(), Some("T"));
        assert_eq!(t.icons, None);
        assert_eq!(
            Value::Object(t.output_schema.unwrap()),
            json!({"type": "object", "properties": {"result": {"type": "array"}}, "required": ["result"]})
        );

        let mut t = tool();
        t.shape(ProtocolVersion::V2026_07_28);
        assert_eq!(
            Value::Object(t.output_schema.unwrap()),
            json!({"type": "array"})
        );
    }

    #[test]
    fn extensions_other_than_tasks_are_announced_on_every_revision() {
        let capabilities = || ServerCapabilities {
            extensions: json!({
                crate::lifecycle::TASKS_EXTENSION: {},
                crate::apps::UI_EXTENSION: {"mimeTypes": [crate::apps::UI_MIME_TYPE]},
            })
            .as_object()
            .cloned(),
            ..ServerCapabilities::default()
        };
        let mut stateless = capabilities();
        stateless.shape(ProtocolVersion::V2026_07_28);
        assert_eq!(stateless.extensions.map(|e| e.len()), Some(2));
        for version in [ProtocolVersion::V2024_11_05, ProtocolVersion::V2025_11_25] {
            let mut c = capabilities();
            c.shape(version);
            let extensions = c.extensions.unwrap();
            assert!(extensions.contains_key(crate::apps::UI_EXTENSION));
            assert!(!extensions.contains_key(crate::lifecycle::TASKS_EXTENSION));
        }
        let mut tasks_only = ServerCapabilities {
            extensions: json!({crate::lifecycle::TASKS_EXTENSION: {}})
                .as_object()
                .cloned(),
            ..ServerCapabilities::default()
        };
        tasks_only.shape(ProtocolVersion::V2025_11_25);
        assert_eq!(tasks_only.extensions, None);
    }

    #[test]
    fn results_wrap_non_object_structured_content() {
        let mut r = CallToolResult {
            structured_content: Some(json!([1, 2])),
            ..CallToolResult::default()
        };
        r.clone().shape(ProtocolVersion::V2026_07_28);
        r.shape(ProtocolVersion::V2025_11_25);
        assert_eq!(r.structured_content, Some(json!({"result": [1, 2]})));
    }

    #[test]
    fn content_degrades_to_text_where_unknown() {
        let mut audio = Content::audio("AAAA", "audio/wav");
        audio.shape(ProtocolVersion::V2024_11_05);
        assert!(audio.as_text().unwrap().contains("audio omitted"));
        let mut link = Content::ResourceLink(ResourceLink {
            uri: "file:///a".into(),
            name: "a".into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
        });
        link.shape(ProtocolVersion::V2025_03_26);
        assert_eq!(link.as_text(), Some("[resource: a](file:///a)"));
    }

    #[test]
    fn stateless_results_get_result_type_and_server_info() {
        let info = Implementation {
            name: "s".into(),
            version: "1".into(),
            ..Implementation::default()
        };
        let raw = encode_value(
            json!({"_meta": {"k": 1}}),
            ProtocolVersion::V2026_07_28,
            Some(&info),
        )
        .unwrap();
        let value: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(
            value,
            json!({"resultType": "complete", "_meta": {"k": 1, "io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}}})
        );
        let raw = encode_value(json!({}), ProtocolVersion::V2025_11_25, Some(&info)).unwrap();
        assert_eq!(raw.get(), "{}");
    }
}
