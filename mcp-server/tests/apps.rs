//! MCP Apps (`io.modelcontextprotocol/ui`) through the in-process client,
//! on every revision: views as `ui://` resources with their `_meta.ui`,
//! tools linked to them, app-only tools, and the fallback for clients
//! without the extension.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use mcp_server::core::apps::{UI_EXTENSION, UI_MIME_TYPE};
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use serde_json::{Value, json};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Note {
    id: u32,
    text: String,
}

#[derive(Default)]
struct Notes {
    edits: Arc<AtomicU32>,
}

#[mcp_server(name = "notes")]
impl Notes {
    /// The note card.
    #[mcp_resource(
        "ui://notes/card",
        ui(
            csp(connect_domains = ["https://api.example.com"], resource_domains = ["https://cdn.example.com"]),
            permissions(clipboard_write),
            prefers_border
        )
    )]
    async fn card(&self) -> &'static str {
        "<!doctype html><html><body><div id=note></div></body></html>"
    }

    /// A bare view: defaults only.
    #[mcp_resource("ui://notes/bare")]
    async fn bare(&self) -> String {
        "<!doctype html><p>bare</p>".to_owned()
    }

    /// Show a note.
    #[mcp_tool(read_only, ui = "ui://notes/card")]
    async fn show_note(
        &self,
        /** The note. */
        id: u32,
    ) -> Structured<Note> {
        Structured(Note {
            id,
            text: format!("note {id}"),
        })
    }

    /// Edit a note's text, from the card.
    #[mcp_tool(ui = "ui://notes/card", visibility = ["app"])]
    async fn edit_note(
        &self,
        /** The note. */
        id: u32,
        /** New text. */
        text: String,
    ) -> String {
        self.edits.fetch_add(1, Ordering::SeqCst);
        format!("note {id} is now {text}")
    }
}

fn ui_host() -> ClientScript {
    ClientScript::new().extension(UI_EXTENSION, json!({"mimeTypes": [UI_MIME_TYPE]}))
}

fn server() -> (Server, Arc<AtomicU32>) {
    let notes = Notes::default();
    let edits = Arc::clone(&notes.edits);
    (
        Server::builder().definition(notes).no_audit().build(),
        edits,
    )
}

