//! The 2024-11-05 HTTP+SSE transport behind a balancer: the stream is held
//! by one replica, its POSTs may land on any.

use super::*;

const SSE: (&str, &str) = ("accept", "text/event-stream");

/// Opens `GET /sse` on `addr`: the stream and the path its `endpoint`
/// event names.
async fn open_stream(addr: SocketAddr, extra: &[(&str, &str)]) -> (Incoming, String) {
    let mut headers = vec![SSE];
    headers.extend_from_slice(extra);
    let response = send(addr, "GET", "/sse", &headers, "").await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut buffer = String::new();
    let endpoint = tokio::time::timeout(BOUND, async {
        loop {
            let frame = body.frame().await.expect("stream open").unwrap();
            if let Ok(data) = frame.into_data() {
                buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
            if let Some(start) = buffer.find("event: endpoint\ndata: ") {
                let rest = &buffer[start + "event: endpoint\ndata: ".len()..];
                if let Some(end) = rest.find('\n') {
                    return rest[..end].trim().to_owned();
                }
            }
        }
    })
    .await
    .expect("the endpoint event arrived in time");
    (body, endpoint)
}

async fn post_message(
    addr: SocketAddr,
    endpoint: &str,
    extra: &[(&str, &str)],
    body: &Value,
) -> hyper::Response<Incoming> {
    let mut headers = vec![JSON];
    headers.extend_from_slice(extra);
    send(addr, "POST", endpoint, &headers, body.to_string()).await
}

fn with_id(id: u64) -> impl Fn(&Value) -> bool {
    move |value| value["id"] == id
}

#[tokio::test]
async fn a_legacy_stream_on_one_replica_takes_the_messages_posted_to_another() {
    let (a, b, _, _) = pair("legacy", HttpConfig::default()).await;
    let (mut stream, endpoint) = open_stream(a, &[]).await;
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name":"t","version":"1"}}});
    assert_eq!(
        post_message(b, &endpoint, &[], &initialize).await.status(),
        202
    );
    let answer = next_event(&mut stream, with_id(0)).await;
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    assert_eq!(
        post_message(b, &endpoint, &[], &initialized).await.status(),
        202
    );

    // Calls alternate between the replicas; every answer comes on A's stream.
    for id in 1..=6 {
        let replica = if id % 2 == 0 { a } else { b };
        let text = format!("call {id}");
        let posted = call(id, "echo", json!({"text": text}));
        let response = post_message(replica, &endpoint, &[], &posted).await;
        assert_eq!(response.status(), 202);
        let answer = next_event(&mut stream, with_id(id)).await;
        assert_eq!(answer["result"]["content"][0]["text"], text, "{answer}");
    }

    // A forged id is unknown on both.
    for replica in [a, b] {
        let forged = "/messages?session_id=0123456789abcdef0123456789abcdef";
        let posted = call(9, "echo", json!({"text": "x"}));
        let response = post_message(replica, forged, &[], &posted).await;
        assert_eq!(response.status(), 404);
    }

    // Once the stream ends, B learns so from the store (which A updates
    // as the stream closes).
    drop(stream);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let posted = call(10, "echo", json!({"text": "x"}));
        if post_message(b, &endpoint, &[], &posted).await.status() == 404 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ended stream is still known on B"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn another_principal_cannot_post_to_a_legacy_stream_through_any_replica() {
    let keys = ApiKeys::new()
        .key("alice", "alice-key-0123456789", ["r"])
        .key("mallory", "mallory-key-0123456789", ["r"]);
    let (a, b, _, _) = pair("legacy-foreign", HttpConfig::default().authenticator(keys)).await;
    let alice = [("x-api-key", "alice-key-0123456789")];
    let mallory = [("x-api-key", "mallory-key-0123456789")];
    let (mut stream, endpoint) = open_stream(a, &alice).await;
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name":"t","version":"1"}}});
    for replica in [a, b] {
        let stolen = post_message(replica, &endpoint, &mallory, &initialize).await;
        assert_eq!(
            stolen.status(),
            404,
            "another principal's stream is unknown"
        );
    }
    // Alice's own POST through B works, and Mallory's attempts left nothing
    // on the stream before it.
    assert_eq!(
        post_message(b, &endpoint, &alice, &initialize)
            .await
            .status(),
        202
    );
    let answer = next_event(&mut stream, |value| value.get("id").is_some()).await;
    assert_eq!(answer["id"], 0, "{answer}");
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
}
