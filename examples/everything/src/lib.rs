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
//! everything::server().serve(mcp_server::transport::Http::bind("127.0.0.1:3001")).await
//! # }
//! ```

use std::time::Duration;

use base64::Engine as _;
use mcp_server::core::client::{CreateMessageParams, SamplingMessage};
use mcp_server::core::content::Role;
use mcp_server::core::prompt::{Prompt, PromptArgument};
use mcp_server::core::tool::Tool;
use mcp_server::prelude::*;
use mcp_server::{AskError, ClientCapability, Elicited, MissingCapability, ServerBuilder};

mod catalogue;
mod forms;

pub use catalogue::{
    DYNAMIC_PROMPT, WATCHED_RESOURCE, json_schema_2020_12_tool, prompts, resources,
};
use catalogue::{ask_model, ask_name, confirm, describe, field, simple_prompt, wav_tone};

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

    /// Registers `test_dynamic_tool` anew, so the tool list changes. It
    /// replaces the tool rather than adding or removing it: the catalogue
    /// of each replica is its own, and a toggle would leave replicas behind
    /// a balancer listing different tools.
    #[mcp_tool(idempotent)]
    async fn test_trigger_tool_change(&self, ctx: &RequestContext) -> String {
        ctx.server().add_tool(dynamic_tool::tool());
        format!("Replaced {DYNAMIC_TOOL}")
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

    /// Asks the client's model to answer a prompt (`sampling/createMessage`).
    #[mcp_tool(read_only)]
    async fn test_sampling(
        &self,
        /// What to ask the model.
        prompt: String,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let reply = ctx.sample("sampling", ask_model(&prompt)).await?;
        Ok(format!(
            "LLM response: {}",
            reply.content.as_text().unwrap_or("(no text)")
        ))
    }

    /// Asks the user for a username and an e-mail address.
    #[mcp_tool(read_only)]
    async fn test_elicitation(
        &self,
        /// What to tell the user.
        message: String,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let schema = forms::account();
        let answer = ctx
            .elicit_with_schema("elicitation", message, schema)
            .await?;
        Ok(describe(&answer))
    }

    /// Asks for a form whose fields all have typed defaults.
    #[mcp_tool(read_only)]
    async fn test_elicitation_sep1034_defaults(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let schema = forms::defaults();
        let answer = ctx
            .elicit_with_schema("defaults", "Check these details", schema)
            .await?;
        Ok(describe(&answer))
    }

    /// Asks for a form with every kind of enum field.
    #[mcp_tool(read_only)]
    async fn test_elicitation_sep1330_enums(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let schema = forms::enums();
        let answer = ctx.elicit_with_schema("enums", "Choose", schema).await?;
        Ok(describe(&answer))
    }

    /// Asks the user's name, then greets them.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_elicitation(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let name = ask_name(ctx, "user_name").await?;
        Ok(format!("Hello, {name}!"))
    }

    /// Asks the client's model a question.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_sampling(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let reply = ctx
            .sample(
                "capital_question",
                ask_model("What is the capital of France?"),
            )
            .await?;
        Ok(format!(
            "The model says: {}",
            reply.content.as_text().unwrap_or("")
        ))
    }

    /// Lists the client's roots.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_list_roots(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let roots = ctx.roots("client_roots").await?;
        let uris: Vec<_> = roots.roots.iter().map(|r| r.uri.as_str()).collect();
        Ok(format!("Roots: {}", uris.join(", ")))
    }

    /// Asks for a confirmation whose answer travels in the request state.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_request_state(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        Ok(format!("state-ok: {}", confirm(ctx).await?))
    }

    /// Asks three things at once: a name, a model reply and the roots.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_multiple_inputs(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let (name, greeting, roots) = tokio::join!(
            ask_name(ctx, "user_name"),
            ctx.sample("greeting", ask_model("Write a one-line greeting.")),
            ctx.roots("client_roots"),
        );
        let (name, greeting, roots) = (name?, greeting?, roots?);
        Ok(format!(
            "{name}: {} ({} roots)",
            greeting.content.as_text().unwrap_or(""),
            roots.roots.len()
        ))
    }

    /// Asks a name, then, in a second round, a favourite color.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_multi_round(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        let name = ask_name(ctx, "user_name").await?;
        let schema = forms::color();
        let color = match ctx
            .elicit_with_schema(
                "step2",
                format!("{name}, what is your favourite color?"),
                schema,
            )
            .await?
        {
            Elicited::Accepted(content) => field(&content, "color"),
            _ => "no color".into(),
        };
        Ok(format!("{name} likes {color}"))
    }

    /// Asks for a confirmation; a tampered request state is refused.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_tampered_state(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        Ok(format!("confirmed: {}", confirm(ctx).await?))
    }

    /// Asks only what the client can answer: a form if it can elicit,
    /// otherwise its model.
    #[mcp_tool(read_only)]
    async fn test_input_required_result_capabilities(
        &self,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        if ctx.has_capability(ClientCapability::Elicitation) {
            return Ok(format!("Hello, {}!", ask_name(ctx, "user_name").await?));
        }
        let reply = ctx.sample("fallback", ask_model("Suggest a name.")).await?;
        Ok(format!(
            "The model suggests: {}",
            reply.content.as_text().unwrap_or("")
        ))
    }

    /// Registers `test_dynamic_prompt` anew, so the prompt list changes
    /// (the same on every replica, as `test_trigger_tool_change`).
    #[mcp_tool(idempotent)]
    async fn test_trigger_prompt_change(&self, ctx: &RequestContext) -> String {
        ctx.server().add_prompt(dynamic_prompt());
        format!("Replaced {DYNAMIC_PROMPT}")
    }

    /// Tells the subscribers of `test://watched-resource` that it changed,
    /// on whichever replica they listen.
    #[mcp_tool(idempotent)]
    async fn test_update_watched_resource(&self, ctx: &RequestContext) -> &'static str {
        ctx.server().resource_updated(WATCHED_RESOURCE);
        "Updated test://watched-resource"
    }

    /// Computes for a while: as a task when the client supports tasks.
    #[mcp_tool(read_only, task)]
    async fn slow_compute(
        &self,
        /// How many seconds the computation takes.
        #[arg(default = 1.0)]
        seconds: f64,
        /// A label for the result.
        #[arg(default = "job")]
        label: String,
        ctx: &RequestContext,
    ) -> String {
        let seconds = seconds.clamp(0.0, 300.0);
        if seconds > 0.0 {
            ctx.start_task().await;
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        format!("{label}: computed for {seconds}s")
    }

    /// A job that only runs as a task, and fails with a tool error.
    #[mcp_tool(read_only, task)]
    async fn failing_job(&self, ctx: &RequestContext) -> Result<String, String> {
        ctx.require_tasks().map_err(|e| e.to_string())?;
        ctx.start_task().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        Err("the job failed: the input data was corrupt".into())
    }

    /// A job that ends with a JSON-RPC error.
    #[mcp_tool(read_only, task)]
    async fn protocol_error_job(&self, ctx: &RequestContext) -> &'static str {
        ctx.start_task().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        ctx.reject(mcp_server::core::ProtocolError::Internal(
            "the job's backend is unavailable".into(),
        ));
        ""
    }

    /// Deletes a file after the user confirms, as a task.
    #[mcp_tool(destructive, task)]
    async fn confirm_delete(
        &self,
        /// The file to delete.
        filename: String,
        ctx: &RequestContext,
    ) -> Result<String, AskError> {
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        struct ConfirmDelete {
            /// Delete the file?
            confirm: bool,
        }
        ctx.start_task().await;
        match ctx
            .elicit::<ConfirmDelete>("confirm", format!("Delete {filename}?"))
            .await?
        {
            Elicited::Accepted(ConfirmDelete { confirm: true }) => {
                Ok(format!("Deleted {filename}"))
            }
            _ => Ok(format!("Kept {filename}")),
        }
    }

    /// Asks two questions at once, as a task.
    #[mcp_tool(read_only, task)]
    async fn multi_input(&self, ctx: &RequestContext) -> Result<String, AskError> {
        ctx.start_task().await;
        let (first, second) =
            tokio::join!(ask_name(ctx, "first_name"), ask_name(ctx, "second_name"));
        Ok(format!("{} and {}", first?, second?))
    }

    /// Asks a name within the request, then finishes as a task.
    #[mcp_tool(read_only, task)]
    async fn test_tool_with_task(&self, ctx: &RequestContext) -> Result<String, AskError> {
        let name = ask_name(ctx, "user_name").await?;
        ctx.start_task().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(format!("Hello, {name}! (from a task)"))
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

/// The tool `test_trigger_tool_change` registers anew.
#[mcp_tool(name = "test_dynamic_tool", read_only)]
async fn dynamic_tool() -> &'static str {
    "This tool was added at run time."
}

fn dynamic_prompt() -> PromptDef {
    simple_prompt(DYNAMIC_PROMPT, "A prompt registered anew at run time.")
}

/// The conformance server: the fixture tools, prompts and resources.
pub fn server() -> Server {
    builder().build()
}

/// The server's builder, for settings added on top (such as
/// [`ServerBuilder::env_settings`]).
pub fn builder() -> ServerBuilder {
    let mut builder = Server::builder()
        .definition(Everything)
        .tool(json_schema_2020_12_tool())
        .tool(dynamic_tool::tool())
        .prompt(dynamic_prompt());
    for prompt in prompts() {
        builder = builder.prompt(prompt);
    }
    let (resources, templates) = resources();
    for resource in resources {
        builder = builder.resource(resource);
    }
    for template in templates {
        builder = builder.resource_template(template);
    }
    builder
}