#[tokio::test]
async fn a_host_with_the_extension_sees_views_and_app_only_tools() {
    for version in ProtocolVersion::ALL {
        let (server, edits) = server();
        let client = TestClient::connect_scripted(server, version, ui_host())
            .await
            .unwrap();
        let tools = client.list_tools().await.unwrap();
        let show = tools.iter().find(|t| t.name == "show_note").unwrap();
        let meta = show.meta.as_ref().unwrap();
        assert_eq!(
            meta["ui"],
            json!({"resourceUri": "ui://notes/card"}),
            "{version}"
        );
        assert_eq!(meta["ui/resourceUri"], json!("ui://notes/card"));
        let edit = tools
            .iter()
            .find(|t| t.name == "edit_note")
            .expect("app-only tool listed for a host");
        assert_eq!(
            edit.meta.as_ref().unwrap()["ui"],
            json!({"resourceUri": "ui://notes/card", "visibility": ["app"]})
        );

        let listed = client.request("resources/list", json!({})).await.unwrap();
        let card = listed["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["uri"] == "ui://notes/card")
            .unwrap();
        assert_eq!(card["mimeType"], json!(UI_MIME_TYPE));
        let expected_ui = json!({
            "csp": {"connectDomains": ["https://api.example.com"], "resourceDomains": ["https://cdn.example.com"]},
            "permissions": {"clipboardWrite": {}},
            "prefersBorder": true
        });
        assert_eq!(card["_meta"]["ui"], expected_ui);

        let read = client
            .request("resources/read", json!({"uri": "ui://notes/card"}))
            .await
            .unwrap();
        let contents = &read["contents"][0];
        assert_eq!(contents["mimeType"], json!(UI_MIME_TYPE), "{version}");
        assert_eq!(contents["_meta"]["ui"], expected_ui);
        assert!(
            contents["text"]
                .as_str()
                .unwrap()
                .starts_with("<!doctype html>")
        );

        let bare = client
            .request("resources/read", json!({"uri": "ui://notes/bare"}))
            .await
            .unwrap();
        assert_eq!(bare["contents"][0]["mimeType"], json!(UI_MIME_TYPE));
        assert_eq!(bare["contents"][0]["_meta"]["ui"], json!({}));

        let result = client
            .call_tool("edit_note", json!({"id": 1, "text": "hi"}))
            .await
            .unwrap();
        assert!(!result.is_error(), "{version}: {result:?}");
        assert_eq!(edits.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_client_without_the_extension_gets_text_and_structured_content_only() {
    for version in ProtocolVersion::ALL {
        let (server, edits) = server();
        let client = TestClient::connect(server, version).await.unwrap();
        let tools = client.list_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["show_note"],
            "{version}: the model must not see app-only tools"
        );

        let result = client
            .call_tool("show_note", json!({"id": 7}))
            .await
            .unwrap();
        assert!(!result.is_error());
        let text = serde_json::to_value(&result.content).unwrap();
        assert!(
            text[0]["text"].as_str().unwrap().contains("note 7"),
            "{text}"
        );
        if version.has_structured_output() {
            assert_eq!(
                result.structured_content,
                Some(json!({"id": 7, "text": "note 7"}))
            );
        }

        let refused = client
            .call_tool("edit_note", json!({"id": 1, "text": "hi"}))
            .await;
        assert!(refused.is_err() || refused.unwrap().is_error(), "{version}");
        assert_eq!(edits.load(Ordering::SeqCst), 0, "{version}");
    }
}

#[tokio::test]
async fn a_host_rendering_other_mime_types_only_is_no_html_host() {
    let (server, _) = server();
    let script =
        ClientScript::new().extension(UI_EXTENSION, json!({"mimeTypes": ["text/uri-list"]}));
    let client = TestClient::connect_scripted(server, ProtocolVersion::V2025_06_18, script)
        .await
        .unwrap();
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().all(|t| t.name != "edit_note"));
}

#[tokio::test]
async fn views_are_advertised_as_the_ui_extension_on_every_revision() {
    let (server, _) = server();
    let client = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let discovered: Value = client.request("server/discover", json!({})).await.unwrap();
    assert_eq!(
        discovered["capabilities"]["extensions"][UI_EXTENSION],
        json!({"mimeTypes": [UI_MIME_TYPE]})
    );
    // The handshake revisions announce it in `initialize` too.
    for version in ProtocolVersion::ALL
        .into_iter()
        .filter(|v| !v.is_stateless())
    {
        let (fresh, _) = crate::server();
        let client = TestClient::connect(fresh, version).await.unwrap();
        let initialized = client.initialize_result().unwrap();
        assert_eq!(
            initialized["capabilities"]["extensions"][UI_EXTENSION],
            json!({"mimeTypes": [UI_MIME_TYPE]}),
            "{version}"
        );
    }
}

#[tokio::test]
async fn views_built_by_hand_carry_their_meta() {
    use mcp_server::{UiCsp, UiResourceMeta, Visibility};
    let view = ResourceDef::ui("ui://hand/view", "view", |_call| async {
        "<!doctype html>"
    })
    .with_ui(UiResourceMeta {
        csp: Some(UiCsp {
            frame_domains: vec!["https://frames.example.com".into()],
            ..UiCsp::default()
        }),
        domain: Some("hand.example.com".into()),
        ..UiResourceMeta::default()
    });
    let tool = ToolDef::new(
        mcp_server::__private::tool_definition(
            "refresh",
            None,
            "Refresh.",
            serde_json::Map::new(),
            None,
            None,
            &[],
        ),
        |_call| async {
            mcp_server::core::tool::CallToolResult::success(vec![Content::text("ok")])
        },
    )
    .with_ui("ui://hand/view")
    .with_visibility([Visibility::App, Visibility::App]);
    assert!(tool.is_app_only());
    assert_eq!(tool.ui().unwrap().visibility, Some(vec![Visibility::App]));
    let server = Server::builder()
        .resource(view)
        .tool(tool)
        .no_audit()
        .build();
    let client = TestClient::connect_scripted(server, ProtocolVersion::V2025_11_25, ui_host())
        .await
        .unwrap();
    let read = client
        .request("resources/read", json!({"uri": "ui://hand/view"}))
        .await
        .unwrap();
    assert_eq!(
        read["contents"][0]["_meta"]["ui"],
        json!({"csp": {"frameDomains": ["https://frames.example.com"]}, "domain": "hand.example.com"})
    );
    assert_eq!(client.list_tools().await.unwrap().len(), 1);
}
