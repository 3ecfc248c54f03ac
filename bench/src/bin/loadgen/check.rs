//! Requests as sent, and answers as checked.

use serde_json::{Value, json};

use crate::{Error, SESSION_VERSION, message as expected};

/// The `tools/call` body, with the 2026-07-28 `_meta` when `stateless`.
pub(crate) fn call(id: u64, stateless: bool) -> String {
    let mut params = json!({"name": "echo", "arguments": {"message": expected()}});
    if stateless {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

/// The `initialize` body.
pub(crate) fn initialize(id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": SESSION_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "loadgen", "version": "0.0.0"},
    }})
    .to_string()
}

/// The `notifications/initialized` body.
pub(crate) const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The id of a JSON-RPC response, or `None` for a server request or
/// notification (which the load generator skips).
pub(crate) fn response_id(message: &Value) -> Option<u64> {
    if message.get("method").is_some() {
        return None;
    }
    message.get("id").and_then(Value::as_u64)
}

/// Checks that `message` answers a call with the message echoed as text.
pub(crate) fn echoed(message: &Value) -> Result<(), Error> {
    let text = message
        .pointer("/result/content/0/text")
        .and_then(Value::as_str);
    if text == Some(expected()) {
        Ok(())
    } else {
        let mut shown = message.to_string();
        if shown.len() > 500 {
            // A large message is not worth printing whole.
            shown.truncate(shown.floor_char_boundary(500));
            shown.push('…');
        }
        Err(format!("not the echoed message: {shown}").into())
    }
}

/// Checks that `message` is a successful `initialize` answer.
pub(crate) fn initialized(message: &Value) -> Result<(), Error> {
    if message.pointer("/result/protocolVersion").is_some() {
        Ok(())
    } else {
        Err(format!("initialize failed: {message}").into())
    }
}

/// The JSON-RPC response in an HTTP body: the body itself when it is JSON,
/// or the SSE event whose data is a response.
pub(crate) fn http_response(content_type: &str, body: &[u8]) -> Result<Value, Error> {
    if !content_type.starts_with("text/event-stream") {
        return Ok(serde_json::from_slice(body)?);
    }
    let text = std::str::from_utf8(body)?;
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim_start()).ok())
        .find(|message| response_id(message).is_some())
        .ok_or_else(|| format!("no response in the event stream: {text:?}").into())
}

#[cfg(test)]
mod tests {
    use super::{echoed, http_response};
    use crate::{Error, SENTENCE as MESSAGE};

    #[test]
    fn answers_are_found_in_json_and_in_event_streams() -> Result<(), Error> {
        let answer = format!(
            r#"{{"jsonrpc":"2.0","id":3,"result":{{"content":[{{"type":"text","text":"{MESSAGE}"}}]}}}}"#
        );
        echoed(&http_response("application/json", answer.as_bytes())?)?;
        // A priming event with empty data, a server notification, then the
        // answer, as rmcp and ours send them.
        let stream = format!(
            "data: \nid: 0\nretry: 3000\n\n\
             data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{}}}}\n\n\
             data: {answer}\n\n"
        );
        echoed(&http_response("text/event-stream", stream.as_bytes())?)?;
        Ok(())
    }

    #[test]
    fn a_wrong_or_missing_answer_is_an_error() -> Result<(), Error> {
        let other =
            r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"no"}]}}"#;
        assert!(echoed(&http_response("application/json", other.as_bytes())?).is_err());
        let failed = r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad"}}"#;
        assert!(echoed(&http_response("application/json", failed.as_bytes())?).is_err());
        assert!(http_response("text/event-stream", b"data: \n\n").is_err());
        Ok(())
    }
}
