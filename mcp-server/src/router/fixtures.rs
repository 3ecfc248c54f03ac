//! Requests, tools and servers for the router's unit tests.

use mcp_core::jsonrpc::{Request, RequestId};
use mcp_core::tool::{CallToolResult, Tool};
use serde_json::Value;

use crate::tool::{ToolCall, ToolDef};

/// A request with `params` (none when `Value::Null`).
pub(super) fn request(method: &str, params: Value) -> Request {
    Request {
        id: RequestId::Number(1),
        method: method.to_owned(),
        params: (!params.is_null())
            .then(|| serde_json::value::to_raw_value(&params).expect("params are plain JSON")),
    }
}

/// A tool named `name` that answers with an empty result.
pub(crate) fn tool(name: &str) -> ToolDef {
    ToolDef::new(definition(name), |_: ToolCall| async {
        CallToolResult::default()
    })
}

/// A tool named `name` that answers with an empty result once it has
/// yielded: it is still pending at its first poll.
pub(crate) fn yielding_tool(name: &str) -> ToolDef {
    ToolDef::new(definition(name), |_: ToolCall| async {
        tokio::task::yield_now().await;
        CallToolResult::default()
    })
}

fn definition(name: &str) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: None,
        input_schema: serde_json::from_value(serde_json::json!({"type": "object"}))
            .expect("an object schema"),
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

/// The JSON of an encoded result.
pub(super) fn json(raw: &serde_json::value::RawValue) -> Value {
    serde_json::from_str(raw.get()).expect("results are JSON")
}
