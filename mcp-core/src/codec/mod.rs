//! Shapes outgoing messages for the revision they go to.
//!
//! Handlers build one revision-neutral value; before it is serialized,
//! [`Shape::shape`] removes or rewrites what the target revision does not
//! know, so a 2024-11-05 client never sees `structuredContent` and a
//! 2026-07-28 client gets `resultType`.
//!
//! ```
//! use mcp_core::codec::{Shape, encode_result};
//! use mcp_core::content::Content;
//! use mcp_core::tool::CallToolResult;
//! use mcp_core::ProtocolVersion;
//!
//! let mut result = CallToolResult {
//!     content: vec![Content::text("{\"n\":1}")],
//!     structured_content: Some(serde_json::json!({"n": 1})),
//!     ..CallToolResult::default()
//! };
//! let old = encode_result(&mut result.clone(), ProtocolVersion::V2024_11_05, None).unwrap();
//! assert!(!old.get().contains("structuredContent"));
//! let new = encode_result(&mut result, ProtocolVersion::V2026_07_28, None).unwrap();
//! assert!(new.get().contains(r#""resultType":"complete""#));
//! ```

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::jsonrpc::{Message, Notification};
use crate::lifecycle::Implementation;
use crate::meta;
use crate::version::ProtocolVersion;

mod large_strings;
pub(crate) use large_strings::raw_from_serialized;
mod shapes;

/// A message that can be shaped for one revision.
pub trait Shape {
    /// Rewrites `self` in place so it is valid on `version`.
    fn shape(&mut self, version: ProtocolVersion);

    /// About how many bytes `self` takes as JSON, where that may be a lot
    /// (0: unknown or small). A large result is then written into a buffer
    /// sized once, not one that doubles up to twice its size.
    fn json_size_hint(&self) -> usize {
        0
    }
}

/// From this size on, a result is written into a buffer sized from its hint.
const LARGE_JSON: usize = 64 * 1024;

/// `value` as JSON text, in a buffer sized from `hint` (its
/// [`Shape::json_size_hint`]) when it is large.
fn json_text<T: Serialize + ?Sized>(value: &T, hint: usize) -> Result<String, serde_json::Error> {
    if hint < LARGE_JSON {
        return serde_json::to_string(value);
    }
    // Room for escapes and the envelope's members, so that what follows
    // (the 2026-07-28 tail) fits without growing the buffer.
    large_strings::to_json(value, hint + hint / 8 + 512)
}

/// `value` as a raw JSON value; see [`json_text`].
fn json_raw<T: Serialize + Shape + ?Sized>(value: &T) -> Result<Box<RawValue>, serde_json::Error> {
    let hint = value.json_size_hint();
    if hint < LARGE_JSON {
        return serde_json::value::to_raw_value(value);
    }
    large_strings::raw_from_serialized(json_text(value, hint)?)
}

/// Shapes and serializes a result. On 2026-07-28 the result also gets
/// `resultType: "complete"` (unless it has one) and, when given, the
/// server's info under `_meta["io.modelcontextprotocol/serverInfo"]`.
///
/// # Errors
/// The result could not be serialized.
pub fn encode_result<T: Serialize + Shape>(
    result: &mut T,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    if !version.has_result_type() {
        result.shape(version);
        return json_raw(result);
    }
    encode_result_with(result, &ResultTail::new(version, server_info)?)
}

/// What a 2026-07-28 result gets after its own members: `resultType` and,
/// when given, the server's info under `_meta`, written once (a server
/// keeps one) rather than for every result.
#[derive(Debug, Clone)]
pub struct ResultTail {
    version: ProtocolVersion,
    /// `"resultType":"complete"`, then `,"_meta":{...}` when there is info.
    members: String,
    info: Option<Implementation>,
}

