//! The four `*/list` methods: pages, opaque cursors, and the cache hints
//! 2026-07-28 adds.

use std::sync::OnceLock;

use mcp_core::codec;
use mcp_core::lifecycle::CacheScope;
use mcp_core::pagination::PaginatedParams;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;

use crate::server::{ListKind, Registry, Server};

use super::{encode, parse_params};

/// An opaque cursor: the offset of the next page, encoded.
pub(super) fn encode_cursor(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("page:{offset}"))
}

pub(super) fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("page:")?
        .parse()
        .ok()
}

/// One page of a list, shaped for `version`, with caching hints on
/// 2026-07-28. The first page is encoded once per revision and kept.
pub(super) fn list<D, I, R>(
    server: &Server,
    kind: ListKind,
    registry: &Registry<D>,
    params: Option<&RawValue>,
    version: ProtocolVersion,
    item: impl Fn(&D) -> I,
    result: impl FnOnce(Vec<I>, Option<String>) -> R,
) -> Result<Box<RawValue>, ProtocolError>
where
    D: crate::server::Keyed,
    R: serde::Serialize + codec::Shape,
{
    let params: PaginatedParams = parse_params(params)?;
    let defs = registry.defs();
    let offset = match params.cursor.as_deref() {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(offset) if offset < defs.len() => offset,
            _ => {
                return Err(ProtocolError::InvalidParams(format!(
                    "invalid cursor `{cursor}`: pass back a `nextCursor` from this list"
                )));
            }
        },
    };
    let cache = (offset == 0).then(|| registry.list_cache(version));
    if let Some(encoded) = cache.and_then(OnceLock::get) {
        return Ok(encoded.clone());
    }
    let page_size = server.options().page_size;
    let end = (offset + page_size).min(defs.len());
    let next_cursor = (end < defs.len()).then(|| encode_cursor(end));
    let mut result = result(defs[offset..end].iter().map(item).collect(), next_cursor);
    let encoded = if version.is_stateless() {
        codec::Shape::shape(&mut result, version);
        let mut value = serde_json::to_value(&result)
            .map_err(|e| ProtocolError::Internal(format!("list could not be encoded: {e}")))?;
        let (ttl_ms, scope) = server.options().hints(kind);
        add_cache_hints(&mut value, ttl_ms, scope);
        codec::encode_value(value, version, Some(&server.info().implementation))
            .map_err(|e| ProtocolError::Internal(format!("list could not be encoded: {e}")))?
    } else {
        encode(&mut result, version, server)?
    };
    Ok(match cache {
        Some(cache) => cache.get_or_init(|| encoded).clone(),
        None => encoded,
    })
}

pub(super) fn add_cache_hints(value: &mut serde_json::Value, ttl_ms: u64, scope: CacheScope) {
    if let Some(object) = value.as_object_mut() {
        object.insert("ttlMs".into(), ttl_ms.into());
        object.insert(
            "cacheScope".into(),
            match scope {
                CacheScope::Public => "public",
                CacheScope::Private => "private",
            }
            .into(),
        );
    }
}
