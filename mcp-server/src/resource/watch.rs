//! A hook told when a session subscribes to or leaves a resource: how a
//! proxied resource follows its remote one only while someone listens.

use std::sync::{Arc, Weak};

use crate::handler::BoxFuture;
use crate::session::Session;

/// One session's `resources/subscribe` or `resources/unsubscribe`.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) struct WatchChange {
    /// The URI as the resource's own server knows it (a mount's prefix
    /// taken off).
    pub(crate) uri: String,
    /// The URI the session named.
    pub(crate) outer: String,
    /// The session, to tell later whether it still listens.
    pub(crate) session: Weak<Session>,
    /// Subscribed, or left.
    pub(crate) subscribe: bool,
}

/// Runs for each subscription change on the resource it is attached to;
/// the answer to the client waits for it.
#[derive(Clone)]
pub(crate) struct Watch(Arc<dyn Fn(WatchChange) -> BoxFuture<()> + Send + Sync>);

impl Watch {
    pub(crate) fn new(f: impl Fn(WatchChange) -> BoxFuture<()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub(crate) fn changed(&self, change: WatchChange) -> BoxFuture<()> {
        (self.0)(change)
    }

    /// This watch for a resource listed under another URI: `inner` gives
    /// the URI it knows, or `None` for one that is not its own.
    pub(crate) fn mapped(
        &self,
        inner: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        let this = self.clone();
        Self::new(move |mut change| match inner(&change.uri) {
            Some(uri) => {
                change.uri = uri;
                this.changed(change)
            }
            None => Box::pin(async {}),
        })
    }
}
