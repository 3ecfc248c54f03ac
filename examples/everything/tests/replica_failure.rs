//! Replicas of the `everything` binary sharing the Redis at 127.0.0.1:6379
//! (or `TEST_REDIS_URL`), as behind a load balancer without affinity: one
//! is killed (SIGKILL) while a session has a request in flight on it, and
//! one is stopped for a rolling restart (SIGTERM). What the client sees is
//! checked against real processes; every wait is on a condition with a
//! deadline. Fails loudly without Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

#[path = "support/replicas.rs"]
mod support;

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::json;
use support::{ORPHAN_DEADLINE, Replica, SESSION, Sse, call, cleanup, prefix, resume};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_s_session_continues_and_its_requests_and_tasks_fail_in_bounded_time() {
    let prefix = prefix("kill");
    let mut a = Replica::start(&prefix).await;
    let b = Replica::start(&prefix).await;
    let session = a.session().await;

    // On A: the session's GET stream, with one event in it ...
    let get = a
        .send(
            "GET",
            "/mcp",
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", SESSION),
            ],
            "",
        )
        .await
        .unwrap();
    let mut get = Sse::of(get);
    let changed = a
        .post(&session, &call(1, "test_trigger_tool_change", json!({})))
        .await;
    let _ = changed.into_body().collect().await.unwrap();
    let listed = get
        .next(Duration::from_secs(10))
        .await
        .expect("a GET event");
    assert_eq!(listed.json()["method"], "notifications/tools/list_changed");
    let get_id = listed.id.expect("GET events have ids");

    // ... a request in flight, waiting on the client, its stream primed ...
    let asking = a
        .post(
            &session,
            &call(7, "test_elicitation", json!({"message": "who are you?"})),
        )
        .await;
    let mut asking = Sse::of(asking);
    let primed = asking.next(Duration::from_secs(10)).await.expect("priming");
    let primed_id = primed.id.expect("the priming event has an id");
    let question = asking
        .next(Duration::from_secs(10))
        .await
        .expect("the question");
    assert_eq!(
        question.json()["method"],
        "elicitation/create",
        "{}",
        question.data
    );

    // ... and a task it runs.
    let created = a
        .stateless(
            "tools/call",
            "slow_compute",
            json!({"name": "slow_compute", "arguments": {"seconds": 120}}),
        )
        .await;
    let task = created["result"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned();
    let seen = b
        .stateless("tasks/get", &task, json!({"taskId": task}))
        .await;
    assert_eq!(seen["result"]["status"], "working", "{seen}");

    a.signal(rustix::process::Signal::KILL);
    let killed = Instant::now();
    assert!(!a.exited(Duration::from_secs(5)).await.success());
    // Its streams break.
    assert!(asking.next(Duration::from_secs(5)).await.is_none());
    assert!(get.next(Duration::from_secs(5)).await.is_none());

    // The session goes on on B.
    let greeted = b
        .post(&session, &call(8, "greet", json!({"name": "Ada"})))
        .await;
    assert_eq!(greeted.status(), 200);
    let greeted = greeted.into_body().collect().await.unwrap().to_bytes();
    let greeted = String::from_utf8_lossy(&greeted);
    assert!(greeted.contains("Ada"), "{greeted}");

    // The request's stream resumes on B: what was stored, then an error
    // answering the request, and its end.
    let mut resumed = resume(&b, &session, &primed_id).await;
    let replayed = resumed.next(ORPHAN_DEADLINE).await.expect("the replay");
    assert_eq!(
        replayed.json()["method"],
        "elicitation/create",
        "{}",
        replayed.data
    );
    assert_eq!(replayed.id, question.id);
    let failed = resumed.next(ORPHAN_DEADLINE).await.expect("an answer");
    let failed = failed.json();
    assert_eq!(failed["id"], 7, "{failed}");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("replica running this request stopped"),
        "{failed}"
    );
    assert!(killed.elapsed() < ORPHAN_DEADLINE);
    assert!(
        resumed.next(Duration::from_secs(5)).await.is_none(),
        "the stream ends"
    );
    // Resumed again, it holds the same answer, once.
    let mut again = resume(&b, &session, &replayed.id.unwrap()).await;
    assert_eq!(
        again.next(Duration::from_secs(5)).await.unwrap().json()["id"],
        7
    );
    assert!(again.next(Duration::from_secs(5)).await.is_none());

    // The GET stream resumes on B, and goes on there.
    let mut get = resume(&b, &session, &get_id).await;
    let changed = b
        .post(&session, &call(9, "test_trigger_tool_change", json!({})))
        .await;
    let _ = changed.into_body().collect().await.unwrap();
    let listed = get
        .next(Duration::from_secs(10))
        .await
        .expect("a GET event on B");
    assert_eq!(listed.json()["method"], "notifications/tools/list_changed");

    // The task fails, with a reason.
    let deadline = Instant::now() + ORPHAN_DEADLINE;
    let failed = loop {
        let got = b
            .stateless("tasks/get", &task, json!({"taskId": task}))
            .await;
        if got["result"]["status"] != "working" {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "the task is still working: {got}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["result"]["status"], "failed", "{failed}");
    let message =
        failed["result"]["statusMessage"].to_string() + &failed["result"]["error"].to_string();
    assert!(
        message.contains("replica running this task stopped"),
        "{failed}"
    );
    cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_for_a_rolling_restart_answers_in_flight_and_hands_streams_over() {
    let prefix = prefix("term");
    let mut a = Replica::start(&prefix).await;
    let b = Replica::start(&prefix).await;
    let session = a.session().await;

    let get = a
        .send(
            "GET",
            "/mcp",
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", SESSION),
            ],
            "",
        )
        .await
        .unwrap();
    let mut get = Sse::of(get);
    // A call still running when the signal comes, on a primed stream.
    let slow = a
        .post(
            &session,
            &call(
                3,
                "slow_compute",
                json!({"seconds": 1.5, "label": "drained"}),
            ),
        )
        .await;
    let mut slow = Sse::of(slow);
    let primed = slow.next(Duration::from_secs(10)).await.expect("priming");
    assert!(primed.id.is_some());

    a.signal(rustix::process::Signal::TERM);

    // The GET stream ends with where to resume and how soon ...
    let last = get
        .next(Duration::from_secs(10))
        .await
        .expect("a last event");
    assert!(last.retry.is_some(), "{last:?}");
    let resume_at = last.id.expect("the last event names where to resume");
    assert!(get.next(Duration::from_secs(5)).await.is_none());
    // ... the call is answered, not cut ...
    let answered = slow
        .next(Duration::from_secs(10))
        .await
        .expect("the answer");
    let answered = answered.json();
    assert_eq!(answered["id"], 3, "{answered}");
    assert!(
        answered["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("drained"),
        "{answered}"
    );
    assert!(slow.next(Duration::from_secs(5)).await.is_none());
    // ... and the replica exits cleanly.
    assert!(a.exited(Duration::from_secs(15)).await.success());

    // The client goes on on B, its GET stream resumed there.
    let mut get = resume(&b, &session, &resume_at).await;
    let changed = b
        .post(&session, &call(4, "test_trigger_tool_change", json!({})))
        .await;
    assert_eq!(changed.status(), 200);
    let _ = changed.into_body().collect().await.unwrap();
    let listed = get
        .next(Duration::from_secs(10))
        .await
        .expect("a GET event on B");
    assert_eq!(listed.json()["method"], "notifications/tools/list_changed");
    cleanup(&prefix).await;
}
