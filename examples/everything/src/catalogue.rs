//! The prompts and resources the conformance suite expects, the helpers
//! the tools ask the client with, and generated content.

use super::*;

/// The name of the prompt `test_trigger_prompt_change` registers anew.
pub const DYNAMIC_PROMPT: &str = "test_dynamic_prompt";

/// The resource clients subscribe to, and `test_update_watched_resource`
/// changes.
pub const WATCHED_RESOURCE: &str = "test://watched-resource";

pub(super) fn ask_model(question: &str) -> CreateMessageParams {
    CreateMessageParams {
        messages: vec![SamplingMessage {
            role: Role::User,
            content: Content::text(question),
        }],
        max_tokens: 100,
        system_prompt: None,
        temperature: None,
        model_preferences: None,
    }
}

pub(super) fn field(content: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    match content.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => format!("(no {name})"),
    }
}

pub(super) fn describe(answer: &Elicited<serde_json::Map<String, serde_json::Value>>) -> String {
    match answer {
        Elicited::Accepted(content) => format!(
            "User action: accept, content: {}",
            serde_json::Value::Object(content.clone())
        ),
        Elicited::Declined => "User action: decline".into(),
        Elicited::Cancelled => "User action: cancel".into(),
    }
}

pub(super) async fn ask_name(ctx: &RequestContext, key: &str) -> Result<String, AskError> {
    let schema = forms::name();
    Ok(
        match ctx
            .elicit_with_schema(key, "What is your name?", schema)
            .await?
        {
            Elicited::Accepted(content) => field(&content, "name"),
            _ => "stranger".into(),
        },
    )
}

pub(super) async fn confirm(ctx: &RequestContext) -> Result<bool, AskError> {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Confirm {
        /// Go ahead?
        ok: bool,
    }
    Ok(matches!(
        ctx.elicit::<Confirm>("confirm", "Go ahead?").await?,
        Elicited::Accepted(Confirm { ok: true })
    ))
}

pub(super) fn simple_prompt(name: &str, description: &str) -> PromptDef {
    let prompt = Prompt {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        arguments: Vec::new(),
        icons: None,
        meta: None,
    };
    PromptDef::new(prompt, |_call: PromptCall| async {
        "This is a simple prompt for testing."
    })
}

pub(super) fn argument(name: &str, description: &str) -> PromptArgument {
    PromptArgument {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        required: Some(true),
    }
}

/// The fixture prompts.
pub fn prompts() -> Vec<PromptDef> {
    let with_arguments = PromptDef::new(
        Prompt {
            name: "test_prompt_with_arguments".into(),
            title: None,
            description: Some("A prompt with two required arguments.".into()),
            arguments: vec![
                argument("arg1", "First argument"),
                argument("arg2", "Second argument"),
            ],
            icons: None,
            meta: None,
        },
        |call: PromptCall| async move {
            let arg1: String = call.require("arg1")?;
            let arg2: String = call.require("arg2")?;
            Ok::<_, mcp_server::core::ProtocolError>(format!(
                "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
            ))
        },
    )
    .complete("arg1", |request| async move {
        Completions::matching(["test", "testing", "tested", "value"], &request.value)
    });
    let embedded = PromptDef::new(
        Prompt {
            name: "test_prompt_with_embedded_resource".into(),
            title: None,
            description: Some("A prompt that embeds a resource.".into()),
            arguments: vec![argument("resourceUri", "The resource to embed")],
            icons: None,
            meta: None,
        },
        |call: PromptCall| async move {
            let uri: String = call.require("resourceUri")?;
            Ok::<_, mcp_server::core::ProtocolError>(vec![
                PromptMessage::user(Content::embedded_text(
                    uri,
                    "text/plain",
                    "Embedded resource content for testing.",
                )),
                PromptMessage::user("Please process the embedded resource above."),
            ])
        },
    );
    let image = PromptDef::new(
        Prompt {
            name: "test_prompt_with_image".into(),
            title: None,
            description: Some("A prompt with an image.".into()),
            arguments: Vec::new(),
            icons: None,
            meta: None,
        },
        |_call: PromptCall| async {
            vec![
                PromptMessage::user(Content::image(PNG, "image/png")),
                PromptMessage::user("Please analyze the image above."),
            ]
        },
    );
    let asks = PromptDef::new(
        Prompt {
            name: "test_input_required_result_prompt".into(),
            title: None,
            description: Some("A prompt that first asks the user for context.".into()),
            arguments: Vec::new(),
            icons: None,
            meta: None,
        },
        |call: PromptCall| async move {
            let schema = forms::context();
            let context = match call
                .context()
                .elicit_with_schema(
                    "user_context",
                    "What context should the prompt use?",
                    schema,
                )
                .await
            {
                Ok(Elicited::Accepted(content)) => field(&content, "context"),
                Ok(_) => "no context".into(),
                Err(e) => return Err(e),
            };
            Ok(format!("Use this context: {context}"))
        },
    );
    vec![
        simple_prompt("test_simple_prompt", "A simple prompt without arguments."),
        with_arguments,
        embedded,
        image,
        asks,
    ]
}

/// The fixture resources: static text, binary, a watched one, and a template.
pub fn resources() -> (Vec<ResourceDef>, Vec<ResourceTemplateDef>) {
    let text = ResourceDef::new(
        "test://static-text",
        "static-text",
        Some("text/plain"),
        |_call| async { "This is the content of the static text resource." },
    )
    .description("A static text resource.");
    let binary = ResourceDef::new(
        "test://static-binary",
        "static-binary",
        Some("image/png"),
        |_call| async {
            base64::engine::general_purpose::STANDARD
                .decode(PNG)
                .unwrap_or_default()
        },
    )
    .description("A static binary resource (a PNG).");
    let watched = ResourceDef::new(
        WATCHED_RESOURCE,
        "watched-resource",
        Some("text/plain"),
        |_call| async { "A resource clients can subscribe to." },
    )
    .description("A resource that can be subscribed to.");
    let template = ResourceTemplateDef::new(
        "test://template/{id}/data",
        "template-data",
        Some("application/json"),
        |call: ResourceCall| async move {
            let id = call.variable("id").unwrap_or_default().to_owned();
            serde_json::json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                .to_string()
        },
    )
    .map(|t| {
        t.description("Data for an id.").complete("id", |request| async move {
            Completions::matching(["1", "2", "3", "123"], &request.value)
        })
    });
    (vec![text, binary, watched], template.into_iter().collect())
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

/// A 0.1 s 440 Hz tone as a base64 16-bit mono WAV file.
pub(super) fn wav_tone() -> String {
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
