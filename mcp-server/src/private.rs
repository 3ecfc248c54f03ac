//! Support for the code `#[mcp_server]` and `#[mcp_tool]` generate. Not a
//! public API: it changes without notice.

pub use ::schemars;
pub use ::serde;
pub use ::serde_json;

pub use mcp_core::content::Icon;
pub use mcp_core::tool::{CallToolResult, Tool, ToolAnnotations};

pub use crate::context::RequestContext;
pub use crate::handler::{IntoToolOutput, ToolArg};
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
    crate::tool::parse_arguments(tool, arguments)
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

/// Compile-time check that a parameter type can be a tool argument; the
/// macro calls it spanned at the user's type so the error points there.
pub const fn assert_tool_arg<T: ToolArg>() {}

/// Runs a tool's future and turns its output into a result.
pub async fn into_result<F>(future: F) -> CallToolResult
where
    F: std::future::Future,
    F::Output: IntoToolOutput,
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
