//! OpenTelemetry trace export: an OTLP/HTTP (protobuf) span exporter behind a batch
//! processor that runs as a task on the caller's tokio runtime, with the async reqwest
//! client (the crate's default is a blocking client, which must not run inside tokio).
//!
//! The provider is *not* installed as the global one: callers take a tracer from the
//! [`Tracing`] guard, so tests (and two services in one process) keep their spans apart.
//!
//! Standard environment variables that still apply (read by the OpenTelemetry SDK):
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL, `/v1/traces` appended — the caller's CLI falls
//! back to it), `OTEL_SERVICE_NAME` and `service.name` in `OTEL_RESOURCE_ATTRIBUTES` (both
//! win over the name given here), other `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (e.g. an auth
//! header), `OTEL_EXPORTER_OTLP_TIMEOUT` / `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (ms, default
//! 10 s per export including its retries), and
//! `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
//! Not honoured: `OTEL_EXPORTER_OTLP_PROTOCOL` (always `http/protobuf`),
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the endpoint given here wins) and compression.
//!
//! Delivery: the SDK retries a failed export (429, 502, 503, 504, no response) up to 3
//! times with backoff (100 ms doubling, within the export timeout), honouring
//! `Retry-After`; after that the batch is dropped. Spans are kept in memory only.

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;

/// The OTLP/HTTP path of the traces signal.
pub const TRACES_PATH: &str = "/v1/traces";

/// Why trace export could not be set up or shut down.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("OTLP endpoint {endpoint:?} is not an http:// or https:// URL")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
    },
    /// Called outside a tokio runtime: the batch processor runs as a task on one.
    #[error("OTLP trace export needs a tokio runtime to run on")]
    NoRuntime,
    /// The OTLP exporter refused its configuration.
    #[error("failed to build the OTLP span exporter for {endpoint}")]
    Build {
        /// The traces URL.
        endpoint: String,
        /// What the exporter said.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Flushing the last spans or stopping the processor failed (spans may be lost).
    #[error("failed to flush and shut down trace export")]
    Shutdown(#[source] opentelemetry_sdk::error::OTelSdkError),
}

/// Trace export while it lives: hands out tracers, and flushes what is queued and stops
/// on [`Tracing::shutdown`] (or, best effort, on drop).
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    endpoint: String,
    shut_down: bool,
}

/// The traces URL for an endpoint: the OTLP base URL (as in
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://collector:4318`) with `/v1/traces`
/// appended; a URL that already ends in `/v1/traces` is taken as it is.
pub fn traces_url(endpoint: &str) -> Result<String, TracingError> {
    let e = endpoint.trim();
    let rest = e
        .strip_prefix("http://")
        .or_else(|| e.strip_prefix("https://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
        return Err(TracingError::InvalidEndpoint {
            endpoint: endpoint.to_string(),
        });
    }
    let base = e.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        Ok(base.to_string())
    } else {
        Ok(format!("{base}{TRACES_PATH}"))
    }
}

/// The resource spans are reported under: `service.name` from `OTEL_SERVICE_NAME` or
/// `OTEL_RESOURCE_ATTRIBUTES` when set, else `service_name`.
fn resource(service_name: &str) -> Resource {
    let detected = Resource::builder().build();
    let from_env = detected
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|v| !v.as_str().starts_with("unknown_service"));
    let builder = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if from_env {
        builder.build()
    } else {
        builder.with_service_name(service_name.to_string()).build()
    }
}

impl Tracing {
    /// Starts exporting spans to `endpoint` (see [`traces_url`]) as `service_name`.
    /// Must be called inside a tokio runtime, which then runs the batch processor.
    pub fn start(endpoint: &str, service_name: &str) -> Result<Tracing, TracingError> {
        let url = traces_url(endpoint)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TracingError::NoRuntime);
        }
        // OTLP's exporter builds its own reqwest client, which panics without a rustls
        // provider: a library caller may not have installed one (the binaries do).
        crate::tls_provider::install();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url.clone())
            .build()
            .map_err(|source| TracingError::Build {
                endpoint: url.clone(),
                source,
            })?;
        let processor = BatchSpanProcessor::builder(exporter, Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource(service_name))
            .build();
        Ok(Tracing {
            provider,
            endpoint: url,
            shut_down: false,
        })
    }

    /// The traces URL spans go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A tracer whose spans this exporter sends (instrumentation scope `name`).
    pub fn tracer(&self, name: &'static str) -> BoxedTracer {
        BoxedTracer::new(Box::new(self.provider.tracer(name)))
    }

    /// Exports every span ended so far and stops. Spans still open are never sent.
    pub async fn shutdown(mut self) -> Result<(), TracingError> {
        self.shut_down = true;
        let provider = self.provider.clone();
        // The SDK's shutdown blocks until the processor task (on this runtime) is done:
        // block a blocking-pool thread, not this one, or a current-thread runtime hangs.
        tokio::task::spawn_blocking(move || provider.shutdown())
            .await
            .unwrap_or_else(|e| {
                Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                    e.to_string(),
                ))
            })
            .map_err(TracingError::Shutdown)
    }
}

impl Drop for Tracing {
    /// Best effort when [`Tracing::shutdown`] was not awaited: on a multi-thread runtime
    /// the queued spans are flushed before drop returns; on a current-thread runtime the
    /// flush is handed to a blocking thread (the runtime must keep running for it to
    /// finish); with no runtime left, what is queued is lost.
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        let provider = self.provider.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread => {
                drop(h.spawn_blocking(move || provider.shutdown()));
            }
            Ok(_) => {
                let _ = tokio::task::block_in_place(|| provider.shutdown());
            }
            Err(_) => {
                let _ = provider.shutdown();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_appended_to_a_base_url_once() {
        assert_eq!(
            traces_url("http://collector:4318").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example.org/otlp/").unwrap(),
            "https://otel.example.org/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/v1/traces").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        for bad in [
            "collector:4318",
            "ftp://x",
            "http://",
            "http:///v1/traces",
            "",
        ] {
            assert!(
                matches!(traces_url(bad), Err(TracingError::InvalidEndpoint { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn starting_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            Tracing::start("http://127.0.0.1:4318", "t"),
            Err(TracingError::NoRuntime)
        ));
    }
}
