//! How the model is told about the workspace tools, and how its replies
//! are read.
//!
//! The sampling API carries text, so tools are described in the system
//! prompt and a tool request is a reply that is one JSON object:
//!
//! ```json
//! {"tool": "read_file", "arguments": {"path": "notes/todo.md"}}
//! ```
//!
//! optionally inside a Markdown code fence. `{"final": "..."}` is a final
//! answer, and so is any reply that is not a tool request (plain text). A
//! tool's outcome goes back to the model as a user message:
//!
//! ```json
//! {"tool_result": {"tool": "read_file", "ok": true, "result": {"path": "notes/todo.md", "size": 5, "content": "hello"}}}
//! ```
//!
//! or `"ok": false` with `"error"`.

use serde_json::{Map, Value, json};

/// The tools the model may call, with their arguments.
pub const TOOLS: &[(&str, &str)] = &[
    ("read_file", r#"{"path": string} - the text of a file"#),
    (
        "write_file",
        r#"{"path": string, "content": string} - create or replace a file (missing directories are created)"#,
    ),
    (
        "list_files",
        r#"{"path"?: string (default "."), "recursive"?: bool} - the entries of a directory"#,
    ),
    (
        "search_files",
        r#"{"pattern": string, "regex"?: bool, "case_insensitive"?: bool, "path"?: string} - the lines of files under path containing pattern"#,
    ),
    (
        "diff_files",
        r#"{"path": string, "against"?: string, "content"?: string} - a unified diff from a file to another file, or to proposed content (give one of the two)"#,
    ),
];

/// The system prompt of every sampling request.
pub fn system_prompt() -> String {
    let mut prompt = String::from(
        "You are an assistant working in a workspace directory through tools. \
         Paths are relative to the workspace root; absolute paths and `..` are refused.\n\n\
         To call a tool, reply with exactly one JSON object and nothing else:\n\
         {\"tool\": \"<name>\", \"arguments\": {...}}\n\
         The result comes back as {\"tool_result\": {\"tool\": ..., \"ok\": true, \"result\": ...}} \
         or {\"tool_result\": {\"tool\": ..., \"ok\": false, \"error\": \"...\"}}.\n\
         Call one tool per reply. When you are done, reply with {\"final\": \"<your answer>\"} \
         (plain text is taken as the final answer too).\n\nTools:\n",
    );
    for (name, description) in TOOLS {
        prompt.push_str("- ");
        prompt.push_str(name);
        prompt.push_str(": ");
        prompt.push_str(description);
        prompt.push('\n');
    }
    prompt
}

/// What the model's reply asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Run a tool.
    Tool {
        /// Its name (not checked here).
        name: String,
        /// Its arguments.
        arguments: Map<String, Value>,
    },
    /// The final answer.
    Final(String),
}

/// Reads a reply: a tool request, an explicit final answer, or plain text.
pub fn parse_reply(text: &str) -> Reply {
    let trimmed = strip_fence(text.trim());
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed) else {
        return Reply::Final(text.trim().to_owned());
    };
    if let Some(Value::String(name)) = object.get("tool") {
        let arguments = match object.get("arguments") {
            Some(Value::Object(arguments)) => arguments.clone(),
            _ => Map::new(),
        };
        return Reply::Tool {
            name: name.clone(),
            arguments,
        };
    }
    match object.get("final") {
        Some(Value::String(answer)) => Reply::Final(answer.clone()),
        Some(other) => Reply::Final(other.to_string()),
        None => Reply::Final(text.trim().to_owned()),
    }
}

/// The body of a Markdown code fence, or the text itself.
fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return text;
    };
    // Skip the info string (`json`) on the opening line.
    body.split_once('\n').map_or(body, |(_, body)| body).trim()
}

/// The message that gives the model a tool's outcome.
pub fn tool_result(name: &str, outcome: &Result<Value, String>) -> String {
    let body = match outcome {
        Ok(result) => json!({"tool": name, "ok": true, "result": result}),
        Err(error) => json!({"tool": name, "ok": false, "error": error}),
    };
    json!({ "tool_result": body }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let tool = parse_reply(
            "```json\n{\"tool\": \"read_file\", \"arguments\": {\"path\": \"a\"}}\n```",
        );
        assert_eq!(
            tool,
            Reply::Tool {
                name: "read_file".into(),
                arguments: json!({"path": "a"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            }
        );
        assert_eq!(
            parse_reply("{\"final\": \"done\"}"),
            Reply::Final("done".into())
        );
        assert_eq!(parse_reply(" just text "), Reply::Final("just text".into()));
        assert_eq!(
            parse_reply("{\"other\": 1}"),
            Reply::Final("{\"other\": 1}".into())
        );
        assert!(system_prompt().contains("- diff_files: "));
    }
}
