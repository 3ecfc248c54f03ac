//! The CRM's MCP Apps views through the in-process client, on SQLite: the
//! contact card and pipeline board as `ui://` resources, the tools linked to
//! them, and the app-only `update_contact_field` that the card edits with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crm_example::{Crm, Db};
use mcp_server::core::apps::{UI_EXTENSION, UI_MIME_TYPE};
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use serde_json::{Value, json};

async fn sqlite() -> Db {
    let dir = std::env::temp_dir().join(format!(
        "crm_apps_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let db = Db::connect(&format!("sqlite://{}", dir.join("crm.db").display()))
        .await
        .unwrap();
    db.seed_if_empty().await.unwrap();
    db
}

fn crm(db: &Db) -> Server {
    Server::builder()
        .definition(Crm::new(db.clone()))
        .audit(crm_example::audit::DbAudit::new(db.clone()))
        .build()
}

fn host() -> ClientScript {
    ClientScript::new().extension(UI_EXTENSION, json!({"mimeTypes": [UI_MIME_TYPE]}))
}

/// The structured result, or on revisions without it the JSON text.
fn data(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    match result.get("structuredContent") {
        Some(data) => data.clone(),
        None => serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap(),
    }
}

async fn call(client: &TestClient, tool: &str, arguments: Value) -> Value {
    serde_json::to_value(client.call_tool(tool, arguments).await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_contact_card_edits_a_field_through_the_app_only_tool() {
    let db = sqlite().await;
    for version in [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ] {
        let client = TestClient::connect_scripted(crm(&db), version, host())
            .await
            .unwrap();
        let tools = client.list_tools().await.unwrap();
        let details = tools
            .iter()
            .find(|t| t.name == "get_contact_details")
            .unwrap();
        assert_eq!(
            details.meta.as_ref().unwrap()["ui"]["resourceUri"],
            json!("ui://crm/contact")
        );
        let edit = tools
            .iter()
            .find(|t| t.name == "update_contact_field")
            .unwrap();
        assert_eq!(
            edit.meta.as_ref().unwrap()["ui"]["visibility"],
            json!(["app"])
        );
        for uri in ["ui://crm/contact", "ui://crm/pipeline"] {
            let read = client
                .request("resources/read", json!({"uri": uri}))
                .await
                .unwrap();
            let contents = &read["contents"][0];
            assert_eq!(contents["mimeType"], json!(UI_MIME_TYPE));
            assert!(contents["_meta"]["ui"].is_object(), "{contents}");
            assert!(contents["text"].as_str().unwrap().contains("ui/initialize"));
        }

        let shown = call(&client, "get_contact_details", json!({"id": 1})).await;
        let before = data(&shown)["contact"].clone();
        assert!(
            shown["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains(before["last_name"].as_str().unwrap())
        );
        let title = format!("Head of Apps {version}");
        let edited = call(
            &client,
            "update_contact_field",
            json!({"id": 1, "field": "title", "value": title}),
        )
        .await;
        assert_eq!(data(&edited)["contact"]["title"], json!(title));
        let again = call(&client, "get_contact_details", json!({"id": 1})).await;
        assert_eq!(data(&again)["contact"]["title"], json!(title));
        assert_eq!(data(&again)["contact"]["email"], before["email"]);

        let bad = call(
            &client,
            "update_contact_field",
            json!({"id": 1, "field": "email", "value": "not an address"}),
        )
        .await;
        assert_eq!(bad["isError"], true, "{bad}");
        let unknown = client
            .call_tool(
                "update_contact_field",
                json!({"id": 1, "field": "password", "value": "x"}),
            )
            .await;
        assert!(
            unknown.is_err() || unknown.unwrap().is_error(),
            "only the listed fields are editable"
        );
        let missing = call(
            &client,
            "update_contact_field",
            json!({"id": 999_999, "field": "title", "value": "x"}),
        )
        .await;
        assert_eq!(missing["isError"], true, "{missing}");
    }
}

#[tokio::test]
async fn a_client_without_views_neither_sees_nor_calls_the_app_only_tool() {
    let db = sqlite().await;
    let client = TestClient::connect(crm(&db), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().all(|t| t.name != "update_contact_field"));
    let refused = client
        .call_tool(
            "update_contact_field",
            json!({"id": 1, "field": "title", "value": "changed"}),
        )
        .await;
    assert!(refused.is_err() || refused.unwrap().is_error());
    let shown = call(&client, "get_contact_details", json!({"id": 1})).await;
    assert_ne!(data(&shown)["contact"]["title"], json!("changed"));
    assert!(!shown["content"][0]["text"].as_str().unwrap().is_empty());
}
