//! MCP Apps (`io.modelcontextprotocol/ui`, SEP-1865): interactive views a
//! host renders in a sandboxed iframe, declared as `ui://` resources and
//! linked to tools through `_meta.ui`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::lifecycle::ClientCapabilities;

/// The extension's identifier, a key of `capabilities.extensions`.
pub const UI_EXTENSION: &str = "io.modelcontextprotocol/ui";
/// The MIME type of an HTML view.
pub const UI_MIME_TYPE: &str = "text/html;profile=mcp-app";
/// The URI scheme of views.
pub const UI_SCHEME: &str = "ui://";
/// The `_meta` key under which tools and resources carry their UI metadata.
pub const UI_META: &str = "ui";
/// The flat `_meta` key older hosts read a tool's view from (deprecated by
/// the extension in favour of `_meta.ui.resourceUri`).
pub const LEGACY_RESOURCE_URI_META: &str = "ui/resourceUri";

/// Origins a view may reach; each list maps to CSP directives the host
/// builds. Empty lists mean none (the secure default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiCsp {
    /// `fetch`, XHR and WebSocket origins (`connect-src`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect_domains: Vec<String>,
    /// Origins of scripts, images, styles, fonts and media.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_domains: Vec<String>,
    /// Origins of nested iframes (`frame-src`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_domains: Vec<String>,
    /// Allowed document base URIs (`base-uri`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_uri_domains: Vec<String>,
}

impl UiCsp {
    /// Whether no origin is declared.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Browser features a view asks for; the host may grant them through the
/// iframe's `allow` attribute. Each is an empty object on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiPermissions {
    /// `camera`.
    #[serde(default, with = "present", skip_serializing_if = "is_false")]
    pub camera: bool,
    /// `microphone`.
    #[serde(default, with = "present", skip_serializing_if = "is_false")]
    pub microphone: bool,
    /// `geolocation`.
    #[serde(default, with = "present", skip_serializing_if = "is_false")]
    pub geolocation: bool,
    /// `clipboard-write`.
    #[serde(default, with = "present", skip_serializing_if = "is_false")]
    pub clipboard_write: bool,
}

impl UiPermissions {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// A permission is asked for by its presence, as `{}`.
mod present {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::{Map, Value};

    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(super) fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        if *value {
            serializer.collect_map(Map::<String, Value>::new())
        } else {
            serializer.serialize_none()
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<bool, D::Error> {
        // Any value but `null` and `false` asks for the feature.
        let value = Option::<Value>::deserialize(deserializer)?;
        Ok(!matches!(
            value,
            None | Some(Value::Null | Value::Bool(false))
        ))
    }
}

/// `_meta.ui` of a view: on its `resources/list` entry and on the contents
/// `resources/read` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiResourceMeta {
    /// Origins the view may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csp: Option<UiCsp>,
    /// Browser features the view asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<UiPermissions>,
    /// A dedicated sandbox origin; its format is the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Whether the host draws a border and background around the view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefers_border: Option<bool>,
}

/// Who may call a tool linked to a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The model sees the tool and may call it.
    Model,
    /// Views of this server may call it.
    App,
}

impl Visibility {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::App => "app",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "model" => Some(Self::Model),
            "app" => Some(Self::App),
            _ => None,
        }
    }
}

/// `_meta.ui` of a tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiToolMeta {
    /// The `ui://` view that renders the tool's results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
    /// Who may call the tool; absent means `["model", "app"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Vec<Visibility>>,
}

impl UiToolMeta {
    /// Whether only views may call the tool: the model must not see it.
    pub fn is_app_only(&self) -> bool {
        self.visibility
            .as_ref()
            .is_some_and(|v| !v.contains(&Visibility::Model))
    }

    /// Reads `_meta.ui` of a tool, if it has a valid one.
    pub fn from_meta(meta: Option<&Map<String, Value>>) -> Option<Self> {
        let ui = meta?.get(UI_META)?;
        serde_json::from_value(ui.clone()).ok()
    }
}

/// What a client declared under `extensions["io.modelcontextprotocol/ui"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiClientSupport {
    /// The view content types the host renders.
    #[serde(default)]
    pub mime_types: Vec<String>,
}

impl UiClientSupport {
    /// Whether the host renders HTML views.
    pub fn renders_html(&self) -> bool {
        self.mime_types.iter().any(|m| same_mime(m, UI_MIME_TYPE))
    }
}

/// MIME types compared without case and spaces around `;`.
fn same_mime(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(';')
            .map(|part| part.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

impl ClientCapabilities {
    /// The client's MCP Apps support, when it declared the extension (on
    /// any revision: hosts send `capabilities.extensions` on older ones too).
    pub fn ui(&self) -> Option<UiClientSupport> {
        let declared = self.extensions.as_ref()?.get(UI_EXTENSION)?;
        Some(serde_json::from_value(declared.clone()).unwrap_or_default())
    }

    /// Whether the client renders HTML views
    /// (`text/html;profile=mcp-app`).
    pub fn renders_ui(&self) -> bool {
        self.ui().is_some_and(|ui| ui.renders_html())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resource_meta_round_trips_in_the_wire_shape() {
        let meta = UiResourceMeta {
            csp: Some(UiCsp {
                connect_domains: vec!["https://api.example.com".into()],
                ..UiCsp::default()
            }),
            permissions: Some(UiPermissions {
                clipboard_write: true,
                ..UiPermissions::default()
            }),
            domain: Some("crm.example.com".into()),
            prefers_border: Some(true),
        };
        let wire = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            wire,
            json!({
                "csp": {"connectDomains": ["https://api.example.com"]},
                "permissions": {"clipboardWrite": {}},
                "domain": "crm.example.com",
                "prefersBorder": true
            })
        );
        assert_eq!(
            serde_json::from_value::<UiResourceMeta>(wire).unwrap(),
            meta
        );
    }

    #[test]
    fn tool_meta_knows_app_only_tools() {
        let both: UiToolMeta = serde_json::from_value(json!({"resourceUri": "ui://a"})).unwrap();
        assert!(!both.is_app_only());
        let app: UiToolMeta = serde_json::from_value(json!({"visibility": ["app"]})).unwrap();
        assert!(app.is_app_only());
        assert!(serde_json::from_value::<UiToolMeta>(json!({"visibility": ["user"]})).is_err());
    }

    #[test]
    fn client_support_is_read_from_extensions() {
        let caps: ClientCapabilities = serde_json::from_value(json!({
            "extensions": {UI_EXTENSION: {"mimeTypes": ["text/html; profile=mcp-app"]}}
        }))
        .unwrap();
        assert!(caps.renders_ui());
        let other: ClientCapabilities = serde_json::from_value(
            json!({"extensions": {UI_EXTENSION: {"mimeTypes": ["text/uri-list"]}}}),
        )
        .unwrap();
        assert!(other.ui().is_some() && !other.renders_ui());
        assert!(!ClientCapabilities::default().renders_ui());
    }
}
