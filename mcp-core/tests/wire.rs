//! What each revision puts on the wire, and how malformed input is answered.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use mcp_core::ProtocolVersion;
use mcp_core::codec::{self, encode_result};
use mcp_core::content::{
    Annotations, Content, Icon, ResourceContents, ResourceLink, Role, TextResourceContents,
};
use mcp_core::error::ProtocolError;
use mcp_core::jsonrpc::{Incoming, Message, error_code};
use mcp_core::lifecycle::{
    CacheHints, CacheScope, DiscoverResult, Implementation, InitializeResult,
    ListChangedCapability, ServerCapabilities,
};
use mcp_core::meta::ProgressToken;
use mcp_core::notification::ProgressParams;
use mcp_core::tool::{CallToolResult, ListToolsResult, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("not an object"),
    }
}

fn name(version: ProtocolVersion) -> String {
    version.as_str().replace('-', "_")
}

fn server_info() -> Implementation {
    Implementation {
        name: "wire".into(),
        version: "1.0.0".into(),
        title: Some("Wire".into()),
        description: Some("A server".into()),
        website_url: Some("https://example.com".into()),
        icons: Some(vec![Icon {
            src: "https://example.com/i.png".into(),
            mime_type: Some("image/png".into()),
            sizes: Some(vec!["48x48".into()]),
            theme: None,
        }]),
    }
}

fn tools() -> ListToolsResult {
    let tool = |name: &str, output: Value| Tool {
        name: name.into(),
        title: Some(format!("{name} title")),
        description: Some(format!("{name} description")),
        input_schema: object(json!({"type": "object", "properties": {"q": {"type": "string"}}})),
        output_schema: Some(object(output)),
        annotations: Some(ToolAnnotations {
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            ..ToolAnnotations::default()
        }),
        icons: Some(vec![Icon {
            src: "https://example.com/t.png".into(),
            mime_type: None,
            sizes: None,
            theme: Some("dark".into()),
        }]),
        meta: None,
    };
    ListToolsResult {
        tools: vec![
            tool(
                "object_out",
                json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            ),
            tool(
                "array_out",
                json!({"type": "array", "items": {"type": "integer"}}),
            ),
        ],
        next_cursor: None,
    }
}

fn call_result() -> CallToolResult {
    CallToolResult {
        content: vec![
            Content::Text {
                text: "hi".into(),
                annotations: Some(Annotations {
                    audience: Some(vec![Role::User]),
                    priority: Some(0.5),
                    last_modified: Some("2026-01-01T00:00:00Z".into()),
                }),
            },
            Content::image("iVBORw0KGgo=", "image/png"),
            Content::audio("UklGRg==", "audio/wav"),
            Content::ResourceLink(ResourceLink {
                uri: "file:///notes.txt".into(),
                name: "notes".into(),
                title: Some("Notes".into()),
                description: Some("My notes".into()),
                mime_type: Some("text/plain".into()),
                size: Some(12),
                annotations: None,
            }),
            Content::Resource {
                resource: ResourceContents::Text(TextResourceContents {
                    uri: "file:///a.txt".into(),
                    mime_type: Some("text/plain".into()),
                    text: "a".into(),
                    meta: None,
                }),
                annotations: None,
            },
        ],
        structured_content: Some(json!([1, 2, 3])),
        is_error: None,
        meta: None,
    }
}

fn encode<T: serde::Serialize + codec::Shape>(mut value: T, version: ProtocolVersion) -> Value {
    let info = version.is_stateless().then(server_info);
    let raw = encode_result(&mut value, version, info.as_ref()).unwrap();
    serde_json::from_str(raw.get()).unwrap()
}

#[test]
fn tools_list_per_revision() {
    for version in ProtocolVersion::ALL {
        insta::assert_json_snapshot!(
            format!("tools_list__{}", name(version)),
            encode(tools(), version)
        );
    }
}

#[test]
fn call_result_per_revision() {
    for version in ProtocolVersion::ALL {
        insta::assert_json_snapshot!(
            format!("call_result__{}", name(version)),
            encode(call_result(), version)
        );
    }
}

