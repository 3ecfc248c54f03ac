//! How the stderr logger writes an event's fields when it writes no colour:
//! `name=value` as `tracing-subscriber`'s default does, without passing each
//! name and `=` through its ANSI styling (which runs, unstyled, even when
//! colour is off) and with plain strings copied as they are. The audit log
//! writes a record of a dozen fields per request through it.
//!
//! Fields are gathered in a line buffer of the thread's and handed to the
//! logger's writer in one write: each write to it goes through a `dyn`
//! call, and a record's names, values and quotes are some fifty of them.

use std::cell::Cell;
use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput as _};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// Fields as `name=value`, separated by spaces; strings quoted. The message
/// and errors are written as the default visitor writes them, escaping what
/// a terminal would interpret in them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainFields;

/// The largest line buffer kept between events.
const KEPT_LINE: usize = 4096;

thread_local! {
    /// Taken while an event is formatted: one that a field's `Debug` logs
    /// meanwhile finds it empty and starts a line of its own.
    static LINE: Cell<String> = const { Cell::new(String::new()) };
}

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut line = LINE.try_with(Cell::take).unwrap_or_default();
        line.clear();
        let mut visitor = PlainVisitor {
            writer,
            line: &mut line,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.flush();
        let result = visitor.result;
        if line.capacity() <= KEPT_LINE {
            let _ = LINE.try_with(|kept| kept.set(line));
        }
        result
    }
}

struct PlainVisitor<'a, 'l> {
    writer: Writer<'a>,
    /// What is not yet written to `writer`.
    line: &'l mut String,
    is_empty: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_, '_> {
    /// Writes the separator and `name=`, or says the field is not written.
    fn name(&mut self, field: &Field) -> bool {
        self.name_then(field, "")
    }

    /// [`name`](Self::name), then `opening` (a string's quote).
    fn name_then(&mut self, field: &Field, opening: &str) -> bool {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        if !std::mem::replace(&mut self.is_empty, false) {
            self.line.push(' ');
        }
        self.line.push_str(name);
        self.line.push('=');
        self.line.push_str(opening);
        true
    }

    /// Writes the line so far to the writer.
    fn flush(&mut self) {
        if self.result.is_ok() && !self.line.is_empty() {
            self.result = self.writer.write_str(self.line);
        }
        self.line.clear();
    }

    /// Hands the field to `tracing-subscriber`'s own visitor, on the
    /// logger's writer (which says whether to escape).
    fn default_visitor(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        self.flush();
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        self.is_empty = false;
    }

    /// Writes a message as the default visitor would where it holds nothing
    /// that visitor escapes; says whether it did.
    fn plain_message(&mut self, write: impl FnOnce(&mut String) -> fmt::Result) -> bool {
        if self.result.is_err() {
            return true;
        }
        let start = self.line.len();
        if !self.is_empty {
            self.line.push(' ');
        }
        let message = self.line.len();
        if write(self.line).is_err() || has_escapes(&self.line[message..]) {
            self.line.truncate(start);
            return false;
        }
        self.is_empty = false;
        true
    }
}

/// Whether `text` holds a character the default visitor escapes in a
/// message: ESC, BEL, BS, FF, DEL and the C1 controls (U+0080 to U+009F,
/// `C2 80` to `C2 9F` in UTF-8).
fn has_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(at, &b)| {
        matches!(b, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f)
            || (b == 0xc2
                && bytes
                    .get(at + 1)
                    .is_some_and(|next| (0x80..=0x9f).contains(next)))
    })
}

/// A string `Debug` would write unchanged between its quotes: printable
/// ASCII but `"` and `\`. Eight bytes at a time: the audit record's digest
/// and a session id are 64 and 32 of them.
fn is_plain(value: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let plain_byte = |b: &u8| (b' '..=b'~').contains(b) && *b != b'"' && *b != b'\\';
    let mut words = value.as_bytes().chunks_exact(8);
    for word in words.by_ref() {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            return false;
        };
        let word = u64::from_le_bytes(word);
        let equal = |byte: u8| {
            let diff = word ^ (ONES * u64::from(byte));
            diff.wrapping_sub(ONES) & !diff & HIGH
        };
        // Below 0x20, 0x80 and above, DEL, a quote or a backslash. A lane
        // may be flagged wrongly only after a lane that truly is.
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
        if below_space | (word & HIGH) | equal(0x7f) | equal(b'"') | equal(b'\\') != 0 {
            return false;
        }
    }
    words.remainder().iter().all(plain_byte)
}

