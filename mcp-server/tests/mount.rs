//! Composing servers with `ServerBuilder::mount`, through the in-process
//! client on every revision: namespaced listings, calls with the composed
//! server's context, clashes, and changes of a mounted server reaching the
//! composed server's clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_server::core::prompt::{Prompt, PromptArgument};
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use mcp_server::{
    AskError, DefinitionKind, DefinitionSource, Elicited, MountError, ServerError, schema,
};
use serde_json::{Value, json};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Confirm {
    /// Go ahead?
    ok: bool,
}

struct Contacts;

#[mcp_server(name = "contacts")]
impl Contacts {
    /// Find contacts by name.
    #[mcp_tool]
    async fn search(
        &self,
        /** Part of a name. */
        query: String,
    ) -> String {
        ["Ada", "Alan"]
            .iter()
            .filter(|n| n.to_lowercase().contains(&query.to_lowercase()))
            .copied()
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Delete a contact after the user confirms, reporting progress.
    #[mcp_tool]
    async fn delete(
        &self,
        /** The contact. */
        id: u64,
        ctx: &RequestContext,
    ) -> String {
        ctx.progress(1.0, Some(2.0), Some("asking")).await;
        ctx.log(LoggingLevel::Info, Some("contacts"), "deleting")
            .await;
        match ctx
            .elicit::<Confirm>("confirm", format!("Delete {id}?"))
            .await
        {
            Ok(Elicited::Accepted(Confirm { ok: true })) => {
                ctx.progress(2.0, Some(2.0), Some("done")).await;
                format!("deleted {id}")
            }
            Ok(_) => format!("kept {id}"),
            Err(AskError::Unavailable(_)) => "cannot ask".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    /// The name of the tool as its handler saw it.
    #[mcp_tool]
    async fn whoami(&self, ctx: &RequestContext) -> String {
        ctx.server().info().implementation.name.clone()
    }
}

fn contacts() -> Server {
    let greet = PromptDef::new(
        Prompt {
            name: "greet".into(),
            title: None,
            description: Some("Greet a contact.".into()),
            arguments: vec![PromptArgument {
                name: "name".into(),
                title: None,
                description: None,
                required: Some(true),
            }],
            icons: None,
            meta: None,
        },
        |call: PromptCall| async move {
            let name: String = call.require("name")?;
            Ok::<_, mcp_server::core::ProtocolError>(format!("Hello {name}"))
        },
    )
    .complete("name", |req| async move {
        Completions::matching(["Ada", "Alan", "Bob"], &req.value)
    });
    let card = ResourceTemplateDef::new(
        "contacts://{id}",
        "contact",
        Some("application/json"),
        |call| async move {
            let id: u64 = call.parse("id")?;
            Ok::<_, ResourceError>(format!(r#"{{"id":{id},"uri":"{}"}}"#, call.uri()))
        },
    )
    .unwrap();
    let view = ResourceDef::new(
        "ui://contacts/card",
        "card",
        Some("text/html;profile=mcp-app"),
        |_call| async { "<p>card</p>" },
    );
    let all = ResourceDef::new("contacts://all", "all", None, |call| async move {
        format!("all at {}", call.uri())
    });
    Server::builder()
        .definition(Contacts)
        // Settings of the mounted server must not reach the composed one.
        .page_size(1)
        .prompt(greet)
        .resource_template(card)
        .resource(view)
        .resource(all)
        .build()
}

fn jobs() -> Server {
    Server::builder()
        .name("jobs")
        .tool(echo("search"))
        .resource(ResourceDef::new(
            "jobs://saved",
            "saved",
            None,
            |_c| async { "none" },
        ))
        .build()
}

fn echo(name: &str) -> ToolDef {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Args {
        /// Anything.
        #[allow(dead_code)]
        text: Option<String>,
    }
    let tool = mcp_server::core::tool::Tool {
        name: name.into(),
        title: None,
        description: Some("Echo.".into()),
        input_schema: schema::input_schema_for::<Args>(),
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    ToolDef::new(tool, |call: ToolCall| async move {
        format!(
            "{} said {:?}",
            call.name(),
            call.raw_arguments().map(|a| a.get())
        )
        .into_tool_result()
    })
}

fn suite() -> Server {
    Server::builder()
        .name("suite")
        .tool(echo("ping"))
        .mount("crm", contacts())
        .mount("jobs", jobs())
        .try_build()
        .unwrap()
}

fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn mounted_definitions_are_listed_and_served_under_their_namespace() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(suite(), version).await.unwrap();
        let tools = client.request("tools/list", json!({})).await.unwrap();
        assert_eq!(
            names(&tools, "tools", "name"),
            [
                "ping",
                "crm_search",
                "crm_delete",
                "crm_whoami",
                "jobs_search"
            ],
            "{version}: one page, so the mounted server's page size is not used"
        );
        assert!(tools.get("nextCursor").is_none_or(Value::is_null));

        let found = client
            .call_tool("crm_search", json!({"query": "ad"}))
            .await
            .unwrap();
        assert_eq!(found.content[0].as_text(), Some("Ada"));
        // The handler runs with the composed server's context.
        let who = client.call_tool("crm_whoami", json!({})).await.unwrap();
        assert_eq!(who.content[0].as_text(), Some("suite"));
        // A hand-written handler still sees the name it was written for.
        let echo = client
            .call_tool("jobs_search", json!({"text": "x"}))
            .await
            .unwrap();
        assert!(
            echo.content[0]
                .as_text()
                .unwrap()
                .starts_with("search said"),
            "{echo:?}"
        );

        let resources = client.request("resources/list", json!({})).await.unwrap();
        assert_eq!(
            names(&resources, "resources", "uri"),
            [
                "ui://crm/contacts/card",
                "crm+contacts://all",
                "jobs+jobs://saved"
            ]
        );
        let templates = client
            .request("resources/templates/list", json!({}))
            .await
            .unwrap();
        assert_eq!(
            names(&templates, "resourceTemplates", "uriTemplate"),
            ["crm+contacts://{id}"]
        );
        let read = client
            .request("resources/read", json!({"uri": "crm+contacts://7"}))
            .await
            .unwrap();
        // The handler reads its own URI; the client sees the listed one.
        assert_eq!(read["contents"][0]["uri"], "crm+contacts://7");
        assert_eq!(
            read["contents"][0]["text"],
            r#"{"id":7,"uri":"contacts://7"}"#
        );
        let all = client
            .request("resources/read", json!({"uri": "crm+contacts://all"}))
            .await
            .unwrap();
        assert_eq!(all["contents"][0]["text"], "all at contacts://all");
        let view = client
            .request("resources/read", json!({"uri": "ui://crm/contacts/card"}))
            .await
            .unwrap();
        assert_eq!(view["contents"][0]["uri"], "ui://crm/contacts/card");
        assert_eq!(view["contents"][0]["mimeType"], "text/html;profile=mcp-app");
        // The mounted server's own URIs are not served by the composition.
        let missing = client
            .request("resources/read", json!({"uri": "contacts://7"}))
            .await
            .unwrap_err();
        assert!(
            missing.code == -32002 || missing.code == -32602,
            "{missing:?}"
        );

        let prompts = client.request("prompts/list", json!({})).await.unwrap();
        assert_eq!(names(&prompts, "prompts", "name"), ["crm_greet"]);
        let prompt = client
            .request(
                "prompts/get",
                json!({"name": "crm_greet", "arguments": {"name": "Ada"}}),
            )
            .await
            .unwrap();
        assert_eq!(prompt["messages"][0]["content"]["text"], "Hello Ada");
        let completion = client
            .request(
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "crm_greet"}, "argument": {"name": "name", "value": "A"}}),
            )
            .await
            .unwrap();
        assert_eq!(completion["completion"]["values"], json!(["Ada", "Alan"]));
        if let Some(init) = client.initialize_result() {
            let caps = &init["capabilities"];
            assert!(caps["prompts"].is_object(), "{caps}");
            assert!(caps["resources"].is_object(), "{caps}");
            if version >= ProtocolVersion::V2025_03_26 {
                assert!(caps["completions"].is_object(), "{caps}");
            }
        }
    }
}

#[tokio::test]
async fn progress_logging_and_elicitation_reach_the_mounted_handler() {
    let script = ClientScript::new().elicit(json!({"action": "accept", "content": {"ok": true}}));
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect_scripted(suite(), version, script.clone())
            .await
            .unwrap();
        if !version.is_stateless() {
            client
                .request("logging/setLevel", json!({"level": "info"}))
                .await
                .unwrap();
        }
        let result = client
            .call_tool_with_progress("crm_delete", json!({"id": 3}), "p1")
            .await
            .unwrap();
        // Elicitation came with 2025-06-18.
        let expected = if version >= ProtocolVersion::V2025_06_18 {
            "deleted 3"
        } else {
            "cannot ask"
        };
        assert_eq!(result.content[0].as_text(), Some(expected), "{version}");
        if !version.is_stateless() {
            let notes = client.drain_notifications().await;
            let methods: Vec<&str> = notes
                .iter()
                .map(|n| n["method"].as_str().unwrap())
                .collect();
            assert!(
                methods.contains(&"notifications/progress"),
                "{version}: {methods:?}"
            );
            assert!(
                methods.contains(&"notifications/message"),
                "{version}: {methods:?}"
            );
            assert!(
                notes.iter().any(|n| n["params"]["progressToken"] == "p1"),
                "{notes:?}"
            );
        }
    }
}