#[test]
fn initialize_and_discover_results() {
    let capabilities = ServerCapabilities {
        tools: Some(ListChangedCapability {
            list_changed: Some(true),
        }),
        completions: Some(Map::new()),
        tasks: Some(Map::new()),
        extensions: Some(Map::new()),
        ..ServerCapabilities::default()
    };
    for version in ProtocolVersion::ALL {
        if version.is_stateless() {
            let result = DiscoverResult {
                supported_versions: ProtocolVersion::ALL
                    .iter()
                    .rev()
                    .map(|v| v.as_str().into())
                    .collect(),
                capabilities: capabilities.clone(),
                instructions: Some("Use it.".into()),
                cache: Some(CacheHints {
                    ttl_ms: 60_000,
                    cache_scope: CacheScope::Public,
                }),
            };
            insta::assert_json_snapshot!(
                format!("discover__{}", name(version)),
                encode(result, version)
            );
        } else {
            let result = InitializeResult {
                protocol_version: version.as_str().into(),
                capabilities: capabilities.clone(),
                server_info: server_info(),
                instructions: Some("Use it.".into()),
            };
            insta::assert_json_snapshot!(
                format!("initialize__{}", name(version)),
                encode(result, version)
            );
        }
    }
}

#[test]
fn progress_message_only_where_known() {
    for version in [ProtocolVersion::V2024_11_05, ProtocolVersion::V2025_03_26] {
        let mut params = ProgressParams {
            progress_token: ProgressToken::String("p".into()),
            progress: 1.0,
            total: Some(2.0),
            message: Some("half".into()),
        };
        let message = codec::notification("notifications/progress", &mut params, version).unwrap();
        insta::assert_json_snapshot!(
            format!("progress__{}", name(version)),
            message_json(&message)
        );
    }
}

fn message_json(message: &Message) -> Value {
    serde_json::to_value(message).unwrap()
}

#[test]
fn error_codes_per_revision() {
    let cases = [
        ProtocolError::MethodNotFound("ping".into()),
        ProtocolError::UnknownTool("nope".into()),
        ProtocolError::UnsupportedProtocolVersion {
            requested: "2099-01-01".into(),
            supported: ProtocolVersion::ALL.to_vec(),
        },
        ProtocolError::ResourceNotFound {
            uri: "file:///missing".into(),
        },
    ];
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let objects: Vec<Value> = cases
            .iter()
            .map(|e| serde_json::to_value(e.to_error_object(version)).unwrap())
            .collect();
        insta::assert_json_snapshot!(format!("errors__{}", name(version)), objects);
    }
    let missing = ProtocolError::ResourceNotFound { uri: "u".into() };
    assert_eq!(
        missing.to_error_object(ProtocolVersion::V2025_06_18).code,
        error_code::RESOURCE_NOT_FOUND
    );
    assert_eq!(
        missing.to_error_object(ProtocolVersion::V2026_07_28).code,
        error_code::INVALID_PARAMS
    );
}

fn parse_error(input: &str) -> (Option<Value>, i32, String) {
    let e = Message::parse(input).unwrap_err();
    (
        e.id.map(|id| serde_json::to_value(id).unwrap()),
        e.error.code,
        e.error.message,
    )
}

