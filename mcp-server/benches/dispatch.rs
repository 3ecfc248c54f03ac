//! The request path end to end, through the in-memory line transport:
//! parse, route, deserialize arguments, run the tool, encode, write.
//!
//! `cargo bench -p mcp-server --bench dispatch`

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::json;

struct Bench;

#[mcp_server(name = "bench")]
impl Bench {
    /// Add two integers.
    #[mcp_tool]
    async fn add(
        &self,
        /** First addend. */
        a: i64,
        /** Second addend. */
        b: i64,
    ) -> i64 {
        a + b
    }

    /// Echo a record as structured output.
    #[mcp_tool]
    async fn echo(
        &self,
        /** Any name. */
        name: String,
        /** Tags. */
        tags: Vec<String>,
    ) -> Structured<serde_json::Value> {
        Structured(json!({ "name": name, "tags": tags }))
    }
}

fn dispatch(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("no runtime: {e}"),
    };
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let client = match runtime.block_on(TestClient::connect(Bench, version)) {
            Ok(client) => client,
            Err(e) => panic!("connect failed: {e:?}"),
        };
        let mut group = c.benchmark_group(format!("dispatch/{version}"));
        group.bench_function("tools/list", |b| {
            b.to_async(&runtime)
                .iter(|| async { client.request("tools/list", json!({})).await })
        });
        group.bench_function("tools/call add", |b| {
            b.to_async(&runtime)
                .iter(|| async { client.call_tool("add", json!({"a": 2, "b": 3})).await })
        });
        group.bench_function("tools/call echo (structured)", |b| {
            b.to_async(&runtime).iter(|| async {
                client
                    .call_tool("echo", json!({"name": "ada", "tags": ["a", "b", "c"]}))
                    .await
            })
        });
        group.finish();
    }
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
