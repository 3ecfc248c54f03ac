//! Prometheus metrics: requests by method and outcome, tool calls by name
//! and outcome, request latency, live sessions and streams, rate-limit
//! refusals and authentication failures. Served by the HTTP transport at
//! `/metrics` in the Prometheus text format.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use foldhash::HashMap;

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
    pub(crate) tool_calls: Family<Labels, Counter>,
    tool_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    /// Each tool's series, found with one lookup by name: a call builds
    /// no labels and hashes none.
    by_tool: RwLock<HashMap<Arc<str>, ToolSeries>>,
    pub(crate) rate_limited: Counter,
    pub(crate) auth_failures: Counter,
    pub(crate) sessions: Gauge,
    pub(crate) open_streams: Gauge,
    pub(crate) active_requests: Gauge,
    pub(crate) rate_limit_store_up: Gauge,
    pub(crate) audit_dropped: Family<Labels, Counter>,
    /// Responses a `MetricsLayer` saw, by status, and their time.
    http_responses: Family<Labels, Counter>,
    http_seconds: Histogram,
    /// The series of each known method (and `other`), made once: a
    /// request finds its own without building labels or hashing them.
    by_method: Vec<MethodSeries>,
    /// Each revision's counter, in `ProtocolVersion::ALL`'s order.
    revisions: Vec<(mcp_core::ProtocolVersion, Counter)>,
}

/// One method's request counters and latency histogram.
struct MethodSeries {
    ok: Counter,
    error: Counter,
    seconds: Histogram,
}

/// One tool's latency histogram and its call counters by outcome, each
/// counter made on its first use, so only outcomes seen have a series.
struct ToolSeries {
    seconds: Histogram,
    calls: [OnceLock<Counter>; OUTCOMES],
}

/// Room for a tool's call counters, one per outcome.
pub(crate) const OUTCOMES: usize = 10;

/// A tool call's outcome as the metrics count it (the audit log's
/// outcome): its label, and where its counter is kept.
pub(crate) trait CallOutcome: Copy {
    /// The `outcome` label.
    fn label(self) -> &'static str;
    /// A dense index below [`OUTCOMES`].
    fn index(self) -> usize;
}

