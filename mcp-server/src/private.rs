//! Support for the code `#[mcp_server]` and `#[mcp_tool]` generate. Not a
//! public API: it changes without notice.

pub use ::schemars;
pub use ::serde;
pub use ::serde_json;

pub use mcp_core::apps::Visibility;
pub use mcp_core::content::Icon;
pub use mcp_core::tool::{CallToolResult, Tool, ToolAnnotations};

pub use crate::context::RequestContext;
pub use crate::handler::{IntoToolResult, ToolArg};
pub use crate::schema::{input_schema_for, output_schema_for};
pub use crate::server::{ServerDefinition, ServerInfo};
pub use crate::tool::{BoxFuture, ToolCall, ToolDef};

use std::fmt::Display;

use serde_json::{Map, Value};

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Deserializes a call's arguments into the generated argument struct.
///
/// # Errors
/// An `isError` result naming the failing field.
pub fn parse_arguments<T: DeserializeOwned>(
    tool: &str,
    arguments: Option<&RawValue>,
) -> Result<T, CallToolResult> {
    crate::tool::parse_arguments(tool, arguments.map(RawValue::get))
}

/// Deserializes a call's arguments into the generated argument struct, then
/// lets go of their raw text: the typed arguments are all a tool keeps, so a
/// large call does not hold its arguments twice while the tool runs.
///
/// # Errors
/// An `isError` result naming the failing field.
pub fn take_arguments<T: DeserializeOwned>(call: &mut ToolCall) -> Result<T, CallToolResult> {
    let parsed = crate::tool::parse_arguments(call.name(), call.arguments_text());
    call.release_arguments();
    parsed
}

/// Checks `value` against an inclusive range from `#[arg(range(..))]`.
///
/// # Errors
/// An `isError` result naming the argument and the bound it broke.
pub fn check_range<T: PartialOrd + Display>(
    tool: &str,
    argument: &str,
    value: &T,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), CallToolResult> {
    if let Some(min) = min
        && *value < min
    {
        return Err(CallToolResult::error(format!(
            "invalid arguments for tool `{tool}`: `{argument}` must be at least {min}, got {value}"
        )));
    }
    if let Some(max) = max
        && *value > max
    {
        return Err(CallToolResult::error(format!(
            "invalid arguments for tool `{tool}`: `{argument}` must be at most {max}, got {value}"
        )));
    }
    Ok(())
}

