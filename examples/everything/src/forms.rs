//! The forms the elicitation fixtures ask for, as the JSON Schemas the
//! conformance suite expects.

use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The user's name.
pub(super) fn name() -> Map<String, Value> {
    object(json!({
        "type": "object",
        "properties": { "name": { "type": "string", "description": "Your name" } },
        "required": ["name"]
    }))
}

/// A username and an e-mail address.
pub(super) fn account() -> Map<String, Value> {
    object(json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "Your username" },
            "email": { "type": "string", "description": "Your e-mail address" }
        },
        "required": ["username", "email"]
    }))
}

/// Fields of every type, each with a default.
pub(super) fn defaults() -> Map<String, Value> {
    object(json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "Name", "default": "John Doe" },
            "age": { "type": "integer", "description": "Age", "default": 30 },
            "score": { "type": "number", "description": "Score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "Status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": { "type": "boolean", "description": "Verified", "default": true }
        }
    }))
}

/// Every kind of enum field: untitled, titled and legacy single choices,
/// untitled and titled multiple choices.
pub(super) fn enums() -> Map<String, Value> {
    let titled = |values: [(&str, &str); 3]| {
        values
            .iter()
            .map(|(value, title)| json!({ "const": value, "title": title }))
            .collect::<Vec<_>>()
    };
    object(json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Pick one",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Pick one",
                "oneOf": titled([("value1", "First Choice"), ("value2", "Second Choice"), ("value3", "Third Choice")])
            },
            "legacyEnum": {
                "type": "string",
                "description": "Pick one",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Pick some",
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
            },
            "titledMulti": {
                "type": "array",
                "description": "Pick some",
                "items": { "anyOf": titled([("value1", "First Choice"), ("value2", "Second Choice"), ("value3", "Third Choice")]) }
            }
        }
    }))
}

/// A favourite color.
pub(super) fn color() -> Map<String, Value> {
    object(json!({
        "type": "object",
        "properties": { "color": { "type": "string", "description": "A color" } },
        "required": ["color"]
    }))
}

/// Context for a prompt.
pub(super) fn context() -> Map<String, Value> {
    object(json!({
        "type": "object",
        "properties": { "context": { "type": "string", "description": "Some context" } },
        "required": ["context"]
    }))
}
