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

/// Compile-time check that a return type can be a tool result.
pub const fn assert_tool_output<T: IntoToolOutput>() {}

/// Runs a tool's future and turns its output into a result.
pub async fn into_result<F>(future: F) -> CallToolResult
where
    F: std::future::Future,
    F::Output: IntoToolOutput,
{
    future.await.into_tool_result()
}
