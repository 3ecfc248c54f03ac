//! A server's link to its shared stores: its replica id, the heartbeat,
//! and the bus listener that hands other replicas' messages to this one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::broadcast;

use super::{BusMessage, ListChange, StoreError, Stores};
use crate::events::ServerEvent;

/// The shared stores of one server, and this replica's part in them.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) stores: Stores,
    /// This replica's id: random, new at every start.
    pub(crate) replica: String,
    /// Other replicas' messages about sessions and tasks, for the
    /// transports and task runner of this one.
    remote: broadcast::Sender<Arc<BusMessage>>,
    /// Whether the bus is subscribed and the last store call succeeded.
    healthy: AtomicBool,
    started: AtomicBool,
}

impl Shared {
    pub(crate) fn new(stores: Stores, replica: String) -> Self {
        Self {
            stores,
            replica,
            remote: broadcast::channel(1024).0,
            healthy: AtomicBool::new(false),
            started: AtomicBool::new(false),
        }
    }

    /// Whether the stores answer, for the readiness probe.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Records how a store call went, and passes its result on.
    pub(crate) fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let ok = !matches!(result, Err(StoreError::Unreachable(_)));
        if self.healthy.swap(ok, Ordering::AcqRel) != ok {
            if ok {
                tracing::info!("the shared state store is reachable again");
            } else if let Err(e) = &result {
                tracing::error!(error = %e, "the shared state store is unreachable");
            }
        }
        result
    }

    /// Messages from other replicas about sessions and tasks.
    pub(crate) fn remote(&self) -> broadcast::Receiver<Arc<BusMessage>> {
        self.remote.subscribe()
    }

    /// Publishes `message`; a failure is logged, as the bus is best effort.
    pub(crate) async fn publish(&self, message: BusMessage) {
        let result = self.stores.bus.publish(&message).await;
        if let Err(e) = self.observe(result) {
            tracing::warn!(error = %e, "a message to the other replicas was lost");
        }
    }

    /// Starts the listener and heartbeat, once, when a runtime is at hand;
    /// true when it started them now.
    pub(crate) fn start(self: &Arc<Self>, events: &broadcast::Sender<ServerEvent>) -> bool {
        if tokio::runtime::Handle::try_current().is_err()
            || self.started.swap(true, Ordering::AcqRel)
        {
            return false;
        }
        tokio::spawn(listen(Arc::downgrade(self), events.clone()));
        tokio::spawn(beat(Arc::downgrade(self)));
        true
    }
}

/// Hears the bus until the server is dropped, subscribing again after a
/// failure.
async fn listen(shared: Weak<Shared>, events: broadcast::Sender<ServerEvent>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(this) = shared.upgrade() else { return };
        let subscribed = this.stores.bus.subscribe().await;
        let mut stream = match this.observe(subscribed) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hear the other replicas; retrying");
                drop(this);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        drop(this);
        while let Some(message) = stream.next().await {
            let Some(this) = shared.upgrade() else { return };
            match message {
                BusMessage::ResourceUpdated { origin, uri } if origin != this.replica => {
                    let _ = events.send(ServerEvent::ResourceUpdated(Arc::from(uri)));
                }
                BusMessage::ListChanged { origin, list } if origin != this.replica => {
                    let _ = events.send(match list {
                        ListChange::Tools => ServerEvent::ToolsChanged,
                        ListChange::Prompts => ServerEvent::PromptsChanged,
                        ListChange::Resources => ServerEvent::ResourcesChanged,
                    });
                }
                BusMessage::ResourceUpdated { .. } | BusMessage::ListChanged { .. } => {}
                other => {
                    let _ = this.remote.send(Arc::new(other));
                }
            }
        }
        if let Some(this) = shared.upgrade() {
            this.healthy.store(false, Ordering::Release);
        }
        tracing::warn!("lost the bus to the other replicas; subscribing again");
    }
}

/// Keeps this replica's heartbeat, so its tasks are not taken for dead.
async fn beat(shared: Weak<Shared>) {
    loop {
        let Some(this) = shared.upgrade() else { return };
        let lease = this.stores.replica_lease;
        let result = this.stores.tasks.heartbeat(&this.replica, lease).await;
        if let Err(e) = this.observe(result) {
            tracing::warn!(error = %e, "heartbeat not recorded");
        }
        drop(this);
        tokio::time::sleep(lease / 3).await;
    }
}

/// The bus's name for a server event.
pub(crate) fn bus_message(origin: &str, event: &ServerEvent) -> BusMessage {
    let origin = origin.to_owned();
    match event {
        ServerEvent::ToolsChanged => BusMessage::ListChanged {
            origin,
            list: ListChange::Tools,
        },
        ServerEvent::PromptsChanged => BusMessage::ListChanged {
            origin,
            list: ListChange::Prompts,
        },
        ServerEvent::ResourcesChanged => BusMessage::ListChanged {
            origin,
            list: ListChange::Resources,
        },
        ServerEvent::ResourceUpdated(uri) => BusMessage::ResourceUpdated {
            origin,
            uri: uri.to_string(),
        },
    }
}
