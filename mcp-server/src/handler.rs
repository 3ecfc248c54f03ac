//! How tool arguments come in and tool results go out.

use std::borrow::Cow;
use std::fmt::Display;

use mcp_core::content::Content;
use mcp_core::tool::CallToolResult;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::schema;

/// A boxed, sendable future.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// The result of a tool call, built by hand for full control.
pub type ToolResult = CallToolResult;

/// A value a tool can return.
///
/// Implemented for text (`String`, `&'static str`, numbers, `bool`), content
/// (`Content`, `Vec<Content>`), structured output ([`Structured<T>`]), [`ToolResult`]
/// and `Result<T, E>` where `E: Display`: an `Err` becomes a result with
/// `isError: true`, which the model can read and act on, not a protocol error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool result",
    label = "this return type cannot be turned into a tool result",
    note = "return `String` for text, `Structured<T>` for structured output, `Content` or `Vec<Content>`, `ToolResult`, or `Result<T, E>` with `E: Display`; or implement `IntoToolResult`"
)]
pub trait IntoToolResult {
    /// The JSON Schema of the structured output, for the tool's `outputSchema`.
    fn output_schema() -> Option<Map<String, Value>> {
        None
    }

    /// Converts the value into a tool result.
    fn into_tool_result(self) -> CallToolResult;
}

/// Structured tool output: sent as `structuredContent`, mirrored as JSON text
/// for clients that read only `content`, and described by an `outputSchema`
/// derived from `T`.
///
/// ```
/// use mcp_server::prelude::*;
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Stats { words: u64 }
///
/// let result = Structured(Stats { words: 2 }).into_tool_result();
/// assert_eq!(result.structured_content, Some(serde_json::json!({ "words": 2 })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Structured<T>(pub T);

impl<T: Serialize + JsonSchema> IntoToolResult for Structured<T> {
    fn output_schema() -> Option<Map<String, Value>> {
        Some(schema::output_schema_for::<T>())
    }

    fn into_tool_result(self) -> CallToolResult {
        match serde_json::to_value(&self.0) {
            Ok(value) => {
                let text = value.to_string();
                CallToolResult {
                    content: vec![Content::text(text)],
                    structured_content: Some(value),
                    ..CallToolResult::default()
                }
            }
            Err(e) => CallToolResult::error(format!("failed to serialize the tool output: {e}")),
        }
    }
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> CallToolResult {
        self
    }
}

impl IntoToolResult for Content {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![self])
    }
}

impl IntoToolResult for Vec<Content> {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(self)
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![Content::text(self)])
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![Content::text(self)])
    }
}

impl IntoToolResult for Cow<'static, str> {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![Content::text(self)])
    }
}

impl IntoToolResult for () {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(Vec::new())
    }
}

macro_rules! display_output {
    ($($t:ty),*) => {$(
        impl IntoToolResult for $t {
            fn into_tool_result(self) -> CallToolResult {
                CallToolResult::success(vec![Content::text(self.to_string())])
            }
        }
    )*};
}
display_output!(
    bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl<T: IntoToolResult, E: Display> IntoToolResult for Result<T, E> {
    fn output_schema() -> Option<Map<String, Value>> {
        T::output_schema()
    }

    fn into_tool_result(self) -> CallToolResult {
        match self {
            Ok(value) => value.into_tool_result(),
            Err(e) => CallToolResult::error(e.to_string()),
        }
    }
}

/// A type a tool can take as an argument: anything serde can deserialize and
/// schemars can describe.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool argument",
    label = "not `Deserialize` + `JsonSchema`",
    note = "arguments come from the call's JSON `arguments`: derive `serde::Deserialize` and `mcp_server::schemars::JsonSchema`, or reach shared state through `&self`"
)]
pub trait ToolArg: DeserializeOwned + JsonSchema {}

impl<T: DeserializeOwned + JsonSchema> ToolArg for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_becomes_is_error_result() {
        let r: Result<String, String> = Err("no such contact".into());
        let result = r.into_tool_result();
        assert!(result.is_error());
        assert_eq!(result.content[0].as_text(), Some("no such contact"));
    }

    #[test]
    fn json_mirrors_structured_content_as_text() {
        let result = Structured(serde_json::json!({"a": 1})).into_tool_result();
        assert_eq!(result.content[0].as_text(), Some(r#"{"a":1}"#));
        assert_eq!(result.structured_content, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn numbers_are_text() {
        assert_eq!(5i64.into_tool_result().content[0].as_text(), Some("5"));
        assert_eq!(2.0f64.into_tool_result().content[0].as_text(), Some("2"));
    }
}
