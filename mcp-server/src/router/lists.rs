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
/// 2026-07-28. Each page is encoded once per revision and kept: a list
/// that has not changed is served from its encoding.
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
    let page_size = server.options().page_size;
    let cache = registry.list_cache(version, offset, page_size);
    if let Some(encoded) = cache.and_then(OnceLock::get) {
        return Ok(encoded.clone());
    }
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

#[cfg(test)]
mod tests {
    use mcp_core::tool::ListToolsResult;
    use serde_json::json;

    use super::super::fixtures::{json, tool};
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for offset in [0, 1, 99, usize::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(offset)), Some(offset));
        }
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        use base64::Engine as _;
        let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        for garbage in [
            String::new(),
            "!!!".to_owned(),
            "page:1".to_owned(),
            b64("page:"),
            b64("page:-1"),
            b64("page:x"),
            b64("offset:1"),
            b64("page:99999999999999999999999"),
        ] {
            assert_eq!(decode_cursor(&garbage), None, "{garbage}");
        }
    }

    fn serving(tools: usize, page_size: usize) -> (Server, Registry<crate::tool::ToolDef>) {
        let mut builder = Server::builder().page_size(page_size).no_audit();
        for i in 0..tools {
            builder = builder.tool(tool(&format!("t{i}")));
        }
        let server = builder.build();
        let registry = Registry::new(server.tools().defs().to_vec());
        (server, registry)
    }

    fn page(
        server: &Server,
        registry: &Registry<crate::tool::ToolDef>,
        cursor: Option<&str>,
        version: ProtocolVersion,
    ) -> Result<serde_json::Value, ProtocolError> {
        let params = serde_json::value::to_raw_value(&json!({ "cursor": cursor })).unwrap();
        list(
            server,
            ListKind::Tools,
            registry,
            Some(&params),
            version,
            |d| d.tool().clone(),
            |tools, next_cursor| ListToolsResult { tools, next_cursor },
        )
        .map(|raw| json(&raw))
    }

    fn names(page: &serde_json::Value) -> Vec<&str> {
        page["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn pages_end_exactly_at_the_last_item() {
        let version = ProtocolVersion::V2025_06_18;
        let (server, registry) = serving(5, 2);
        let first = page(&server, &registry, None, version).unwrap();
        assert_eq!(names(&first), ["t0", "t1"]);
        let next = first["nextCursor"].as_str().unwrap().to_owned();
        let second = page(&server, &registry, Some(&next), version).unwrap();
        assert_eq!(names(&second), ["t2", "t3"]);
        let next = second["nextCursor"].as_str().unwrap().to_owned();
        let last = page(&server, &registry, Some(&next), version).unwrap();
        assert_eq!(names(&last), ["t4"]);
        assert!(last.get("nextCursor").is_none(), "{last}");
        // A list that fills its pages exactly has no empty page after them.
        let (server, registry) = serving(4, 2);
        let first = page(&server, &registry, None, version).unwrap();
        let next = first["nextCursor"].as_str().unwrap().to_owned();
        let second = page(&server, &registry, Some(&next), version).unwrap();
        assert_eq!(names(&second), ["t2", "t3"]);
        assert!(second.get("nextCursor").is_none(), "{second}");
    }

    #[test]
    fn cursors_past_the_end_are_invalid_params() {
        let version = ProtocolVersion::V2025_06_18;
        let (server, registry) = serving(3, 2);
        for cursor in [encode_cursor(3), encode_cursor(100), "bogus".to_owned()] {
            let refused = page(&server, &registry, Some(&cursor), version);
            assert!(
                matches!(&refused, Err(ProtocolError::InvalidParams(m)) if m.contains("invalid cursor")),
                "{refused:?}"
            );
        }
        // An empty list has only its first page.
        let (server, registry) = serving(0, 2);
        let empty = page(&server, &registry, None, version).unwrap();
        assert!(names(&empty).is_empty());
        assert!(page(&server, &registry, Some(&encode_cursor(0)), version).is_err());
    }

    #[test]
    fn cache_hints_come_only_with_2026_07_28() {
        let (server, registry) = serving(1, 10);
        let stateless = page(&server, &registry, None, ProtocolVersion::V2026_07_28).unwrap();
        assert_eq!(stateless["ttlMs"], json!(60_000));
        assert_eq!(stateless["cacheScope"], json!("public"));
        let stateful = page(&server, &registry, None, ProtocolVersion::V2025_11_25).unwrap();
        assert!(stateful.get("ttlMs").is_none(), "{stateful}");
        let mut value = json!({});
        add_cache_hints(&mut value, 5, CacheScope::Private);
        assert_eq!(value, json!({"ttlMs": 5, "cacheScope": "private"}));
    }

    #[test]
    fn every_page_of_a_thousand_tools_is_served_from_its_encoding() {
        let version = ProtocolVersion::V2025_11_25;
        let (server, registry) = serving(1000, 100);
        let walk = || {
            let mut pages = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = page(&server, &registry, cursor.as_deref(), version).unwrap();
                cursor = page["nextCursor"].as_str().map(str::to_owned);
                pages.push(page);
                if cursor.is_none() {
                    return pages;
                }
            }
        };
        let first = walk();
        assert_eq!(first.len(), 10);
        assert_eq!(first.iter().map(|p| names(p).len()).sum::<usize>(), 1000);
        // Each page was kept, encoded, as it was served.
        for (i, served) in first.iter().enumerate() {
            let kept = registry.list_cache(version, i * 100, 100).unwrap().get();
            assert_eq!(kept.map(|raw| json(raw)).as_ref(), Some(served), "page {i}");
        }
        assert_eq!(walk(), first);
        // Pages no cursor of ours starts are encoded, not kept.
        assert!(registry.list_cache(version, 150, 100).is_none());
        let odd = page(&server, &registry, Some(&encode_cursor(150)), version).unwrap();
        assert_eq!(names(&odd)[0], "t150");
    }

    #[test]
    fn a_kept_page_is_served_as_kept() {
        // What is kept is what is sent: a list is not encoded again.
        let version = ProtocolVersion::V2025_11_25;
        let (server, registry) = serving(250, 100);
        let kept = serde_json::value::to_raw_value(&json!({"tools": [], "kept": 2})).unwrap();
        assert!(
            registry
                .list_cache(version, 200, 100)
                .unwrap()
                .set(kept)
                .is_ok()
        );
        let third = page(&server, &registry, Some(&encode_cursor(200)), version).unwrap();
        assert_eq!(third, json!({"tools": [], "kept": 2}));
        // Another revision has pages of its own.
        let other = page(
            &server,
            &registry,
            Some(&encode_cursor(200)),
            ProtocolVersion::V2025_06_18,
        );
        assert_eq!(names(&other.unwrap()).len(), 50);
    }
}
