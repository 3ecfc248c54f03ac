//! A proxy's subscriptions to the remote server's resources: one per URI
//! while at least one local session listens to it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use crate::client::Client;
use crate::resource::{Watch, WatchChange};
use crate::session::Session;

/// A local session listening, and the URI it subscribed to.
type Listener = (Weak<Session>, String);

/// The remote URIs subscribed to, with their local listeners. A URI is a
/// key exactly while the remote server has the subscription.
#[derive(Clone)]
pub(super) struct Upstream {
    client: Arc<Client>,
    // Held across the remote request so changes reach it in order.
    listeners: Arc<tokio::sync::Mutex<HashMap<String, Vec<Listener>>>>,
}

/// Keeps the sessions that are still there and still subscribed.
fn prune(listeners: &mut Vec<Listener>) {
    listeners.retain(|(session, outer)| {
        session
            .upgrade()
            .is_some_and(|session| session.is_subscribed(outer))
    });
}

impl Upstream {
    pub(super) fn new(client: Arc<Client>) -> Self {
        Self {
            client,
            listeners: Arc::default(),
        }
    }

    /// The watch of a proxied resource or template.
    pub(super) fn watch(&self) -> Watch {
        let this = self.clone();
        Watch::new(move |change| {
            let this = this.clone();
            Box::pin(async move { this.changed(change).await })
        })
    }

    async fn changed(&self, change: WatchChange) {
        let mut all = self.listeners.lock().await;
        if change.subscribe {
            if let Some(listeners) = all.get_mut(&change.uri) {
                prune(listeners);
                if !listeners
                    .iter()
                    .any(|(s, o)| s.ptr_eq(&change.session) && *o == change.outer)
                {
                    listeners.push((change.session, change.outer));
                }
                return;
            }
            match self.client.subscribe(&change.uri).await {
                Ok(()) => {
                    all.insert(change.uri, vec![(change.session, change.outer)]);
                }
                Err(e) => {
                    tracing::warn!(uri = %change.uri, error = %e, "the remote server refused a subscription");
                }
            }
        } else if let Some(listeners) = all.get_mut(&change.uri) {
            prune(listeners);
            if listeners.is_empty() {
                all.remove(&change.uri);
                self.leave(&change.uri).await;
            }
        }
    }

    /// Called on each remote update of `uri`: a subscription whose local
    /// sessions all went away without unsubscribing is ended here.
    pub(super) async fn updated(&self, uri: &str) {
        let mut all = self.listeners.lock().await;
        if let Some(listeners) = all.get_mut(uri) {
            prune(listeners);
            if listeners.is_empty() {
                all.remove(uri);
                self.leave(uri).await;
            }
        }
    }

    async fn leave(&self, uri: &str) {
        if let Err(e) = self.client.unsubscribe(uri).await {
            tracing::warn!(uri = %uri, error = %e, "could not end a remote subscription");
        }
    }
}