impl Visit for PlainVisitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let plain = self.plain_message(|line| {
                line.push_str(value);
                Ok(())
            });
            if !plain {
                self.default_visitor(|v| v.record_str(field, value));
            }
            return;
        }
        if is_plain(value) {
            if self.name_then(field, "\"") {
                self.line.push_str(value);
                self.line.push('"');
            }
        } else if self.name(field) {
            self.result = write!(self.line, "{value:?}");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.name(field) {
            self.line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.name(field) {
            self.line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.name(field) {
            return;
        }
        // Where `Debug` writes plain decimals, `ryu` writes the same
        // shortest digits, at a fraction of the cost; elsewhere (exponents,
        // NaN, infinities) the two spell them differently.
        let magnitude = value.abs();
        if magnitude == 0.0 || (1e-4..1e16).contains(&magnitude) {
            self.line.push_str(ryu::Buffer::new().format_finite(value));
        } else {
            self.result = write!(self.line, "{value:?}");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.name(field) {
            self.line.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.default_visitor(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            if !self.plain_message(|line| write!(line, "{value:?}")) {
                self.default_visitor(|v| v.record_debug(field, value));
            }
            return;
        }
        if self.name(field) {
            self.result = write!(self.line, "{value:?}");
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Where a test's subscriber writes: every line, kept.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        /// What was written, as text.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// What one event logs, with `fields` chosen by `PlainFields` or the default.
    fn logged(plain: bool, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let layer = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .without_time()
            .with_max_level(tracing::Level::TRACE);
        if plain {
            tracing::subscriber::with_default(layer.fmt_fields(PlainFields).finish(), log);
        } else {
            tracing::subscriber::with_default(layer.finish(), log);
        }
        buffer.text()
    }

    #[test]
    fn plain_means_printable_ascii_without_quotes_or_backslashes() {
        let byte_by_byte = |value: &str| {
            value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
        };
        let base = "0123456789abcdef0123456789abcdef";
        let mut cases = vec![String::new(), base.to_owned()];
        for len in [1, 7, 8, 9, 16, 31] {
            for at in 0..len {
                for odd in [
                    '\u{0}', '\u{1f}', ' ', '~', '\u{7f}', '"', '\\', 'é', '🦀', '!',
                ] {
                    let mut case: String = base[..len].to_owned();
                    case.replace_range(at..=at, &odd.to_string());
                    cases.push(case);
                }
            }
        }
        for case in &cases {
            assert_eq!(is_plain(case), byte_by_byte(case), "{case:?}");
        }
    }

    #[test]
    fn it_writes_what_the_default_formatter_writes_without_colour() {
        let error = std::io::Error::other("disk \u{1b}[31mfull");
        let event = || {
            tracing::info!(
                target: "mcp::audit",
                time = 1_796_622_394.123_456f64,
                duration_ms = 0.041_667f64,
                tiny = 1.0e-5f64,
                small = 1.0e-4f64,
                large = 9_999_999_999_999_998.0f64,
                huge = 1.0e16f64,
                negative = -2.5f64,
                zero = -0.0f64,
                nan = f64::NAN,
                big = u64::MAX,
                lowest = i64::MIN,
                principal = "alice",
                quoted = "say \"hi\"\n",
                escape = "\u{1b}[2J",
                r#type = "raw",
                a_field_name_longer_than_forty_characters_x = 1u64,
                count = 3u64,
                delta = -4i64,
                read_only = true,
                none = None::<&str>,
                address = %"127.0.0.1",
                debug = ?vec![1, 2],
                error = &error as &(dyn std::error::Error + 'static),
                "audit \u{1b}[1m{}", "record"
            );
        };
        let plain = logged(true, event);
        assert_eq!(plain, logged(false, event));
        assert!(plain.contains(r#"principal="alice""#), "{plain}");
        assert!(!plain.contains('\u{1b}'), "{plain}");
    }

    #[test]
    fn messages_are_written_as_the_default_formatter_writes_them() {
        let messages = [
            "audit",
            "",
            "tab\there, quote \" and backslash \\",
            "escape \u{1b}[2J",
            "bell \u{7}, backspace \u{8}, form feed \u{c}, delete \u{7f}",
            "C1 \u{85} control, then \u{9f}",
            "not C1: \u{a0} é 🦀",
        ];
        for message in messages {
            let formatted = || tracing::info!(count = 1u64, "{message}");
            let first = || tracing::info!(message, count = 1u64);
            let after_a_field = || tracing::info!(count = 1u64, message);
            for event in [&formatted as &dyn Fn(), &first, &after_a_field] {
                assert_eq!(logged(true, event), logged(false, event), "{message:?}");
            }
        }
    }

    #[test]
    fn a_field_whose_debug_logs_leaves_the_line_whole() {
        // `tracing` drops an event logged while one is dispatched; the
        // outer line must still come out whole.
        struct Logs;
        impl fmt::Debug for Logs {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                tracing::info!(inner = "yes", "nested");
                f.write_str("logs")
            }
        }
        let event = || tracing::info!(first = "a", logs = ?Logs, last = 2u64, "outer");
        let plain = logged(true, event);
        assert_eq!(plain, logged(false, event));
        assert_eq!(plain.lines().count(), 1, "{plain}");
        assert!(plain.contains(r#"first="a" logs=logs last=2"#), "{plain}");
    }

    #[test]
    fn span_fields_are_written_as_the_default_formatter_writes_them() {
        let event = || {
            let outer = tracing::info_span!("mcp.http", method = "POST", session = "a\"b");
            let _outer = outer.enter();
            let inner = tracing::info_span!("mcp.request", id = %7, tool = Some("echo"), none = tracing::field::Empty);
            let _inner = inner.enter();
            tracing::info!(count = 1u64, "inside");
        };
        let plain = logged(true, event);
        assert_eq!(plain, logged(false, event));
        assert!(
            plain.contains(r#"mcp.request{id=7 tool="echo"}"#),
            "{plain}"
        );
    }
}
