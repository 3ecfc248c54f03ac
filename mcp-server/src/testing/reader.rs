//! The test client's side of the pipe: answers matched to their requests,
//! notifications and the rest queued, the server's questions answered
//! from the script.

use std::collections::HashMap;
use std::sync::Arc;

use mcp_core::jsonrpc::{ErrorObject, Message, RequestId, error_code};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{ClientScript, TIMEOUT};

/// The requests waiting for their answers.
pub(super) type Pending =
    Arc<std::sync::Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>>;

/// The next value from `rx`, or `None` after the test timeout.
pub(super) async fn recv(rx: &Mutex<mpsc::UnboundedReceiver<Value>>) -> Option<Value> {
    let mut rx = rx.lock().await;
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .ok()
        .flatten()
}

pub(super) async fn read_loop(
    read: ReadHalf<DuplexStream>,
    pending: Pending,
    notifications: mpsc::UnboundedSender<Value>,
    unmatched: mpsc::UnboundedSender<Value>,
    writer: Arc<Mutex<WriteHalf<DuplexStream>>>,
    script: Arc<std::sync::RwLock<Arc<ClientScript>>>,
) {
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            let _ = unmatched.send(Value::String(line));
            continue;
        };
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            let answer = match Message::parse(&item.to_string()) {
                Ok(Message::Response(r)) => Some((
                    r.id,
                    serde_json::from_str::<Value>(r.result.get())
                        .map_err(|e| ErrorObject::new(error_code::PARSE_ERROR, e.to_string())),
                )),
                Ok(Message::Error(e)) => e.id.map(|id| (id, Err(e.error))),
                Ok(Message::Notification(_)) => {
                    let _ = notifications.send(item);
                    continue;
                }
                Ok(Message::Request(request)) => {
                    // The server asks: answer from the script.
                    let script = Arc::clone(
                        &script
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                    let reply = match script.answer(&request.method) {
                        Some(answer) => {
                            json!({"jsonrpc": "2.0", "id": request.id, "result": answer})
                        }
                        None => json!({"jsonrpc": "2.0", "id": request.id, "error": {
                            "code": error_code::METHOD_NOT_FOUND,
                            "message": format!("the test client has no scripted answer to `{}`", request.method),
                        }}),
                    };
                    let mut writer = writer.lock().await;
                    let _ = writer.write_all(format!("{reply}\n").as_bytes()).await;
                    let _ = writer.flush().await;
                    continue;
                }
                _ => None,
            };
            let waiter = answer.and_then(|(id, result)| {
                pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&id)
                    .map(|tx| (tx, result))
            });
            match waiter {
                Some((tx, result)) => {
                    let _ = tx.send(result);
                }
                None => {
                    let _ = unmatched.send(item);
                }
            }
        }
    }
}
