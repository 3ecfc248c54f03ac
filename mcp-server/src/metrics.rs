//! Prometheus metrics: requests by method and outcome, tool calls by name
//! and outcome, request latency, live sessions and streams, rate-limit
//! refusals and authentication failures. Served by the HTTP transport at
//! `/metrics` in the Prometheus text format.

use std::fmt;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// A server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<Labels, Counter>,
    pub(crate) request_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    pub(crate) tool_calls: Family<Labels, Counter>,
    pub(crate) by_revision: Family<Labels, Counter>,
    pub(crate) rate_limited: Counter,
    pub(crate) auth_failures: Counter,
    pub(crate) sessions: Gauge,
    pub(crate) open_streams: Gauge,
    pub(crate) active_requests: Gauge,
    pub(crate) rate_limit_store_up: Gauge,
    pub(crate) audit_dropped: Family<Labels, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "JSON-RPC requests, by method and outcome",
            requests.clone(),
        );
        let request_seconds = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by method",
            request_seconds.clone(),
        );
        let tool_calls = Family::<Labels, Counter>::default();
        registry.register(
            "tool_calls",
            "Tool calls, by tool and outcome",
            tool_calls.clone(),
        );
        let by_revision = Family::<Labels, Counter>::default();
        registry.register(
            "revision_requests",
            "Requests served, by protocol revision",
            by_revision.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit",
            rate_limited.clone(),
        );
        let auth_failures = Counter::default();
        registry.register(
            "auth_failures",
            "Requests refused for missing or invalid credentials",
            auth_failures.clone(),
        );
        let sessions = Gauge::default();
        registry.register("sessions", "Live sessions", sessions.clone());
        let open_streams = Gauge::default();
        registry.register("open_streams", "Open SSE streams", open_streams.clone());
        let active_requests = Gauge::default();
        registry.register(
            "active_requests",
            "Requests whose handlers are running",
            active_requests.clone(),
        );
        let rate_limit_store_up = Gauge::default();
        registry.register(
            "rate_limit_store_up",
            "1 while the shared rate-limit store (Redis) answers, or limits are kept in memory; 0 while it cannot be reached",
            rate_limit_store_up.clone(),
        );
        let audit_dropped = Family::<Labels, Counter>::default();
        registry.register(
            "audit_records_dropped",
            "Audit records lost, by reason: queue_full (the sink fell behind), write_failed (the sink failed three times), no_runtime",
            audit_dropped.clone(),
        );
        // Each reason shows from the start, at 0, so an alert on it has a
        // series to watch.
        for reason in ["queue_full", "write_failed", "no_runtime"] {
            let _ = audit_dropped.get_or_create(&vec![("reason", reason.to_owned())]);
        }
        Self {
            registry,
            requests,
            request_seconds,
            by_revision,
            tool_calls,
            rate_limited,
            auth_failures,
            sessions,
            open_streams,
            active_requests,
            rate_limit_store_up,
            audit_dropped,
        }
    }

    pub(crate) fn request(&self, method: &str, outcome: &'static str, seconds: f64) {
        // Unknown methods are one label, so a client cannot grow the series.
        let method = if KNOWN_METHODS.contains(&method) {
            method.to_owned()
        } else {
            "other".to_owned()
        };
        self.requests
            .get_or_create(&vec![
                ("method", method.clone()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
        self.request_seconds
            .get_or_create(&vec![("method", method)])
            .observe(seconds);
    }

    pub(crate) fn revision(&self, version: mcp_core::ProtocolVersion) {
        self.by_revision
            .get_or_create(&vec![("revision", version.as_str().to_owned())])
            .inc();
    }

    /// Requests served so far on `version`.
    pub(crate) fn revision_count(&self, version: mcp_core::ProtocolVersion) -> u64 {
        self.by_revision
            .get(&vec![("revision", version.as_str().to_owned())])
            .map_or(0, |c| c.get())
    }

    pub(crate) fn tool_call(&self, tool: &str, outcome: &str) {
        self.tool_calls
            .get_or_create(&vec![
                ("tool", tool.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        text
    }
}

const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "logging/setLevel",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];
