//! The server the official MCP conformance suite tests.
//!
//! Every fixture is written the way a user of the framework would write it:
//! `#[mcp_tool]` methods with typed arguments, and one hand-built
//! [`ToolDef`] where the suite needs a JSON Schema exactly as written.
//! Served over Streamable HTTP it answers both the stateful 2025-11-25 wire
//! and the stateless 2026-07-28 wire on one endpoint.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_server::ServerError> {
//! everything::server().serve_http("127.0.0.1:3001").await
//! # }
//! ```

use std::time::Duration;

use base64::Engine as _;
use mcp_server::core::tool::Tool;
use mcp_server::prelude::*;
use mcp_server::{ClientCapability, MissingCapability};

/// A 1x1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// The name of the tool `test_trigger_tool_change` adds and removes.
pub const DYNAMIC_TOOL: &str = "test_dynamic_tool";

/// The conformance fixture server.
#[derive(Debug, Default)]
pub struct Everything;

#[mcp_server(
    name = "mcp-conformance-everything",
    title = "Everything",
    instructions = "Fixtures for the MCP conformance suite: content types, progress, logging, errors and protocol edge cases."
)]
impl Everything {
    /// Returns a simple text response.
    #[mcp_tool(read_only)]
    async fn test_simple_text(&self) -> &'static str {
        "This is a simple text response for testing."
    }

    /// Returns an image (a base64 PNG).
    #[mcp_tool(read_only)]
    async fn test_image_content(&self) -> Content {
        Content::image(PNG, "image/png")
    }

    /// Returns audio (a base64 WAV tone).
    #[mcp_tool(read_only)]
    async fn test_audio_content(&self) -> Content {
        Content::audio(wav_tone(), "audio/wav")
    }

    /// Returns an embedded text resource.
    #[mcp_tool(read_only)]
    async fn test_embedded_resource(&self) -> Content {
        Content::embedded_text(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        )
    }

    /// Returns text, an image and an embedded resource together.
    #[mcp_tool(read_only)]
    async fn test_multiple_content_types(&self) -> Vec<Content> {
        vec![
            Content::text("Multiple content types test:"),
            Content::image(PNG, "image/png"),
            Content::embedded_text(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            ),
        ]
    }

    /// Always fails, as a tool error the model can read.
    #[mcp_tool(read_only)]
    async fn test_error_handling(&self) -> Result<String, String> {
        Err("This tool intentionally returns an error for testing".into())
    }

    /// Reports progress 0, 50 and 100 out of 100, then answers.
    #[mcp_tool(read_only)]
    async fn test_tool_with_progress(&self, ctx: &RequestContext) -> &'static str {
        for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ctx.progress(step, Some(100.0), Some(&format!("{step}% done")))
                .await;
        }
        "Progress test completed"
    }

    /// Sends three info log messages while it works.
    #[mcp_tool(read_only)]
    async fn test_tool_with_logging(&self, ctx: &RequestContext) -> &'static str {
        let steps = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (i, message) in steps.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ctx.log(LoggingLevel::Info, Some("everything"), message)
                .await;
        }
        "Logging test completed"
    }

    /// Logs one message; clients that did not ask for logs get none.
    #[mcp_tool(read_only)]
    async fn test_logging_tool(&self, ctx: &RequestContext) -> &'static str {
        ctx.log(
            LoggingLevel::Info,
            Some("everything"),
            "test_logging_tool ran",
        )
        .await;
        "Logged a message at info level"
    }

    /// Needs the client's sampling capability, and refuses to run without it.
    #[mcp_tool(read_only)]
    async fn test_missing_capability(
        &self,
        ctx: &RequestContext,
    ) -> Result<&'static str, MissingCapability> {
        ctx.require(ClientCapability::Sampling)?;
        Ok("The client declared sampling")
    }

    /// Answers at once on its own stream, and never sends the client a
    /// request there.
    #[mcp_tool(read_only)]
    async fn test_streaming_elicitation(&self, ctx: &RequestContext) -> String {
        let can_elicit = ctx.has_capability(ClientCapability::Elicitation);
        format!(
            "Answered on the response stream without a server request (client can elicit: {can_elicit})"
        )
    }

    /// Adds or removes `test_dynamic_tool`, so the tool list changes.
    #[mcp_tool(idempotent)]
    async fn test_trigger_tool_change(&self, ctx: &RequestContext) -> String {
        let server = ctx.server();
        if server.remove_tool(DYNAMIC_TOOL) {
            format!("Removed {DYNAMIC_TOOL}")
        } else {
            server.add_tool(dynamic_tool::tool());
            format!("Added {DYNAMIC_TOOL}")
        }
    }

    /// Echoes a value that 2026-07-28 clients also send in the
    /// `Mcp-Param-Value` header.
    #[mcp_tool(read_only)]
    async fn test_custom_header(
        &self,
        /// Any text; it travels in the body and in the header.
        #[arg(header = "Value")]
        value: String,
    ) -> String {
        format!("Received: {value}")
    }

    /// Answers on the POST's own stream.
    #[mcp_tool(read_only)]
    async fn test_reconnection(&self) -> &'static str {
        tokio::time::sleep(Duration::from_millis(100)).await;
        "Reconnection test completed"
    }

    /// Greets someone by name.
    #[mcp_tool(read_only)]
    async fn greet(
        &self,
        /// Who to greet.
        name: String,
    ) -> String {
        format!("Hello, {name}!")
    }
}

/// A tool that exists only between calls of `test_trigger_tool_change`.
#[mcp_tool(name = "test_dynamic_tool", read_only)]
async fn dynamic_tool() -> &'static str {
    "This tool was added at run time."
}

/// A tool whose input schema uses JSON Schema 2020-12 keywords, served
/// exactly as written: `$schema`, `$defs` with an `$anchor`, `$ref`,
/// `allOf`/`anyOf`, `if`/`then`/`else` and `additionalProperties`.
pub fn json_schema_2020_12_tool() -> ToolDef {
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" }
                }
            }
        },
        "properties": {
            "name": { "type": "string", "description": "The contact's name." },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [
            { "anyOf": [ { "required": ["phone"] }, { "required": ["email"] } ] }
        ],
        "if": {
            "properties": { "contactMethod": { "const": "phone" } },
            "required": ["contactMethod"]
        },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    });
    let input_schema = match schema {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let tool = Tool {
        name: "json_schema_2020_12_tool".into(),
        title: None,
        description: Some("Accepts a contact described with JSON Schema 2020-12 keywords.".into()),
        input_schema,
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    ToolDef::new(tool, |call: ToolCall| async move {
        let arguments = call
            .raw_arguments()
            .map_or_else(|| "{}".to_owned(), |raw| raw.get().to_owned());
        ToolResult::success(vec![Content::text(format!("Received: {arguments}"))])
    })
}

/// The conformance server: the fixture tools and the 2020-12 schema tool.
pub fn server() -> Server {
    Server::builder()
        .definition(Everything)
        .tool(json_schema_2020_12_tool())
        .build()
}

/// A 0.1 s 440 Hz tone as a base64 16-bit mono WAV file.
fn wav_tone() -> String {
    const RATE: u32 = 8_000;
    const SAMPLES: u32 = 800;
    let mut wav = Vec::with_capacity(44 + 2 * SAMPLES as usize);
    let data_len = 2 * SAMPLES;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..SAMPLES {
        let phase = 2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / f64::from(RATE);
        // The amplitude stays well inside i16, so the cast cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        let sample = (phase.sin() * 8_000.0) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(wav)
}
