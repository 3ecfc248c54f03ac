//! Temporary stand-in for `mcp_core::codec` result encoding.

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{Message, Notification};
use mcp_core::lifecycle::Implementation;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

pub(crate) mod method {
    pub(crate) const INITIALIZE: &str = "initialize";
    pub(crate) const PING: &str = "ping";
    pub(crate) const LOGGING_SET_LEVEL: &str = "logging/setLevel";
    pub(crate) const TOOLS_LIST: &str = "tools/list";
    pub(crate) const TOOLS_CALL: &str = "tools/call";
    pub(crate) const SERVER_DISCOVER: &str = "server/discover";
}

pub(crate) trait Shape {
    fn shape(&mut self, _version: ProtocolVersion) {}
}
impl<T> Shape for T {}

pub(crate) fn encode_result<T: Serialize + Shape>(
    result: &mut T,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    result.shape(version);
    encode_value(serde_json::to_value(&*result)?, version, server_info)
}

pub(crate) fn encode_value(
    mut value: Value,
    version: ProtocolVersion,
    server_info: Option<&Implementation>,
) -> Result<Box<RawValue>, serde_json::Error> {
    if version.is_stateless()
        && let Value::Object(map) = &mut value
    {
        map.entry("resultType").or_insert_with(|| "complete".into());
        if let Some(info) = server_info {
            let meta = map
                .entry("_meta")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(meta) = meta {
                meta.insert(
                    mcp_core::meta::SERVER_INFO.into(),
                    serde_json::to_value(info)?,
                );
            }
        }
    }
    serde_json::value::to_raw_value(&value)
}

pub(crate) fn notification<T: Serialize + Shape>(
    method: &str,
    params: &mut T,
    version: ProtocolVersion,
) -> Result<Message, serde_json::Error> {
    params.shape(version);
    Ok(Message::Notification(Notification {
        method: method.to_owned(),
        params: Some(serde_json::value::to_raw_value(&*params)?),
    }))
}