#[test]
fn malformed_input_gets_precise_errors() {
    for garbage in [
        "",
        "not json",
        "{",
        r#"{"jsonrpc":"2.0","id":1,"method":"x""#,
        "\u{0}",
    ] {
        let (id, code, message) = parse_error(garbage);
        assert_eq!((id, code), (None, error_code::PARSE_ERROR), "{garbage:?}");
        assert!(message.starts_with("parse error"), "{message}");
    }
    let cases = [
        ("42", "expected a JSON-RPC 2.0 message object"),
        (r#""text""#, "expected a JSON-RPC 2.0 message object"),
        (r#"{"id":1,"method":"x"}"#, "missing `jsonrpc"),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            "`jsonrpc` must be \"2.0\"",
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            "`id` must be a string or an integer",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            "`id` must be a string or an integer",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#,
            "`params` must be an object",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#,
            "not a request, notification or response",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1}"#,
            "not a request, notification or response",
        ),
    ];
    for (input, expected) in cases {
        let (_, code, message) = parse_error(input);
        assert_eq!(code, error_code::INVALID_REQUEST, "{input}");
        assert!(message.contains(expected), "{input}: {message}");
    }
    // The id is kept when it could be read, so the client can match the error.
    let (id, _, _) = parse_error(r#"{"jsonrpc":"1.0","id":"abc","method":"x"}"#);
    assert_eq!(id, Some(json!("abc")));
    assert!(matches!(Incoming::parse("[]"), Err(e) if e.error.code == error_code::INVALID_REQUEST));
}

#[test]
fn deep_nesting_and_odd_bytes_never_panic() {
    let deep = "[".repeat(100_000);
    assert!(Message::parse(&deep).is_err());
    assert!(Incoming::parse(&deep).is_err());
    let deep_object = format!(
        "{}{}",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"#.to_owned() + &"{\"a\":".repeat(10_000),
        "1"
    );
    assert!(Message::parse(&deep_object).is_err());
    for input in [
        "\u{feff}{}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"\\ud800\"}",
        "[1,2,",
        "nul\u{0}l",
    ] {
        let _ = Message::parse(input);
        let _ = Incoming::parse(input);
    }
}

#[test]
fn errors_about_huge_messages_stay_short() {
    // serde quotes the offending value; a megabyte string must not come back.
    let line = format!("\"{}\"", "日".repeat(100_000));
    let Err(error) = Incoming::parse(&line) else {
        panic!("a bare string is not a message");
    };
    assert_eq!(error.error.code, error_code::INVALID_REQUEST);
    assert!(error.error.message.len() < 400, "{}", error.error.message);
}

#[test]
fn parsing_owned_text_agrees_with_parsing_borrowed_text() {
    let large = format!("\"{}\"", "say \\\"日本\\\"\\n".repeat(10_000));
    let mut inputs: Vec<String> = [
        "",
        "{",
        "42",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#,
        r#"{"jsonrpc":"1.0","id":"abc","method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1}}"#,
        r#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"x"}]"#,
    ]
    .map(str::to_owned)
    .into();
    for (before, after) in [("", ""), (" \n\t", " \r\n "), ("", "  ")] {
        inputs.push(format!(
            r#"{before}{{"params" : {{"name":"echo","arguments":{{"message":{large}}}}} , "jsonrpc":"2.0","id":"r\"1","method":"tools/call"}}{after}"#
        ));
        inputs.push(format!(
            r#"{before}{{"jsonrpc":"2.0","method":"n","params":[{large}]}}{after}"#
        ));
        inputs.push(format!(
            r#"{before}{{"jsonrpc":"2.0","id":7,"result":{{"text":{large}}}}}{after}"#
        ));
        inputs.push(format!(
            r#"{before}{{"jsonrpc":"2.0","id":7,"method":"x","params":{large}}}{after}"#
        ));
        inputs.push(format!(
            r#"{before}{{"jsonrpc":"2.0","id":7,"method":"x","params":{{"a":{large}}},"params":{{}}}}{after}"#
        ));
    }
    for input in &inputs {
        assert_eq!(
            format!("{:?}", Incoming::parse_owned(input.clone())),
            format!("{:?}", Incoming::parse(input)),
            "{}",
            &input[..input.len().min(120)]
        );
    }
}

#[test]
fn large_params_are_kept_in_the_texts_own_buffer() {
    let text = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{}"}}}}}}"#,
        "x".repeat(1 << 20)
    );
    let (at, len) = (text.as_ptr(), text.len());
    let Ok(Message::Request(request)) = Message::parse_owned(text) else {
        panic!("a request");
    };
    let params = request.params.unwrap();
    assert_eq!(
        params.get().len(),
        len - r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":}"#.len()
    );
    assert!(params.get().starts_with(r#"{"name":"echo","arguments""#));
    assert_eq!(params.get().as_ptr(), at, "moved, not copied");
}