/// What `#[arg(length(..))]` measures: the characters of a string (as JSON
/// Schema's `maxLength` counts them), the items of a list.
#[diagnostic::on_unimplemented(
    message = "`#[arg(length(..))]` does not apply to `{Self}`",
    label = "not a string or a list",
    note = "`length` bounds the characters of a `String` or the items of a `Vec`; bound numbers with `range`"
)]
pub trait ArgLength {
    /// The length.
    fn arg_length(&self) -> usize;
    /// What the length counts, singular and plural, for the error message.
    const UNIT: [&'static str; 2];
}

impl ArgLength for String {
    fn arg_length(&self) -> usize {
        self.chars().count()
    }
    const UNIT: [&'static str; 2] = ["character", "characters"];
}

impl<T> ArgLength for Vec<T> {
    fn arg_length(&self) -> usize {
        self.len()
    }
    const UNIT: [&'static str; 2] = ["item", "items"];
}

/// Checks the length of `value` against `#[arg(length(..))]`.
///
/// # Errors
/// An `isError` result naming the argument and the bound it broke; the
/// value itself is not quoted back.
pub fn check_length<T: ArgLength>(
    tool: &str,
    argument: &str,
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), CallToolResult> {
    let length = value.arg_length();
    let unit = |n: usize| T::UNIT[usize::from(n != 1)];
    if let Some(min) = min
        && length < min
    {
        return Err(CallToolResult::error(format!(
            "invalid arguments for tool `{tool}`: `{argument}` must have at least {min} {}, got {length}",
            unit(min)
        )));
    }
    if let Some(max) = max
        && length > max
    {
        return Err(CallToolResult::error(format!(
            "invalid arguments for tool `{tool}`: `{argument}` must have at most {max} {}, got {length}",
            unit(max)
        )));
    }
    Ok(())
}

/// Compile-time check that a parameter type can be a tool argument; the
/// macro calls it spanned at the user's type so the error points there.
pub const fn assert_tool_arg<T: ToolArg>() {}

/// Runs a tool's future and turns its output into a result.
pub async fn into_result<F>(future: F) -> CallToolResult
where
    F: std::future::Future,
    F::Output: IntoToolResult,
{
    future.await.into_tool_result()
}

/// Identity for `ServerDefinition::info`.
pub fn server_info(
    name: &str,
    version: &str,
    title: Option<&str>,
    instructions: Option<&str>,
) -> ServerInfo {
    let mut info = ServerInfo::new(name, version);
    info.implementation.title = title.map(str::to_owned);
    info.instructions = instructions.map(str::to_owned);
    info
}

/// A tool definition from the macro's parts.
#[allow(clippy::too_many_arguments)]
pub fn tool_definition(
    name: &str,
    title: Option<&str>,
    description: &str,
    input_schema: Map<String, Value>,
    output_schema: Option<Map<String, Value>>,
    annotations: Option<ToolAnnotations>,
    icons: &[&str],
) -> Tool {
    Tool {
        name: name.to_owned(),
        title: title.map(str::to_owned),
        description: (!description.is_empty()).then(|| description.to_owned()),
        input_schema,
        output_schema,
        annotations,
        icons: (!icons.is_empty()).then(|| {
            icons
                .iter()
                .map(|src| Icon {
                    src: (*src).to_owned(),
                    mime_type: None,
                    sizes: None,
                    theme: None,
                })
                .collect()
        }),
        meta: None,
    }
}

/// Tool annotations from the macro's flags; `None` when nothing is set.
pub fn annotations(
    title: Option<&str>,
    read_only: Option<bool>,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    open_world: Option<bool>,
) -> Option<ToolAnnotations> {
    let annotations = ToolAnnotations {
        title: title.map(str::to_owned),
        read_only_hint: read_only,
        destructive_hint: destructive,
        idempotent_hint: idempotent,
        open_world_hint: open_world,
    };
    (!annotations.is_empty()).then_some(annotations)
}

pub use crate::completion::{CompletionRequest, Completions};
pub use crate::prompt::{IntoPromptResult, PromptCall, PromptDef};
pub use crate::resource::{
    IntoResourceResult, ResourceCall, ResourceDef, ResourceError, ResourceTemplateDef,
    UriTemplateError,
};
pub use mcp_core::ProtocolError;

use mcp_core::content::ResourceContents;
use mcp_core::prompt::{GetPromptResult, Prompt, PromptArgument};
use mcp_core::resource::{Resource, ResourceTemplate};

/// A prompt argument type: parsed from its string with `FromStr`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a prompt argument: prompt arguments are strings on the wire and are parsed with `FromStr`",
    label = "`{Self}` does not implement `FromStr` (with an error that implements `Display`)",
    note = "use `String`, a number, `bool`, or a type that implements `FromStr`; make it optional with `Option<T>`"
)]
pub trait PromptArg {}

impl<T> PromptArg for T
where
    T: std::str::FromStr,
    T::Err: Display,
{
}

/// Compile-time check that a parameter type can be a prompt argument or a
/// resource template variable.
pub const fn assert_prompt_arg<T: PromptArg>() {}

/// A prompt definition from the macro's parts: (name, description, required).
pub fn prompt_definition(
    name: &str,
    title: Option<&str>,
    description: &str,
    arguments: Vec<(&str, &str, bool)>,
) -> Prompt {
    Prompt {
        name: name.to_owned(),
        title: title.map(str::to_owned),
        description: (!description.is_empty()).then(|| description.to_owned()),
        arguments: arguments
            .into_iter()
            .map(|(name, description, required)| PromptArgument {
                name: name.to_owned(),
                title: None,
                description: (!description.is_empty()).then(|| description.to_owned()),
                required: Some(required),
            })
            .collect(),
        icons: None,
        meta: None,
    }
}

/// A required prompt argument.
///
/// # Errors
/// -32602 when it is missing or does not parse.
pub fn prompt_required<T>(call: &PromptCall, name: &str) -> Result<T, ProtocolError>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    call.require(name)
}