#[tokio::test]
async fn changes_of_a_mounted_server_reach_the_composed_servers_clients() {
    let crm = contacts();
    let composed = Server::builder().mount("crm", crm.clone()).build();
    let client = TestClient::connect(composed.clone(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();

    crm.add_tool(echo("export"));
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert!(composed.tool_names().contains(&"crm_export".to_owned()));
    let exported = client.call_tool("crm_export", json!({})).await.unwrap();
    assert!(
        exported.content[0]
            .as_text()
            .unwrap()
            .starts_with("export said")
    );

    assert!(crm.remove_tool("search"));
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert!(!composed.tool_names().contains(&"crm_search".to_owned()));
    let gone = client.call_tool("crm_search", json!({"query": "a"})).await;
    assert!(
        gone.is_err() || gone.as_ref().is_ok_and(|r| r.is_error()),
        "{gone:?}"
    );

    crm.add_resource(ResourceDef::new(
        "contacts://new",
        "new",
        None,
        |_c| async { "fresh" },
    ));
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/resources/list_changed");
    assert!(
        composed
            .resource_uris()
            .contains(&"crm+contacts://new".to_owned())
    );

    client
        .request("resources/subscribe", json!({"uri": "crm+contacts://9"}))
        .await
        .unwrap();
    crm.resource_updated("contacts://8"); // not subscribed
    crm.resource_updated("contacts://9");
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/resources/updated");
    assert_eq!(note["params"]["uri"], "crm+contacts://9");
}

#[tokio::test]
async fn a_mount_that_would_hide_a_definition_is_refused_naming_both() {
    let err = Server::builder()
        .tool(echo("crm_search"))
        .mount("crm", contacts())
        .try_build()
        .unwrap_err();
    let ServerError::Mount(MountError::Clash {
        kind,
        name,
        first,
        second,
    }) = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*kind, DefinitionKind::Tool);
    assert_eq!(name, "crm_search");
    assert_eq!(*first, DefinitionSource::Local);
    assert_eq!(*second, DefinitionSource::Mount("crm".into()));
    assert_eq!(
        err.to_string(),
        "tool `crm_search` is defined by both this server and the server mounted as `crm`"
    );

    // The same prefix twice clashes on every definition.
    let err = Server::builder()
        .mount("jobs", jobs())
        .mount("jobs", jobs())
        .try_build()
        .unwrap_err();
    assert!(
        err.to_string().contains("the server mounted as `jobs`"),
        "{err}"
    );

    for prefix in ["", "crm_x", "1crm", "crm+"] {
        let err = Server::builder()
            .mount(prefix, jobs())
            .try_build()
            .unwrap_err();
        assert!(
            matches!(&err, ServerError::Mount(MountError::InvalidPrefix(p)) if p == prefix),
            "{err:?}"
        );
    }

    // `build` keeps the first definition and serves.
    let kept = Server::builder()
        .tool(echo("crm_search"))
        .mount("crm", contacts())
        .build();
    let client = TestClient::connect(kept, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    let result = client.call_tool("crm_search", json!({})).await.unwrap();
    assert!(
        result.content[0]
            .as_text()
            .unwrap()
            .starts_with("crm_search said"),
        "{result:?}"
    );
}

#[tokio::test]
async fn mounts_nest() {
    let inner = Server::builder().mount("crm", contacts()).build();
    let outer = Server::builder().mount("suite", inner).try_build().unwrap();
    assert!(outer.tool_names().contains(&"suite_crm_search".to_owned()));
    assert!(
        outer
            .resource_template_uris()
            .contains(&"suite+crm+contacts://{id}".to_owned())
    );
    let client = TestClient::connect(outer, ProtocolVersion::V2024_11_05)
        .await
        .unwrap();
    let read = client
        .request("resources/read", json!({"uri": "suite+crm+contacts://5"}))
        .await
        .unwrap();
    assert_eq!(read["contents"][0]["uri"], "suite+crm+contacts://5");
    assert_eq!(
        read["contents"][0]["text"],
        r#"{"id":5,"uri":"contacts://5"}"#
    );
}

#[derive(schemars::JsonSchema)]
struct NoArguments {}

/// A server whose tool and prompt point at its own resources and at a page
/// elsewhere.
fn linking() -> Server {
    use mcp_server::core::content::{Content, ResourceLink};
    let link = |uri: &str| {
        Content::ResourceLink(ResourceLink {
            uri: uri.into(),
            name: uri.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
        })
    };
    let tool = mcp_server::core::tool::Tool {
        name: "links".into(),
        title: None,
        description: Some("Links.".into()),
        input_schema: schema::input_schema_for::<NoArguments>(),
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    let links = ToolDef::new(tool, move |_call: ToolCall| {
        let content = vec![
            link("contacts://7"),
            link("contacts://all"),
            link("https://example.com/contacts/7"),
            Content::embedded_text("contacts://8", "application/json", "{}"),
        ];
        async move { content.into_tool_result() }
    });
    let brief = PromptDef::new(
        Prompt {
            name: "brief".into(),
            title: None,
            description: None,
            arguments: Vec::new(),
            icons: None,
            meta: None,
        },
        |_call: PromptCall| async {
            vec![
                mcp_server::core::prompt::PromptMessage::user(Content::embedded_text(
                    "contacts://9",
                    "application/json",
                    "{}",
                )),
                mcp_server::core::prompt::PromptMessage::user(Content::embedded_text(
                    "notes://elsewhere",
                    "text/plain",
                    "x",
                )),
            ]
        },
    );
    let card = ResourceTemplateDef::new("contacts://{id}", "contact", None, |call| async move {
        Ok::<_, ResourceError>(format!("contact {}", call.variable("id").unwrap_or("?")))
    })
    .unwrap();
    Server::builder()
        .name("contacts")
        .tool(links)
        .prompt(brief)
        .resource_template(card)
        .resource(ResourceDef::new(
            "contacts://all",
            "all",
            None,
            |_c| async { "all" },
        ))
        .build()
}

#[tokio::test]
async fn links_in_a_mounted_servers_results_name_the_composed_servers_uris() {
    let suite = Server::builder()
        .name("suite")
        .mount("crm", linking())
        .build();
    let client = TestClient::connect(suite, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    let result = client.call_tool("crm_links", json!({})).await.unwrap();
    let uris: Vec<Value> = serde_json::to_value(&result.content)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.get("uri")
                .or_else(|| c["resource"].get("uri"))
                .cloned()
                .unwrap()
        })
        .collect();
    assert_eq!(
        uris,
        [
            "crm+contacts://7",
            "crm+contacts://all",
            "https://example.com/contacts/7",
            "crm+contacts://8"
        ]
    );
    // Each rewritten link reads through the composed server.
    for uri in ["crm+contacts://7", "crm+contacts://all"] {
        let read = client
            .request("resources/read", json!({"uri": uri}))
            .await
            .unwrap();
        assert_eq!(read["contents"][0]["uri"], uri, "{read}");
    }

    let prompt = client
        .request("prompts/get", json!({"name": "crm_brief"}))
        .await
        .unwrap();
    assert_eq!(
        prompt["messages"][0]["content"]["resource"]["uri"],
        "crm+contacts://9"
    );
    assert_eq!(
        prompt["messages"][1]["content"]["resource"]["uri"],
        "notes://elsewhere"
    );
}
