//! Trace context across the queue: a delivery keeps the W3C `traceparent` of the span that
//! accepted it, and the span that applies a batch links to each (a batch has many parents,
//! so links, not a parent). With tracing off, spans have no valid context and nothing is kept.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// `span`'s W3C `traceparent`, when it is traced.
pub fn trace_parent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        )
    })
}

/// Links `span` to the span a `traceparent` names (ignored when malformed).
pub fn link_to(span: &tracing::Span, trace_parent: &str) {
    let mut parts = trace_parent.split('-');
    let (Some("00"), Some(trace), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(trace), Ok(parent), Ok(flags)) = (
        TraceId::from_hex(trace),
        SpanId::from_hex(parent),
        u8::from_str_radix(flags, 16),
    ) else {
        return;
    };
    let linked = SpanContext::new(
        trace,
        parent,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    if linked.is_valid() {
        span.add_link(linked);
    }
}
