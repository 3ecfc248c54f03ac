//! The suite through the in-process client on every revision: the three
//! servers' tools, resources and prompts under their namespaces, each
//! served by its own handlers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_server::ProtocolVersion;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};

fn data_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("suite-test-{}", std::process::id()))
}

fn data(result: &mcp_server::core::tool::CallToolResult) -> Value {
    assert!(!result.is_error(), "{result:?}");
    match &result.structured_content {
        Some(data) => data.clone(),
        None => serde_json::from_str(result.content[0].as_text().unwrap()).unwrap(),
    }
}

#[tokio::test]
async fn the_three_servers_answer_under_their_namespaces() {
    let root = data_root();
    let server = suite::builder(&suite::Config::in_memory(&root))
        .await
        .unwrap()
        .try_build()
        .unwrap();
    let names = server.tool_names();
    for prefix in ["crm_", "customer_", "jobs_"] {
        assert!(names.iter().any(|n| n.starts_with(prefix)), "{names:?}");
    }
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("crm_") || n.starts_with("customer_") || n.starts_with("jobs_"))
    );
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(server.clone(), version).await.unwrap();
        let listed = client.list_tools().await.unwrap();
        // The CRM's app-only tool is hidden from a client without MCP Apps.
        let hidden: Vec<_> = names
            .iter()
            .filter(|n| !listed.iter().any(|t| &t.name == *n))
            .collect();
        assert_eq!(hidden, ["crm_update_contact_field"], "{version}");
        assert_eq!(listed.len(), names.len() - 1, "{version}");

        let contacts = data(
            &client
                .call_tool("crm_search_contacts", json!({"query": "a"}))
                .await
                .unwrap(),
        );
        assert!(contacts.to_string().contains("email"), "{contacts}");
        let customer = data(
            &client
                .call_tool("customer_get_customer", json!({"id": 1}))
                .await
                .unwrap(),
        );
        assert_eq!(customer["id"], 1, "{customer}");
        let jobs = data(
            &client
                .call_tool("jobs_search_jobs", json!({"role": "rust", "num_jobs": 2}))
                .await
                .unwrap(),
        );
        assert!(!jobs["jobs"].as_array().unwrap().is_empty(), "{jobs}");

        let pipeline = client
            .request("resources/read", json!({"uri": "crm+crm://pipeline"}))
            .await
            .unwrap();
        assert_eq!(pipeline["contents"][0]["uri"], "crm+crm://pipeline");
        let contact = client
            .request("resources/read", json!({"uri": "crm+crm://contacts/1"}))
            .await
            .unwrap();
        assert_eq!(contact["contents"][0]["uri"], "crm+crm://contacts/1");
        let prompt = client
            .request(
                "prompts/get",
                json!({"name": "crm_account_brief", "arguments": {"company_id": "1"}}),
            )
            .await
            .unwrap();
        assert!(prompt["messages"].as_array().is_some_and(|m| !m.is_empty()));
    }
    let _ = std::fs::remove_dir_all(root);
}

/// The public client drives the suite binary over real stdio, on every
/// revision, and the suite exits when the client goes.
#[tokio::test]
async fn the_client_drives_the_suite_binary_over_stdio() {
    use mcp_server::client::{Client, ClientOptions};
    let root = data_root().join("stdio");
    for version in ProtocolVersion::ALL {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_suite"));
        command
            .env("CRM_DATABASE_URL", "sqlite::memory:")
            .env("CUSTOMER_DB_PATH", ":memory:")
            .env("IAM_DATA_ROOT", &root)
            .env_remove("RAPIDAPI_KEY")
            .env("LOG_LEVEL", "error");
        let client = Client::spawn(command, ClientOptions::new(version))
            .await
            .unwrap();
        let tools = client.list_tools().await.unwrap();
        assert!(
            tools.iter().any(|t| t.name == "crm_search_contacts"),
            "{version}"
        );
        let customer = client
            .call_tool("customer_get_customer", json!({"id": 2}))
            .await
            .unwrap();
        assert_eq!(data(&customer)["id"], 2, "{version}");
        let contact = client.read_resource("crm+crm://contacts/1").await.unwrap();
        assert_eq!(contact.contents.len(), 1);
    }
    let _ = std::fs::remove_dir_all(root);
}
