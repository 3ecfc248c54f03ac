//! `_meta` keys and the per-request metadata a server reads from them.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::lifecycle::{ClientCapabilities, Implementation};
use crate::logging::LoggingLevel;
use crate::version::ProtocolVersion;

/// The `_meta` key of the protocol version on every 2026-07-28 request.
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of the client's capabilities on every 2026-07-28 request.
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key of the client's implementation info (2026-07-28).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// The `_meta` key of the log level a 2026-07-28 request asks for.
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// The `_meta` key of the server's implementation info on 2026-07-28 results.
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The `_meta` key tagging traffic of a `subscriptions/listen` stream.
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// The `_meta` key linking a message to a task (2025-11-25 tasks).
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
/// The `_meta` key of the progress token a request opts in with.
pub const PROGRESS_TOKEN: &str = "progressToken";
/// W3C trace context.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace state.
pub const TRACESTATE: &str = "tracestate";
/// W3C baggage.
pub const BAGGAGE: &str = "baggage";

/// A progress token: a string or an integer chosen by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProgressToken {
    /// An integer token.
    Number(i64),
    /// A string token.
    String(String),
}

/// What a server reads from a request's `_meta`.
///
/// Unknown keys are kept in `other`, so nothing the client sent is lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RequestMeta {
    /// The token progress notifications for this request must carry.
    #[serde(
        rename = "progressToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_token: Option<ProgressToken>,
    /// The revision this request speaks (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// What the client can do (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// Who the client is (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// The log level for this request (2026-07-28); absent means no log notifications.
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// W3C `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// W3C `tracestate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// Every other key.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl RequestMeta {
    /// The revision named in `_meta`, if any, as a string (it may be unknown to us).
    pub fn requested_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// The named revision, if it is one we know.
    pub fn known_version(&self) -> Option<ProtocolVersion> {
        self.protocol_version
            .as_deref()
            .and_then(|v| v.parse().ok())
    }
}

/// A request's `params` reduced to the `_meta` member; other members are skipped.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaOnly {
    /// The `_meta` member.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// Read key by key rather than derived: a derived `#[serde(flatten)]` field
/// buffers the whole object (capabilities, client info) into an
/// intermediate tree and reads it a second time, on every request of the
/// stateless revision.
impl<'de> Deserialize<'de> for RequestMeta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestMetaVisitor)
    }
}

struct RequestMetaVisitor;

impl<'de> Visitor<'de> for RequestMetaVisitor {
    type Value = RequestMeta;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `_meta` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestMeta, A::Error> {
        let mut meta = RequestMeta::default();
        while let Some(key) = map.next_key::<MetaKey>()? {
            match key {
                MetaKey::ProgressToken => meta.progress_token = map.next_value()?,
                MetaKey::ProtocolVersion => meta.protocol_version = map.next_value()?,
                MetaKey::ClientCapabilities => meta.client_capabilities = map.next_value()?,
                MetaKey::ClientInfo => meta.client_info = map.next_value()?,
                MetaKey::LogLevel => meta.log_level = map.next_value()?,
                MetaKey::Traceparent => meta.traceparent = map.next_value()?,
                MetaKey::Tracestate => meta.tracestate = map.next_value()?,
                MetaKey::Other(key) => {
                    let value = map.next_value()?;
                    meta.other.insert(key, value);
                }
            }
        }
        Ok(meta)
    }
}

/// A key of `_meta`: one [`RequestMeta`] reads, or any other.
enum MetaKey {
    ProgressToken,
    ProtocolVersion,
    ClientCapabilities,
    ClientInfo,
    LogLevel,
    Traceparent,
    Tracestate,
    Other(String),
}

impl<'de> Deserialize<'de> for MetaKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(MetaKeyVisitor)
    }
}

struct MetaKeyVisitor;

impl Visitor<'_> for MetaKeyVisitor {
    type Value = MetaKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `_meta` key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<MetaKey, E> {
        Ok(match key {
            PROGRESS_TOKEN => MetaKey::ProgressToken,
            PROTOCOL_VERSION => MetaKey::ProtocolVersion,
            CLIENT_CAPABILITIES => MetaKey::ClientCapabilities,
            CLIENT_INFO => MetaKey::ClientInfo,
            LOG_LEVEL => MetaKey::LogLevel,
            TRACEPARENT => MetaKey::Traceparent,
            TRACESTATE => MetaKey::Tracestate,
            other => MetaKey::Other(other.to_owned()),
        })
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<MetaKey, E> {
        match self.visit_str::<E>(&key)? {
            MetaKey::Other(_) => Ok(MetaKey::Other(key)),
            known => Ok(known),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn known_keys_are_typed_and_every_other_key_is_kept() {
        let meta: RequestMeta = serde_json::from_value(json!({
            "progressToken": 7,
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
            "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
            "io.modelcontextprotocol/logLevel": "debug",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "a=b",
            "vendor/key": {"nested": [1, 2]},
            "baggage": "k=v"
        }))
        .unwrap();
        assert_eq!(meta.progress_token, Some(ProgressToken::Number(7)));
        assert_eq!(meta.requested_version(), Some("2026-07-28"));
        assert!(meta.client_capabilities.unwrap().sampling.is_some());
        assert_eq!(meta.client_info.unwrap().name, "c");
        assert_eq!(meta.log_level, Some(LoggingLevel::Debug));
        assert!(meta.traceparent.is_some() && meta.tracestate.is_some());
        assert_eq!(meta.other.len(), 2);
        assert_eq!(meta.other["vendor/key"], json!({"nested": [1, 2]}));
    }

    #[test]
    fn it_reads_back_what_it_writes_and_nulls_mean_absent() {
        let text = r#"{"progressToken":"t","traceparent":null,"x":null}"#;
        let meta: RequestMeta = serde_json::from_str(text).unwrap();
        assert_eq!(meta.progress_token, Some(ProgressToken::String("t".into())));
        assert_eq!(meta.traceparent, None);
        assert_eq!(meta.other["x"], Value::Null);
        let again: RequestMeta =
            serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        assert_eq!(again, meta);
    }

    #[test]
    fn a_mistyped_known_key_is_an_error_not_an_other_key() {
        assert!(serde_json::from_str::<RequestMeta>(r#"{"progressToken":{"a":1}}"#).is_err());
        assert!(
            serde_json::from_str::<RequestMeta>(r#"{"io.modelcontextprotocol/logLevel":"loud"}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<RequestMeta>("[]").is_err());
    }
}
