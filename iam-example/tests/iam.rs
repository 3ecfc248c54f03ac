//! The job-search server offline through the in-process client, and the
//! real JSearch client against a local mock of the JSearch API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use iam_example::provider::{
    JSearchConfig, JSearchProvider, JobProvider, OfflineProvider, ProviderError, SearchQuery,
};
use iam_example::server::{Iam, server};
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};

fn temp_dir() -> std::path::PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "iam-test-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn data(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    match result.get("structuredContent") {
        Some(data) => data.clone(),
        None => serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap(),
    }
}

#[tokio::test]
async fn offline_every_tool_resource_and_prompt() {
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let root = temp_dir();
        let iam = Iam::new(Arc::new(OfflineProvider::bundled().unwrap()), &root);
        let srv = server(iam);
        assert!(
            srv.info()
                .instructions
                .as_deref()
                .unwrap()
                .contains("OFFLINE MODE")
        );
        let client = TestClient::connect(srv, version).await.unwrap();
        let call = |tool: &'static str, args: Value| {
            let client = &client;
            async move { serde_json::to_value(client.call_tool(tool, args).await.unwrap()).unwrap() }
        };

        let found = data(
            &call(
                "search_jobs",
                json!({"role": "rust", "country": "DE", "num_jobs": 3, "description_chars": 40}),
            )
            .await,
        );
        assert_eq!(found["source"], "offline sample dataset");
        assert_eq!(found["count"], 3);
        let first = &found["jobs"][0];
        assert!(first["job_description"].as_str().unwrap().chars().count() <= 41);
        let id = first["job_id"].as_str().unwrap().to_owned();
        let linkedin = data(
            &call(
                "search_jobs",
                json!({"role": "engineer", "publisher": "linkedin", "num_jobs": 20}),
            )
            .await,
        );
        assert!(
            linkedin["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["job_publisher"] == "LinkedIn")
        );
        let too_many = call("search_jobs", json!({"role": "rust", "num_jobs": 50})).await;
        assert_eq!(too_many["isError"], true);

        let details = data(&call("get_job_details", json!({"job_id": id})).await);
        assert_eq!(details["job_id"], id);
        let missing = call("get_job_details", json!({"job_id": "nope"})).await;
        assert_eq!(missing["content"][0]["text"], "no job with id `nope`");
        let salary = data(
            &call(
                "estimate_salary",
                json!({"job_title": "rust", "location": "Berlin"}),
            )
            .await,
        );
        assert!(!salary["estimates"].as_array().unwrap().is_empty());

        let saved = data(&call("save_jobs", json!({"job_ids": [id]})).await);
        let uri = saved["saved"][0]["uri"].as_str().unwrap().to_owned();
        assert_eq!(uri, format!("iam://jobs/{id}"));
        assert!(std::path::Path::new(saved["saved"][0]["path"].as_str().unwrap()).exists());
        let saved_json = data(
            &call(
                "save_jobs",
                json!({"job_ids": ["platform-remote-3"], "format": "json"}),
            )
            .await,
        );
        assert!(
            saved_json["saved"][0]["path"]
                .as_str()
                .unwrap()
                .ends_with(".json")
        );
        let traversal = call("save_jobs", json!({"job_ids": ["../../etc/passwd"]})).await;
        assert!(
            traversal["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("invalid job id")
        );
        let unknown = call("save_jobs", json!({"job_ids": [id, "ghost"]})).await;
        assert_eq!(
            unknown["isError"], true,
            "nothing is saved unless every job exists"
        );

        let read = client
            .request("resources/read", json!({"uri": uri}))
            .await
            .unwrap();
        assert!(
            read["contents"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("# ")
        );
        let json_read = client
            .request(
                "resources/read",
                json!({"uri": "iam://jobs/platform-remote-3"}),
            )
            .await
            .unwrap();
        assert_eq!(json_read["contents"][0]["mimeType"], "application/json");
        let index = client
            .request("resources/read", json!({"uri": "iam://jobs"}))
            .await
            .unwrap();
        assert!(
            index["contents"][0]["text"]
                .as_str()
                .unwrap()
                .contains(&uri)
        );
        let gone = client
            .request("resources/read", json!({"uri": "iam://jobs/never-saved"}))
            .await
            .unwrap_err();
        assert_eq!(
            gone.code,
            if version.is_stateless() {
                -32602
            } else {
                -32002
            }
        );

        let prompts = client.request("prompts/list", json!({})).await.unwrap();
        assert_eq!(prompts["prompts"].as_array().unwrap().len(), 5);
        let market = client
            .request(
                "prompts/get",
                json!({"name": "job_market_analysis", "arguments": {"role": "rust"}}),
            )
            .await
            .unwrap();
        assert!(
            market["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("Ferrous Systems")
        );
        let mesh = client
            .request("prompts/get", json!({"name": "resume_mesh", "arguments": {"resumes": "Ada, Rust dev\n---\nAda, SRE"}}))
            .await
            .unwrap();
        assert!(
            mesh["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("Resume 2")
        );
        let single = client
            .request(
                "prompts/get",
                json!({"name": "resume_mesh", "arguments": {"resumes": "one"}}),
            )
            .await
            .unwrap_err();
        assert_eq!(single.code, -32602);
        let tailored = client
            .request("prompts/get", json!({"name": "job_resume", "arguments": {"job_id": id, "resume": "Ada Lovelace, engineer"}}))
            .await
            .unwrap();
        assert!(
            tailored["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("Ada Lovelace")
        );
        let letter = client
            .request("prompts/get", json!({"name": "cover_letter", "arguments": {"job_id": id, "applicant_name": "Ada"}}))
            .await
            .unwrap();
        assert!(
            letter["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("from Ada")
        );
        let save = client
            .request(
                "prompts/get",
                json!({"name": "save_jobs_for", "arguments": {"role": "rust", "count": "2"}}),
            )
            .await
            .unwrap();
        assert!(
            save["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("best 2")
        );
        let _ = std::fs::remove_dir_all(root);
    }
}

/// What the mock JSearch API does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Unauthorized,
    /// 429 this many times, then OK.
    BusyThenOk(usize),
    AlwaysBusy,
    ServerError,
    Malformed,
    Slow,
}

struct Mock {
    mode: Mutex<Mode>,
    hits: AtomicUsize,
}

async fn answer(
    mock: Arc<Mock>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let hit = mock.hits.fetch_add(1, Ordering::SeqCst);
    let mode = *mock.mode.lock().unwrap();
    let key_ok = request
        .headers()
        .get("x-rapidapi-key")
        .is_some_and(|k| k == "test-key");
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let sample = json!({"status": "OK", "request_id": "mock", "data": [{
        "job_id": "mock-1", "job_title": "Rust Engineer", "employer_name": "Mock Corp",
        "job_publisher": "LinkedIn", "job_city": "Berlin", "job_country": "DE",
        "job_description": "Build things in Rust."
    }]});
    Ok(match mode {
        _ if !key_ok || mode == Mode::Unauthorized => {
            json(401, json!({"message": "Invalid API key"}))
        }
        Mode::BusyThenOk(n) if hit < n => json(429, json!({"message": "Too many requests"})),
        Mode::AlwaysBusy => json(429, json!({"message": "You have exceeded the rate limit"})),
        Mode::ServerError => json(500, json!({"message": "boom"})),
        Mode::Malformed => Response::new(Full::new(Bytes::from_static(b"<html>not json</html>"))),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(200, sample)
        }
        _ => {
            assert_eq!(request.uri().path(), "/search");
            json(200, sample)
        }
    })
}

async fn mock_api() -> (SocketAddr, Arc<Mock>) {
    let mock = Arc::new(Mock {
        mode: Mutex::new(Mode::Ok),
        hits: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::clone(&mock);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let mock = Arc::clone(&served);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |r| answer(Arc::clone(&mock), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, mock)
}

fn client(addr: SocketAddr, key: &str) -> JSearchProvider {
    let mut config = JSearchConfig::new(key, "jsearch.p.rapidapi.com");
    config.base_url = format!("http://{addr}");
    config.timeout = Duration::from_millis(500);
    config.backoff = Duration::from_millis(10);
    config.attempts = 3;
    JSearchProvider::new(config).unwrap()
}

fn query(role: &str) -> SearchQuery {
    SearchQuery {
        role: role.into(),
        num_jobs: 5,
        ..SearchQuery::default()
    }
}

#[tokio::test]
async fn the_jsearch_client_against_a_mock_api() {
    let (addr, mock) = mock_api().await;
    let set = |mode| {
        *mock.mode.lock().unwrap() = mode;
        mock.hits.store(0, Ordering::SeqCst);
    };
    let api = client(addr, "test-key");

    // Success, then the same search from the cache.
    set(Mode::Ok);
    let jobs = api.search(query("rust")).await.unwrap();
    assert_eq!(jobs[0].job_title, "Rust Engineer");
    api.search(query("rust")).await.unwrap();
    assert_eq!(
        mock.hits.load(Ordering::SeqCst),
        1,
        "the second search came from the cache"
    );

    // A wrong key is an auth error at once, without retries.
    set(Mode::Ok);
    let wrong = client(addr, "wrong-key")
        .search(query("go"))
        .await
        .unwrap_err();
    assert_eq!(wrong, ProviderError::Auth(401));
    assert_eq!(mock.hits.load(Ordering::SeqCst), 1);
    assert!(wrong.to_string().contains("RAPIDAPI_KEY"));

    // 429s are retried with backoff, and succeed when the API recovers.
    set(Mode::BusyThenOk(2));
    assert_eq!(api.search(query("python")).await.unwrap().len(), 1);
    assert_eq!(mock.hits.load(Ordering::SeqCst), 3);

    // A quota that stays exhausted is a clear error after the attempts.
    set(Mode::AlwaysBusy);
    assert_eq!(
        api.search(query("java")).await.unwrap_err(),
        ProviderError::Quota(3)
    );

    set(Mode::ServerError);
    assert_eq!(
        api.search(query("c++")).await.unwrap_err(),
        ProviderError::Unavailable {
            status: 500,
            attempts: 3
        }
    );

    set(Mode::Malformed);
    assert!(matches!(
        api.search(query("kotlin")).await.unwrap_err(),
        ProviderError::Malformed(_)
    ));

    set(Mode::Slow);
    assert!(matches!(
        api.search(query("scala")).await.unwrap_err(),
        ProviderError::Timeout(_)
    ));

    // Through the MCP server, failures are tool errors the model can read.
    set(Mode::AlwaysBusy);
    let root = temp_dir();
    let mcp = TestClient::connect(
        server(Iam::new(Arc::new(client(addr, "test-key")), &root)),
        ProtocolVersion::V2025_11_25,
    )
    .await
    .unwrap();
    let result = mcp
        .call_tool("search_jobs", json!({"role": "haskell"}))
        .await
        .unwrap();
    assert!(result.is_error());
    assert!(
        result.content[0]
            .as_text()
            .unwrap()
            .contains("quota is exhausted")
    );
}