impl ToolSeries {
    fn record(
        &self,
        family: &Family<Labels, Counter>,
        tool: &str,
        outcome: impl CallOutcome,
        seconds: f64,
    ) {
        self.seconds.observe(seconds);
        let Some(counter) = self.calls.get(outcome.index()) else {
            tracing::error!(
                outcome = outcome.label(),
                "no room for the counter of this outcome"
            );
            return;
        };
        counter
            .get_or_init(|| {
                let labels = vec![
                    ("tool", tool.to_owned()),
                    ("outcome", outcome.label().to_owned()),
                ];
                family.get_or_create(&labels).clone()
            })
            .inc();
    }
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
        let tool_seconds = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "tool_call_duration_seconds",
            "Time a tool call took, by tool",
            tool_seconds.clone(),
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
        let http_responses = Family::<Labels, Counter>::default();
        registry.register(
            "http_responses",
            "HTTP responses seen by a MetricsLayer, by status code",
            http_responses.clone(),
        );
        let http_seconds = latency_histogram();
        registry.register(
            "http_response_seconds",
            "Time to the start of an HTTP response seen by a MetricsLayer",
            http_seconds.clone(),
        );
        // Each reason shows from the start, at 0, so an alert on it has a
        // series to watch.
        for reason in ["queue_full", "write_failed", "no_runtime"] {
            let _ = audit_dropped.get_or_create(&vec![("reason", reason.to_owned())]);
        }
        let series = |method: &str| {
            let labels = |outcome: &str| {
                vec![
                    ("method", method.to_owned()),
                    ("outcome", outcome.to_owned()),
                ]
            };
            // One statement each: the guard `get_or_create` returns holds
            // the family's lock until the statement ends.
            let ok = requests.get_or_create(&labels("ok")).clone();
            let error = requests.get_or_create(&labels("error")).clone();
            let seconds = request_seconds
                .get_or_create(&vec![("method", method.to_owned())])
                .clone();
            MethodSeries { ok, error, seconds }
        };
        let by_method = KNOWN_METHODS
            .iter()
            .copied()
            .chain(["other"])
            .map(series)
            .collect();
        let revisions = mcp_core::ProtocolVersion::ALL
            .iter()
            .map(|v| {
                let counter = by_revision
                    .get_or_create(&vec![("revision", v.as_str().to_owned())])
                    .clone();
                (*v, counter)
            })
            .collect();
        Self {
            registry,
            tool_calls,
            tool_seconds,
            by_tool: RwLock::new(HashMap::default()),
            rate_limited,
            auth_failures,
            sessions,
            open_streams,
            active_requests,
            rate_limit_store_up,
            audit_dropped,
            http_responses,
            http_seconds,
            by_method,
            revisions,
        }
    }

    pub(crate) fn request(&self, method: &str, ok: bool, seconds: f64) {
        // Unknown methods are one series, so a client cannot grow them.
        let index = KNOWN_METHODS
            .iter()
            .position(|known| *known == method)
            .unwrap_or(KNOWN_METHODS.len());
        if let Some(series) = self.by_method.get(index) {
            if ok { &series.ok } else { &series.error }.inc();
            series.seconds.observe(seconds);
        }
    }

    /// One HTTP response of `status`, begun `elapsed` after its request.
    pub(crate) fn http_response(&self, status: u16, elapsed: std::time::Duration) {
        self.http_responses
            .get_or_create(&vec![("status", status.to_string())])
            .inc();
        self.http_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn revision(&self, version: mcp_core::ProtocolVersion) {
        if let Some((_, counter)) = self.revisions.iter().find(|(v, _)| *v == version) {
            counter.inc();
        }
    }

    /// Requests served so far on `version`.
    pub(crate) fn revision_count(&self, version: mcp_core::ProtocolVersion) -> u64 {
        self.revisions
            .iter()
            .find(|(v, _)| *v == version)
            .map_or(0, |(_, counter)| counter.get())
    }

    /// One call of `tool` (a registered tool's name, or `unknown`, so the
    /// series stay bounded), ended with `outcome` after `elapsed`.
    pub(crate) fn tool_call(
        &self,
        tool: &str,
        outcome: impl CallOutcome,
        elapsed: std::time::Duration,
    ) {
        let seconds = elapsed.as_secs_f64();
        if let Some(series) = self
            .by_tool
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tool)
        {
            series.record(&self.tool_calls, tool, outcome, seconds);
            return;
        }
        let mut by_tool = self.by_tool.write().unwrap_or_else(PoisonError::into_inner);
        let series = by_tool
            .entry(Arc::from(tool))
            .or_insert_with(|| ToolSeries {
                seconds: self
                    .tool_seconds
                    .get_or_create(&vec![("tool", tool.to_owned())])
                    .clone(),
                calls: Default::default(),
            });
        series.record(&self.tool_calls, tool, outcome, seconds);
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

/// `method` as a static string, when it is one the server serves: a
/// request's method is then named without a copy.
pub(crate) fn method_name(method: &str) -> Cow<'static, str> {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method)
        .map_or_else(
            || Cow::Owned(method.to_owned()),
            |known| Cow::Borrowed(*known),
        )
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audit::AuditOutcome;

    #[test]
    fn tool_calls_are_counted_by_tool_and_outcome_with_only_seen_outcomes_shown() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(1);
        metrics.tool_call("echo", AuditOutcome::Ok, ms);
        metrics.tool_call("echo", AuditOutcome::ToolError, ms);
        metrics.tool_call("echo", AuditOutcome::Ok, ms);
        metrics.tool_call("unknown", AuditOutcome::Error, ms);
        metrics.tool_call("write", AuditOutcome::Timeout, Duration::from_secs(2));
        let text = metrics.render();
        let value = |series: &str| {
            text.lines()
                .find(|l| l.starts_with(series))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        for (series, expected) in [
            (r#"mcp_tool_calls_total{tool="echo",outcome="ok"}"#, 2.0),
            (
                r#"mcp_tool_calls_total{tool="echo",outcome="tool_error"}"#,
                1.0,
            ),
            (
                r#"mcp_tool_calls_total{tool="unknown",outcome="error"}"#,
                1.0,
            ),
            (
                r#"mcp_tool_calls_total{tool="write",outcome="timeout"}"#,
                1.0,
            ),
            (r#"mcp_tool_call_duration_seconds_count{tool="echo"}"#, 3.0),
            (
                r#"mcp_tool_call_duration_seconds_count{tool="unknown"}"#,
                1.0,
            ),
            (r#"mcp_tool_call_duration_seconds_sum{tool="write"}"#, 2.0),
        ] {
            assert_eq!(value(series), Some(expected), "{series} in:\n{text}");
        }
        // An outcome a tool never had has no series of its own.
        assert_eq!(
            value(r#"mcp_tool_calls_total{tool="echo",outcome="error"}"#),
            None
        );
        assert_eq!(text.matches("mcp_tool_calls_total{").count(), 4, "{text}");
    }
}
