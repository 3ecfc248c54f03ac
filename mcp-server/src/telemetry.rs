//! OpenTelemetry export (feature `otel`).
//!
//! With the feature on and `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set,
//! [`init_stderr_logging`](crate::transport::stdio::init_stderr_logging)
//! also exports every span over OTLP (HTTP/protobuf), batched on the tokio
//! runtime. Call [`shutdown`] before the process exits so the last batch is
//! sent. Without the feature, or without an endpoint, nothing is exported
//! and [`shutdown`] does nothing.

/// Setting up or shutting down the OpenTelemetry exporter failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the `OTEL_*` environment.
    #[cfg(feature = "otel")]
    #[error("the OTLP span exporter could not be set up: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The exporter is configured but no tokio runtime runs to batch on.
    #[cfg(feature = "otel")]
    #[error("OTLP export needs a tokio runtime: call this from within one")]
    NoRuntime,
    /// Flushing the last spans or stopping the exporter failed.
    #[cfg(feature = "otel")]
    #[error("the OpenTelemetry tracer provider did not shut down cleanly: {0}")]
    Shutdown(#[from] opentelemetry_sdk::error::OTelSdkError),
    /// The task shutting the provider down did not finish.
    #[cfg(feature = "otel")]
    #[error("the OpenTelemetry shutdown task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Flushes the spans not yet exported and stops the exporter installed by
/// [`init_stderr_logging`](crate::transport::stdio::init_stderr_logging).
///
/// Call it once, at the end of `main` (still inside the tokio runtime).
/// Spans ended afterwards are dropped. Without the feature `otel`, or when
/// no exporter was installed, it does nothing.
///
/// # Errors
/// The last export or the exporter's shutdown failed.
#[allow(clippy::unused_async)]
pub async fn shutdown() -> Result<(), TelemetryError> {
    #[cfg(feature = "otel")]
    if let Some(provider) = otel::take_provider() {
        // The provider blocks until the batch task (on the runtime) has
        // flushed; waiting on a blocking thread keeps the runtime free to
        // run it, on any runtime flavour.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime
                    .spawn_blocking(move || provider.shutdown())
                    .await??
            }
            // No runtime here: the batch task runs elsewhere or is gone, in
            // which case this fails at once.
            Err(_) => provider.shutdown()?,
        }
    }
    Ok(())
}

#[cfg(feature = "otel")]
pub(crate) use otel::{
    continue_trace, continue_trace_from_params, discard, keep, layer_from_env, set_remote_parent,
};

