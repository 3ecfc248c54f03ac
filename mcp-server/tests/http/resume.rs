//! Resumable SSE streams over real sockets: event ids, the priming event,
//! `Last-Event-ID` replay after a broken stream (exactly once), refusal of
//! ids that are not the session's, and a bounded history under a flood.

use std::sync::Arc;

use mcp_server::transport::http::history::{EventLimits, MemoryEventStore};

use super::*;

/// One SSE event: its id, its `retry`, its data.
#[derive(Debug)]
struct Event {
    id: Option<String>,
    retry: Option<String>,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads SSE events one at a time, skipping keep-alive comments.
struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    fn new(response: hyper::Response<Incoming>) -> Self {
        assert_eq!(content_type(&response), "text/event-stream");
        Self {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` at the end of the stream (bounded wait).
    async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(Duration::from_secs(10), self.next_unbounded())
            .await
            .expect("an SSE event within 10 s")
    }

    async fn next_unbounded(&mut self) -> Option<Event> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event {
                    id: None,
                    retry: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in raw.lines() {
                    if let Some(id) = line.strip_prefix("id: ") {
                        event.id = Some(id.to_owned());
                        any = true;
                    } else if let Some(retry) = line.strip_prefix("retry: ") {
                        event.retry = Some(retry.to_owned());
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        event.data.push_str(data);
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
            }
            let frame = self.body.frame().await?.unwrap();
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }
}

fn slow_call(id: u64, steps: u32) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{
        "name":"slow","arguments":{"steps":steps},"_meta":{"progressToken":"tok"}}})
    .to_string()
}

fn progress_of(event: &Value) -> Option<u64> {
    (event["method"] == "notifications/progress")
        .then(|| event["params"]["progress"].as_f64().unwrap() as u64)
}

async fn resume(addr: SocketAddr, session: &str, last: &str) -> hyper::Response<Incoming> {
    send(
        addr,
        "GET",
        "/mcp",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", session),
            ("mcp-protocol-version", "2025-11-25"),
            ("last-event-id", last),
        ],
        "",
    )
    .await
}

#[tokio::test]
async fn a_long_call_whose_stream_broke_delivers_its_progress_and_result_on_resumption() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let session = initialize(addr, "2025-11-25").await;
    let headers = [
        JSON,
        ACCEPT,
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let response = send(addr, "POST", "/mcp", &headers, slow_call(7, 6)).await;
    let mut events = Events::new(response);

    // The priming event: an id, `retry`, empty data.
    let priming = events.next().await.unwrap();
    let stream_id = priming.id.clone().unwrap();
    assert!(
        stream_id.starts_with('p') && stream_id.ends_with("-0"),
        "{stream_id}"
    );
    assert_eq!(priming.retry.as_deref(), Some("1000"));
    assert_eq!(priming.data, "");

    // The first progress, then the client's connection breaks.
    let first = events.next().await.unwrap();
    assert_eq!(progress_of(&first.json()), Some(1));
    let last_seen = first.id.clone().unwrap();
    drop(events);

    // Resumed: every later progress and the result, each exactly once.
    let mut resumed = Events::new(resume(addr, &session, &last_seen).await);
    let mut progress = vec![1];
    let mut results = Vec::new();
    let mut ids = vec![last_seen.clone()];
    while let Some(event) = resumed.next().await {
        let json = event.json();
        ids.push(event.id.clone().unwrap());
        if let Some(step) = progress_of(&json) {
            progress.push(step);
        } else {
            results.push(json);
        }
    }
    assert_eq!(progress, [1, 2, 3, 4, 5, 6]);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["id"], 7);
    assert_eq!(
        results[0]["result"]["content"][0]["text"],
        "done after 6 steps"
    );
    let prefix = stream_id.trim_end_matches("-0");
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(*id, format!("{prefix}-{}", n + 1));
    }

    // Resuming again from the last id: nothing is delivered twice.
    let mut again = Events::new(resume(addr, &session, ids.last().unwrap()).await);
    assert!(again.next().await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn ids_of_another_session_forged_or_malformed_are_refused() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let a = initialize(addr, "2025-11-25").await;
    let b = initialize(addr, "2025-11-25").await;
    let headers = [
        JSON,
        ACCEPT,
        ("mcp-session-id", a.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let response = send(addr, "POST", "/mcp", &headers, slow_call(1, 2)).await;
    let mut events = Events::new(response);
    let priming = events.next().await.unwrap().id.unwrap();
    while events.next().await.is_some() {}

    // Session A may resume its own stream.
    let own = resume(addr, &a, &priming).await;
    assert_eq!(own.status(), 200);
    // Session B may not, nor anyone with an id this server never minted.
    let forged_stream = format!("p{}-0", "0".repeat(32));
    let stream = priming.trim_end_matches("-0");
    let too_far = format!("{stream}-999");
    for (session, last) in [
        (&b, priming.as_str()),
        (&a, forged_stream.as_str()),
        (&a, too_far.as_str()),
        (&a, "garbage"),
        (&a, ""),
    ] {
        let response = resume(addr, session, last).await;
        assert_eq!(response.status(), 400, "{last}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], -32600, "{body}");
    }
    // An unknown session is still 404.
    let response = resume(addr, "nope", &priming).await;
    assert_eq!(response.status(), 404);
    // After DELETE, the session's streams are gone with it.
    let response = send(addr, "DELETE", "/mcp", &[("mcp-session-id", &a)], "").await;
    assert_eq!(response.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn older_revisions_get_ids_without_a_priming_event_and_quick_answers_stay_json() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    for version in ["2025-03-26", "2025-06-18"] {
        let session = initialize(addr, version).await;
        let headers = [
            JSON,
            ACCEPT,
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", version),
        ];
        let response = send(addr, "POST", "/mcp", &headers, slow_call(3, 2)).await;
        let mut events = Events::new(response);
        let mut seen = 0;
        while let Some(event) = events.next().await {
            assert!(!event.data.is_empty(), "no priming event on {version}");
            assert!(event.retry.is_none());
            assert!(event.id.unwrap().starts_with('p'));
            seen += 1;
        }
        assert_eq!(seen, 3, "{version}: two progress events and the result");
    }
    let session = initialize(addr, "2025-11-25").await;
    let echo = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{
        "name":"echo","arguments":{"text":"hi"}}});
    let response = send(
        addr,
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("mcp-session-id", &session)],
        echo.to_string(),
    )
    .await;
    assert_eq!(content_type(&response), "application/json");
    server.shutdown().await;
}

#[tokio::test]
async fn the_get_stream_has_ids_and_resumes_on_the_same_stream() {
    let server = start(HttpConfig::default()).await;
    let addr = server.addr;
    let session = initialize(addr, "2025-11-25").await;
    let get = |last: Option<String>| {
        let session = session.clone();
        async move {
            let mut headers = vec![
                ("accept", "text/event-stream".to_owned()),
                ("mcp-session-id", session),
            ];
            if let Some(last) = last {
                headers.push(("last-event-id", last));
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            send(addr, "GET", "/mcp", &headers, "").await
        }
    };
    let mut stream = Events::new(get(None).await);
    let ready = server.service.stats();
    assert_eq!(ready.open_streams, 1);
    server.service.server().add_tool(extra::tool());
    let event = stream.next().await.unwrap();
    assert_eq!(event.json()["method"], "notifications/tools/list_changed");
    let id = event.id.unwrap();
    assert!(id.starts_with('g') && id.ends_with("-1"), "{id}");
    drop(stream);
    server.settles_to(1).await;

    let mut resumed = Events::new(get(Some(id.clone())).await);
    server.service.server().remove_tool("extra");
    let event = resumed.next().await.unwrap();
    assert_eq!(event.json()["method"], "notifications/tools/list_changed");
    let next = event.id.unwrap();
    assert_eq!(next, format!("{}-2", id.trim_end_matches("-1")));
    server.shutdown().await;
}

/// Sends `count` log messages of `size` bytes as fast as it can.
struct Chatty;

#[mcp_server(name = "chatty", version = "1.0.0")]
impl Chatty {
    /// Floods its stream.
    #[mcp_tool]
    async fn flood(
        &self,
        /** Messages. */
        count: u32,
        /** Bytes per message. */
        size: u32,
        ctx: &RequestContext,
    ) -> String {
        let text = "x".repeat(size as usize);
        for step in 0..count {
            ctx.progress(f64::from(step), None, Some(&text)).await;
        }
        "flooded".to_owned()
    }
}

#[tokio::test]
async fn a_flood_of_events_keeps_the_history_bounded() {
    const LIMIT: usize = 256 * 1024;
    let store = Arc::new(MemoryEventStore::new(
        EventLimits::default()
            .max_events_per_stream(50)
            .max_total_bytes(LIMIT),
    ));
    let config = HttpConfig::default().event_store(Arc::clone(&store) as _);
    let server = start_server(Chatty, config).await;
    let addr = server.addr;
    let session = initialize(addr, "2025-11-25").await;
    let headers = [
        JSON,
        ACCEPT,
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    for id in 0..8 {
        let call = json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{
            "name":"flood","arguments":{"count":500,"size":2000},"_meta":{"progressToken":"t"}}});
        let response = send(addr, "POST", "/mcp", &headers, call.to_string()).await;
        let mut events = Events::new(response);
        let mut last = None;
        while let Some(event) = events.next().await {
            if event.data.is_empty() {
                continue; // the priming event
            }
            last = Some(event.json());
            assert!(store.bytes() <= LIMIT, "{} bytes held", store.bytes());
        }
        assert_eq!(last.unwrap()["result"]["content"][0]["text"], "flooded");
    }
    assert!(store.bytes() <= LIMIT);
    server.shutdown().await;
}