/// An optional prompt argument.
///
/// # Errors
/// -32602 when it does not parse.
pub fn prompt_optional<T>(call: &PromptCall, name: &str) -> Result<Option<T>, ProtocolError>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    call.parse(name)
}

/// A generated prompt handler's outcome, protocol errors kept as they are.
#[derive(Debug)]
pub struct PromptOutcome(pub Result<GetPromptResult, ProtocolError>);

impl IntoPromptResult for PromptOutcome {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        self.0
    }
}

/// A static resource's listing entry from the macro's parts.
pub fn resource_definition(
    uri: &str,
    name: &str,
    title: Option<&str>,
    description: &str,
    mime_type: Option<&str>,
) -> Resource {
    Resource {
        uri: uri.to_owned(),
        name: name.to_owned(),
        title: title.map(str::to_owned),
        description: (!description.is_empty()).then(|| description.to_owned()),
        mime_type: mime_type.map(str::to_owned),
        size: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

/// A resource template's listing entry from the macro's parts.
pub fn template_definition(
    uri_template: &str,
    name: &str,
    title: Option<&str>,
    description: &str,
    mime_type: Option<&str>,
) -> ResourceTemplate {
    ResourceTemplate {
        uri_template: uri_template.to_owned(),
        name: name.to_owned(),
        title: title.map(str::to_owned),
        description: (!description.is_empty()).then(|| description.to_owned()),
        mime_type: mime_type.map(str::to_owned),
        annotations: None,
        icons: None,
        meta: None,
    }
}

/// A generated resource handler's outcome.
#[derive(Debug)]
pub struct ResourceOutcome(pub Result<Vec<ResourceContents>, ResourceError>);

impl IntoResourceResult for ResourceOutcome {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        self.0
    }
}

/// Converts a resource handler's return value for `call`'s URI.
pub fn resource_outcome<R: IntoResourceResult>(
    value: R,
    uri: &str,
    mime_type: Option<&str>,
) -> ResourceOutcome {
    ResourceOutcome(value.into_contents(uri, mime_type))
}

/// Compile-time check of a resource handler's return type.
pub const fn assert_resource_output<R: IntoResourceResult>() {}

/// A template the macro validated; logged and skipped if it still fails.
pub fn template_or_log(
    template: Result<ResourceTemplateDef, UriTemplateError>,
) -> Option<ResourceTemplateDef> {
    template
        .inspect_err(|e| tracing::error!(error = %e, "resource template skipped"))
        .ok()
}

/// `_meta.ui` of a view declared with `#[mcp_resource("ui://..", ui(..))]`.
#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
pub fn ui_resource_meta(
    connect_domains: &[&str],
    resource_domains: &[&str],
    frame_domains: &[&str],
    base_uri_domains: &[&str],
    permissions: [bool; 4],
    domain: Option<&str>,
    prefers_border: Option<bool>,
) -> mcp_core::apps::UiResourceMeta {
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let csp = mcp_core::apps::UiCsp {
        connect_domains: owned(connect_domains),
        resource_domains: owned(resource_domains),
        frame_domains: owned(frame_domains),
        base_uri_domains: owned(base_uri_domains),
    };
    let [camera, microphone, geolocation, clipboard_write] = permissions;
    let permissions = mcp_core::apps::UiPermissions {
        camera,
        microphone,
        geolocation,
        clipboard_write,
    };
    mcp_core::apps::UiResourceMeta {
        csp: (!csp.is_empty()).then_some(csp),
        permissions: (!permissions.is_empty()).then_some(permissions),
        domain: domain.map(str::to_owned),
        prefers_border,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_and_items() {
        assert!(check_length("t", "name", &"ééé".to_owned(), Some(3), Some(3)).is_ok());
        let long = check_length("t", "name", &"x".repeat(201), None, Some(200)).unwrap_err();
        let text = serde_json::to_value(&long).unwrap()["content"][0]["text"].clone();
        assert_eq!(
            text,
            "invalid arguments for tool `t`: `name` must have at most 200 characters, got 201"
        );
        let short = check_length("t", "tags", &Vec::<String>::new(), Some(1), None).unwrap_err();
        let text = serde_json::to_value(&short).unwrap()["content"][0]["text"].clone();
        assert_eq!(
            text,
            "invalid arguments for tool `t`: `tags` must have at least 1 item, got 0"
        );
    }
}