#[cfg(feature = "otel")]
mod otel {
    use std::sync::{Mutex, PoisonError};

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
    };
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::registry::LookupSpan;

    use super::TelemetryError;
    use crate::trace::TraceParent;

    /// The provider installed by `init_stderr_logging`, for [`super::shutdown`].
    static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

    pub(super) fn take_provider() -> Option<SdkTracerProvider> {
        PROVIDER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn configured() -> bool {
        let set = |name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let disabled =
            std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        !disabled
            && (set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT"))
    }

    /// `service.name` from `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`),
    /// else the binary's name.
    fn resource() -> opentelemetry_sdk::Resource {
        let builder = opentelemetry_sdk::Resource::builder();
        let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
            || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| {
                v.split(',')
                    .any(|kv| kv.split('=').next().map(str::trim) == Some("service.name"))
            });
        if named {
            return builder.build();
        }
        let binary = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "mcp-server".to_owned());
        builder.with_service_name(binary).build()
    }

    /// The OTLP layer and its provider, when an endpoint is configured:
    /// `Ok(None)` when not. Pass the provider to [`keep`] once the subscriber
    /// carrying the layer is installed.
    pub(crate) fn layer_from_env<S>()
    -> Result<Option<(OtelLayer<S>, SdkTracerProvider)>, TelemetryError>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        if !configured() {
            return Ok(None);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelemetryError::NoRuntime);
        }
        crate::install_tls_provider();
        // Endpoint, headers, timeout and compression come from the standard
        // OTEL_EXPORTER_OTLP_* variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()?;
        let processor =
            BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource())
            .build();
        let tracer = provider.tracer("mcp-server");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::filter::filter_fn(not_exporter as _));
        Ok(Some((layer, provider)))
    }

    /// Spans of the exporter's own HTTP stack would feed back into it.
    fn not_exporter(metadata: &tracing::Metadata<'_>) -> bool {
        !exporter_target(metadata.target())
    }

    pub(super) fn exporter_target(target: &str) -> bool {
        ["opentelemetry", "hyper", "h2", "reqwest"]
            .iter()
            .any(|prefix| {
                target.strip_prefix(prefix).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with("::") || rest.starts_with('_')
                })
            })
    }

    type Filter = tracing_subscriber::filter::FilterFn<fn(&tracing::Metadata<'_>) -> bool>;

    /// The tracing-opentelemetry layer, with the OTLP filter.
    pub(crate) type OtelLayer<S> = tracing_subscriber::filter::Filtered<
        tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>,
        Filter,
        S,
    >;

    /// Shuts an unused provider down off the runtime's threads: shutting
    /// down waits for its batch task, which runs on them.
    pub(crate) fn discard(provider: SdkTracerProvider) {
        let _ = std::thread::Builder::new()
            .name("otel-shutdown".into())
            .spawn(move || provider.shutdown());
    }

    /// Keeps the provider for [`super::shutdown`] and makes it the global
    /// one, for spans the application creates through the OpenTelemetry API.
    pub(crate) fn keep(provider: SdkTracerProvider) {
        opentelemetry::global::set_tracer_provider(provider.clone());
        *PROVIDER.lock().unwrap_or_else(PoisonError::into_inner) = Some(provider);
    }

    /// Makes the caller's span (from a valid `traceparent`, with its
    /// `tracestate`) the OpenTelemetry parent of `span`. Must run before
    /// `span` is first entered; a no-op without the OpenTelemetry layer.
    pub(crate) fn set_remote_parent(
        span: &tracing::Span,
        parent: &TraceParent<'_>,
        tracestate: Option<&str>,
    ) {
        let (Ok(trace_id), Ok(span_id)) = (
            TraceId::from_hex(parent.trace_id),
            SpanId::from_hex(parent.parent_id),
        ) else {
            return;
        };
        let flags = if parent.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state = tracestate
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        let remote = SpanContext::new(trace_id, span_id, flags, true, state);
        // Fails only without the layer, or once the span has started.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }

    /// Continues the trace named in a request's `_meta.traceparent` on
    /// `span` (its OpenTelemetry parent), before the span is entered.
    pub(crate) fn continue_trace_from_params(
        span: &tracing::Span,
        params: Option<&serde_json::value::RawValue>,
    ) {
        // Most requests carry no trace: skip parsing them twice.
        let Some(params) = params.filter(|p| p.get().contains("traceparent")) else {
            return;
        };
        let Ok(TraceParams {
            meta: Some(meta), ..
        }) = serde_json::from_str::<TraceParams<'_>>(params.get())
        else {
            return;
        };
        if let Some(traceparent) = meta.traceparent.as_deref() {
            continue_trace(span, traceparent, meta.tracestate.as_deref());
        }
    }

    /// Makes the remote span `traceparent` (with `tracestate`) the parent
    /// of `span`, if it is well formed.
    pub(crate) fn continue_trace(
        span: &tracing::Span,
        traceparent: &str,
        tracestate: Option<&str>,
    ) {
        if let Some(parent) = TraceParent::parse(traceparent) {
            set_remote_parent(span, &parent, tracestate);
        }
    }

    /// Just the trace context of a request's params; everything else is
    /// skipped without being allocated.
    #[derive(serde::Deserialize)]
    struct TraceParams<'a> {
        #[serde(rename = "_meta", borrow)]
        meta: Option<TraceMeta<'a>>,
    }

    #[derive(serde::Deserialize)]
    struct TraceMeta<'a> {
        #[serde(borrow)]
        traceparent: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        tracestate: Option<std::borrow::Cow<'a, str>>,
    }
}

#[cfg(all(test, feature = "otel"))]
mod tests {
    #[test]
    fn only_the_exporters_own_spans_are_left_out() {
        for target in [
            "hyper",
            "hyper_util::client",
            "h2::proto",
            "reqwest::connect",
        ] {
            assert!(super::otel::exporter_target(target), "{target}");
        }
        for target in ["opentelemetry_sdk", "opentelemetry_otlp::exporter"] {
            assert!(super::otel::exporter_target(target), "{target}");
        }
        for target in ["mcp_server::router", "tower_http::trace", "hyperion", "app"] {
            assert!(!super::otel::exporter_target(target), "{target}");
        }
    }
}