impl ResultTail {
    /// The tail of results on `version`, with `server_info` as that
    /// revision shows it.
    ///
    /// # Errors
    /// The info could not be serialized.
    pub fn new(
        version: ProtocolVersion,
        server_info: Option<&Implementation>,
    ) -> Result<Self, serde_json::Error> {
        let mut members = String::from(r#""resultType":"complete""#);
        let info = server_info.map(|info| shaped(info, version).into_owned());
        if let Some(info) = &info {
            members.push_str(r#","_meta":{""#);
            members.push_str(meta::SERVER_INFO);
            members.push_str(r#"":"#);
            members.push_str(&serde_json::to_string(info)?);
            members.push('}');
        }
        Ok(Self {
            version,
            members,
            info,
        })
    }
}

/// [`encode_result`] with the tail made beforehand.
///
/// # Errors
/// The result could not be serialized.
pub fn encode_result_with<T: Serialize + Shape>(
    result: &mut T,
    tail: &ResultTail,
) -> Result<Box<RawValue>, serde_json::Error> {
    let version = tail.version;
    result.shape(version);
    if !version.has_result_type() {
        return json_raw(result);
    }
    let mut text = json_text(&*result, result.json_size_hint())?;
    // An object with neither key gets the tail appended to its text. A key
    // is written as `"resultType"` or `"_meta"`, never escaped, so a result
    // that has one is never missed; one that merely mentions them (a string
    // `"_meta"`) is merged below too, which is rare and only slower.
    let has = |key: &str| text.contains(key);
    if text.starts_with('{')
        && text.ends_with('}')
        && !has(r#""resultType""#)
        && (tail.info.is_none() || !has(r#""_meta""#))
    {
        text.pop();
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&tail.members);
        text.push('}');
        return large_strings::raw_from_serialized(text);
    }
    encode_value(serde_json::from_str(&text)?, version, tail.info.as_ref())
}

/// `info` as `version` may show it, borrowed where the revision shows all of it.
fn shaped(info: &Implementation, version: ProtocolVersion) -> std::borrow::Cow<'_, Implementation> {
    if version.has_titles() && version.has_icons() {
        return std::borrow::Cow::Borrowed(info);
    }
    let mut info = info.clone();
    info.shape(version);
    std::borrow::Cow::Owned(info)
}

/// Like [`encode_result`], for a result already built as JSON (such as the
/// empty result of `ping`).
///
/// # Errors
/// The value could not be serialized.
pub fn encode_value(
    mut value: Value,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    if version.has_result_type()
        && let Value::Object(map) = &mut value
    {
        map.entry("resultType")
            .or_insert_with(|| Value::from("complete"));
        if let Some(info) = server_info {
            let info = shaped(info, version);
            let meta = map
                .entry("_meta")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert(meta::SERVER_INFO.to_owned(), serde_json::to_value(&*info)?);
            }
        }
    }
    serde_json::value::to_raw_value(&value)
}

/// A notification, shaped for `version`.
///
/// # Errors
/// The params could not be serialized.
pub fn notification<T: Serialize + Shape>(
    method: &str,
    params: &mut T,
    version: ProtocolVersion,
) -> Result<Message, serde_json::Error> {
    params.shape(version);
    Ok(Message::Notification(Notification {
        method: method.to_owned(),
        params: Some(serde_json::value::to_raw_value(params)?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Content, ResourceLink};
    use crate::lifecycle::ServerCapabilities;
    use crate::tool::{CallToolResult, Tool, ToolAnnotations};
    use serde_json::json;

    fn tool() -> Tool {
        Tool {
            name: "t".into(),
            title: Some("T".into()),
            description: Some("d".into()),
            input_schema: Map::new(),
            output_schema: json!({"type": "array"}).as_object().cloned(),
            annotations: Some(ToolAnnotations {
                read_only_hint: Some(true),
                ..ToolAnnotations::default()
            }),
            icons: Some(vec![]),
            meta: None,
        }
    }

    #[test]
    fn raw_text_is_kept_byte_for_byte_small_or_large() {
        for text in [
            r#"{"a":"b\"c","resultType":"complete"}"#.to_owned(),
            serde_json::to_string(&json!({"t": "x\u{1}y".repeat(LARGE_JSON / 2)})).unwrap(),
        ] {
            let raw = large_strings::raw_from_serialized(text.clone()).unwrap();
            assert_eq!(raw.get(), text);
        }
        // Handed over, not copied: a large result is not held twice.
        let text = serde_json::to_string(&json!({"t": "y".repeat(LARGE_JSON)})).unwrap();
        let text = text.into_boxed_str().into_string();
        let at = text.as_ptr();
        let raw = large_strings::raw_from_serialized(text).unwrap();
        assert_eq!(raw.get().as_ptr(), at);
    }

    #[test]
    fn a_large_result_is_written_as_a_small_one_is() {
        let text = "say \"hi\"\n".repeat(20_000);
        let result = CallToolResult::success(vec![Content::text(text.clone())]);
        assert!(result.json_size_hint() >= LARGE_JSON);
        for version in ProtocolVersion::ALL.iter().copied() {
            let raw = encode_result(&mut result.clone(), version, None).unwrap();
            let value: Value = serde_json::from_str(raw.get()).unwrap();
            assert_eq!(value["content"][0]["text"], text.as_str(), "{version}");
            let mut small = result.clone();
            small.shape(version);
            let mut expected = serde_json::to_value(&small).unwrap();
            if version.has_result_type() {
                expected["resultType"] = "complete".into();
            }
            assert_eq!(value, expected, "{version}");
        }
    }

    #[test]
    fn tools_lose_what_older_revisions_lack() {
        let mut t = tool();
        t.shape(ProtocolVersion::V2024_11_05);
        assert_eq!(
            (t.title, t.annotations, t.icons, t.output_schema),
            (None, None, None, None)
        );

        let mut t = tool();
        t.shape(ProtocolVersion::V2025_03_26);
        assert_eq!(t.title, None);
        assert_eq!(t.annotations.unwrap().title.as_deref(), Some("T"));

        let mut t = tool();
        t.shape(ProtocolVersion::V2025_06_18);
        assert_eq!(t.title.as_deref(), Some("T"));
        assert_eq!(t.icons, None);
        assert_eq!(
            Value::Object(t.output_schema.unwrap()),
            json!({"type": "object", "properties": {"result": {"type": "array"}}, "required": ["result"]})
        );

        let mut t = tool();
        t.shape(ProtocolVersion::V2026_07_28);
        assert_eq!(
            Value::Object(t.output_schema.unwrap()),
            json!({"type": "array"})
        );
    }

    #[test]
    fn extensions_other_than_tasks_are_announced_on_every_revision() {
        let capabilities = || ServerCapabilities {
            extensions: json!({
                crate::lifecycle::TASKS_EXTENSION: {},
                crate::apps::UI_EXTENSION: {"mimeTypes": [crate::apps::UI_MIME_TYPE]},
            })
            .as_object()
            .cloned(),
            ..ServerCapabilities::default()
        };
        let mut stateless = capabilities();
        stateless.shape(ProtocolVersion::V2026_07_28);
        assert_eq!(stateless.extensions.map(|e| e.len()), Some(2));
        for version in [ProtocolVersion::V2024_11_05, ProtocolVersion::V2025_11_25] {
            let mut c = capabilities();
            c.shape(version);
            let extensions = c.extensions.unwrap();
            assert!(extensions.contains_key(crate::apps::UI_EXTENSION));
            assert!(!extensions.contains_key(crate::lifecycle::TASKS_EXTENSION));
        }
        let mut tasks_only = ServerCapabilities {
            extensions: json!({crate::lifecycle::TASKS_EXTENSION: {}})
                .as_object()
                .cloned(),
            ..ServerCapabilities::default()
        };
        tasks_only.shape(ProtocolVersion::V2025_11_25);
        assert_eq!(tasks_only.extensions, None);
    }

    #[test]
    fn results_wrap_non_object_structured_content() {
        let mut r = CallToolResult {
            structured_content: Some(json!([1, 2])),
            ..CallToolResult::default()
        };
        r.clone().shape(ProtocolVersion::V2026_07_28);
        r.shape(ProtocolVersion::V2025_11_25);
        assert_eq!(r.structured_content, Some(json!({"result": [1, 2]})));
    }

    #[test]
    fn content_degrades_to_text_where_unknown() {
        let mut audio = Content::audio("AAAA", "audio/wav");
        audio.shape(ProtocolVersion::V2024_11_05);
        assert!(audio.as_text().unwrap().contains("audio omitted"));
        let mut link = Content::ResourceLink(ResourceLink {
            uri: "file:///a".into(),
            name: "a".into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
        });
        link.shape(ProtocolVersion::V2025_03_26);
        assert_eq!(link.as_text(), Some("[resource: a](file:///a)"));
    }

    #[test]
    fn stateless_results_get_result_type_and_server_info() {
        let info = server_info();
        let raw = encode_value(
            json!({"_meta": {"k": 1}}),
            ProtocolVersion::V2026_07_28,
            Some(&info),
        )
        .unwrap();
        let value: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(
            value,
            json!({"resultType": "complete", "_meta": {"k": 1, "io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}}})
        );
        let raw = encode_value(json!({}), ProtocolVersion::V2025_11_25, Some(&info)).unwrap();
        assert_eq!(raw.get(), "{}");
    }

    fn server_info() -> Implementation {
        Implementation {
            name: "s".into(),
            version: "1".into(),
            ..Implementation::default()
        }
    }

    /// A result that says its own `resultType`, as an unfinished one does.
    #[derive(Serialize)]
    struct Pending {
        #[serde(rename = "resultType")]
        result_type: &'static str,
    }

    impl Shape for Pending {
        fn shape(&mut self, _: ProtocolVersion) {}
    }

    #[test]
    fn a_result_written_in_one_pass_equals_one_merged_through_a_value() {
        let info = server_info();
        let v = ProtocolVersion::V2026_07_28;
        let meta = json!({"k": 1, meta::SERVER_INFO: "theirs"});
        let results = [
            CallToolResult::success(vec![Content::text("hi")]),
            // Mentions of the keys in values, escaped or not.
            CallToolResult::success(vec![Content::text("\"_meta\" \"resultType\"")]),
            CallToolResult::success(vec![Content::text("_meta")]),
            CallToolResult::error("resultType"),
            // A `_meta` of its own: the server's info is merged into it.
            CallToolResult {
                meta: meta.as_object().cloned(),
                ..CallToolResult::default()
            },
        ];
        for result in results {
            for server_info in [Some(&info), None] {
                let mut shaped = result.clone();
                shaped.shape(v);
                let merged =
                    encode_value(serde_json::to_value(&shaped).unwrap(), v, server_info).unwrap();
                let raw = encode_result(&mut result.clone(), v, server_info).unwrap();
                let written: Value = serde_json::from_str(raw.get()).unwrap();
                let expected: Value = serde_json::from_str(merged.get()).unwrap();
                assert_eq!(written, expected, "{}", raw.get());
                // One key each, not a duplicate that a reader might pick.
                assert_eq!(
                    raw.get().matches(r#""resultType":"#).count(),
                    1,
                    "{}",
                    raw.get()
                );
                assert!(
                    raw.get().matches(r#""_meta":"#).count() <= 1,
                    "{}",
                    raw.get()
                );
            }
        }
        let raw = encode_result(
            &mut CallToolResult::success(vec![Content::text("hi")]),
            v,
            Some(&info),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(raw.get()).unwrap(),
            json!({
                "content": [{"type": "text", "text": "hi"}],
                "resultType": "complete",
                "_meta": {meta::SERVER_INFO: {"name": "s", "version": "1"}},
            })
        );
        let raw = encode_result(
            &mut Pending {
                result_type: "input_required",
            },
            v,
            Some(&info),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(raw.get()).unwrap(),
            json!({
                "resultType": "input_required",
                "_meta": {meta::SERVER_INFO: {"name": "s", "version": "1"}},
            })
        );
    }
}
