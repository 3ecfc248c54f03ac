//! How each message is shaped for each revision.

use serde_json::{Map, Value};

use crate::completion::CompleteResult;
use crate::content::{Annotations, Content};
use crate::lifecycle::{DiscoverResult, Implementation, InitializeResult, ServerCapabilities};
use crate::logging::LoggingMessageParams;
use crate::notification::{CancelledParams, ProgressParams};
use crate::prompt::{GetPromptResult, ListPromptsResult, Prompt};
use crate::resource::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceTemplate, UriParams,
};
use crate::tool::{CallToolResult, ListToolsResult, Tool};
use crate::version::ProtocolVersion;

use super::Shape;

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
    fn json_size_hint(&self) -> usize {
        self.content
            .iter()
            .map(|content| match content {
                Content::Text { text, .. } => text.len(),
                Content::Image { data, .. } | Content::Audio { data, .. } => data.len(),
                _ => 0,
            })
            .sum()
    }

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
