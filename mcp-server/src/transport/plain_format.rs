//! How the stderr logger writes an event when it writes no colour: as
//! `tracing-subscriber`'s default (full) format does, in plain writes. That
//! format passes the level, each span's name and the target through its
//! styling and `core::fmt` even when the style is empty; the audit log
//! writes a line per request through this one.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The full format without colour: the time, the level, the spans with
/// their fields, the target, then the event's fields.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainFormat<T> {
    pub(crate) timer: T,
}

impl<S, N, T> FormatEvent<S, N> for PlainFormat<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // An event of the `log` crate names its own level and target.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        // After the time's space, the level right-aligned in five columns.
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                seen = true;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::plain_fields::PlainFields;
    use crate::transport::plain_fields::tests::Buffer;

    /// A clock that always says the same.
    #[derive(Clone, Copy)]
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-12-07T10:00:00.000000Z")
        }
    }

    /// What `log` writes, in this format or in the full one.
    fn logged(plain: bool, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .with_timer(Fixed)
            .fmt_fields(PlainFields)
            .with_max_level(tracing::Level::TRACE);
        if plain {
            let subscriber = builder.event_format(PlainFormat { timer: Fixed }).finish();
            tracing::subscriber::with_default(subscriber, log);
        } else {
            tracing::subscriber::with_default(builder.finish(), log);
        }
        buffer.text()
    }

    #[test]
    fn it_writes_what_the_full_format_writes_without_colour() {
        let events = || {
            tracing::trace!("trace");
            tracing::debug!(target: "mcp::audit", n = 1u64, "debug");
            tracing::info!(principal = "alice", "info");
            tracing::warn!("warn");
            tracing::error!(error = "bad", "error");
            let outer = tracing::info_span!("mcp.http", method = "POST");
            let _outer = outer.enter();
            let empty = tracing::info_span!("empty");
            let _empty = empty.enter();
            let inner = tracing::info_span!("mcp.request", id = 7, tool = "echo");
            let _inner = inner.enter();
            tracing::info!(count = 2u64, "inside three spans");
        };
        let plain = logged(true, events);
        assert_eq!(plain, logged(false, events));
        assert!(
            plain.contains("mcp.http{method=\"POST\"}:empty:mcp.request{id=7 tool=\"echo\"}: "),
            "{plain}"
        );
    }

    #[test]
    fn a_log_crate_record_keeps_its_level_and_target() {
        let record = || {
            let args = format_args!("from log");
            let record = log::Record::builder()
                .args(args)
                .level(log::Level::Warn)
                .target("sqlx::query")
                .module_path_static(Some("sqlx::query"))
                .file_static(Some("query.rs"))
                .line(Some(1))
                .build();
            tracing_log::format_trace(&record).unwrap();
        };
        let plain = logged(true, record);
        assert_eq!(plain, logged(false, record));
        assert!(plain.contains("  WARN sqlx::query: from log"), "{plain}");
    }
}
