//! The hello tools as every revision sees them, and their behaviour.

use hello::Hello;
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::json;

#[tokio::test]
async fn tools_list_per_revision() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(Hello, version).await.unwrap();
        let list = client.request("tools/list", json!({})).await.unwrap();
        insta::assert_json_snapshot!(
            format!("tools_list__{}", version.as_str().replace('-', "_")),
            list
        );
    }
}

#[tokio::test]
async fn every_tool_answers_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(Hello, version).await.unwrap();
        let text =
            |r: &mcp_server::ToolResult| r.content[0].as_text().unwrap_or_default().to_owned();

        let r = client
            .call_tool("greet", json!({"name": "Ada", "greeting": "Howdy"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "Howdy, Ada!");
        let r = client
            .call_tool("add", json!({"a": 2, "b": 3}))
            .await
            .unwrap();
        assert_eq!(text(&r), "5");

        let r = client
            .call_tool("word_stats", json!({"text": "hello world"}))
            .await
            .unwrap();
        let expected = json!({"words": 2, "characters": 11, "lines": 1});
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text(&r)).unwrap(),
            expected
        );
        if version >= ProtocolVersion::V2025_06_18 {
            assert_eq!(r.structured_content, Some(expected), "{version}");
        } else {
            assert_eq!(r.structured_content, None, "{version}");
        }

        let r = client
            .call_tool_with_progress("countdown", json!({"steps": 2}), "t")
            .await
            .unwrap();
        assert_eq!(text(&r), "liftoff after 2 steps");
        let progress = client.drain_notifications().await;
        assert_eq!(progress.len(), 2, "{version}: {progress:?}");

        let r = client.call_tool("countdown", json!({})).await.unwrap();
        assert_eq!(text(&r), "liftoff after 3 steps");
        let r = client
            .call_tool("countdown", json!({"steps": 11}))
            .await
            .unwrap();
        assert!(r.is_error());
        assert!(text(&r).contains("`steps`"), "{}", text(&r));

        let r = client
            .call_tool("divide", json!({"a": 6, "b": 3}))
            .await
            .unwrap();
        assert_eq!(text(&r), "2");
        let r = client
            .call_tool("divide", json!({"a": 1, "b": 0}))
            .await
            .unwrap();
        assert!(r.is_error());
        assert_eq!(text(&r), "cannot divide by zero");
    }
}
