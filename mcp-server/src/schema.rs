//! JSON Schemas for tool arguments and outputs, shaped for real clients.
//!
//! schemars produces draft 2020-12 schemas. Several popular clients choke on
//! parts of them, so the schemas MCP clients see have no `$schema` key, no
//! root `title`, subschemas inlined instead of `$ref`s into `$defs` (recursive
//! types keep their `$defs`), and, in input schemas, `Option<T>` as an
//! optional `T`, not a nullable union (output schemas keep the `null` that
//! `None` serializes to).

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        s.meta_schema = None;
        s.inline_subschemas = true;
    })
}

/// `optional_not_null`: inputs omit absent fields, so `Option<T>` becomes an
/// optional `T`; outputs serialize `None` as `null`, so their schema keeps it.
fn schema_object_for<T: JsonSchema>(optional_not_null: bool) -> Map<String, Value> {
    let schema = settings().into_generator().into_root_schema_for::<T>();
    let mut map = match Value::from(schema) {
        Value::Object(map) => map,
        // `true` accepts anything: an empty object schema says the same.
        _ => Map::new(),
    };
    map.remove("$schema");
    map.remove("title");
    if optional_not_null {
        strip_optional_nulls(&mut map);
    }
    strip_numeric_formats(&mut map);
    map
}

/// schemars marks numbers with formats such as `uint32` and `double`, which
/// are not JSON Schema formats: validators warn about them and models gain
/// nothing. Bounds (`minimum`, `maximum`) still say what fits.
fn strip_numeric_formats(schema: &mut Map<String, Value>) {
    const NUMERIC: &[&str] = &[
        "int", "int8", "int16", "int32", "int64", "int128", "uint", "uint8", "uint16", "uint32",
        "uint64", "uint128", "float", "double",
    ];
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| NUMERIC.contains(&f))
    {
        schema.remove("format");
    }
    for value in schema.values_mut() {
        match value {
            Value::Object(child) => strip_numeric_formats(child),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(child) = item {
                        strip_numeric_formats(child);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Turns `Option<T>` properties (schemars: `T` or null) into plain optional
/// `T` properties: several clients reject or mishandle nullable unions, and a
/// missing argument already means "none".
fn strip_optional_nulls(schema: &mut Map<String, Value>) {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let Value::Object(property) = property else {
                continue;
            };
            if !required.contains(name) {
                remove_null(property);
            }
            strip_optional_nulls(property);
        }
    }
    if let Some(Value::Object(items)) = schema.get_mut("items") {
        strip_optional_nulls(items);
    }
}

fn remove_null(schema: &mut Map<String, Value>) {
    if schema.get("default").is_some_and(Value::is_null) {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            schema.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(variants)) = schema.get_mut(key) else {
            continue;
        };
        variants.retain(|v| {
            v.get("type").is_none_or(|t| t != "null") || v.as_object().is_some_and(|o| o.len() > 1)
        });
        if variants.len() == 1
            && let Some(Value::Object(only)) = variants.pop()
        {
            schema.remove(key);
            for (k, v) in only {
                schema.entry(k).or_insert(v);
            }
        }
    }
}

/// The `inputSchema` for an argument type: always an object schema.
///
/// An object with no properties gets `additionalProperties: false`, as the
/// spec recommends for tools without parameters.
pub fn input_schema_for<T: JsonSchema>() -> Map<String, Value> {
    let mut map = schema_object_for::<T>(true);
    map.insert("type".into(), Value::from("object"));
    let no_properties = map
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if no_properties {
        map.remove("properties");
        map.remove("required");
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    map
}

/// The `outputSchema` for a structured output type. It may describe any JSON
/// value; the codec wraps non-object schemas for revisions that require an
/// object. `Option<T>` fields stay nullable, since `None` is sent as `null`
/// and clients validate structured content against this schema.
pub fn output_schema_for<T: JsonSchema>() -> Map<String, Value> {
    schema_object_for::<T>(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_null_for_none() {
        #[derive(JsonSchema, serde::Serialize)]
        #[allow(dead_code)]
        struct Out {
            email: Option<String>,
        }
        let input = input_schema_for::<Out>();
        let output = output_schema_for::<Out>();
        assert_eq!(input["properties"]["email"]["type"], "string");
        assert_eq!(
            output["properties"]["email"]["type"],
            serde_json::json!(["string", "null"])
        );
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Args {
        /// Who to greet.
        name: String,
        /// How.
        greeting: Option<String>,
        inner: Inner,
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        level: u8,
    }

    #[test]
    fn client_friendly_shape() {
        let s = Value::Object(input_schema_for::<Args>());
        assert!(s.get("$schema").is_none());
        assert!(s.get("title").is_none());
        assert!(s.get("$defs").is_none());
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["greeting"]["type"], "string");
        assert_eq!(s["properties"]["name"]["description"], "Who to greet.");
        assert_eq!(s["properties"]["inner"]["type"], "object");
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["name", "inner"]);
    }

    #[derive(JsonSchema)]
    struct Empty {}

    #[test]
    fn empty_args_forbid_extra_properties() {
        let s = Value::Object(input_schema_for::<Empty>());
        assert_eq!(
            s,
            serde_json::json!({"type": "object", "additionalProperties": false})
        );
    }
}
