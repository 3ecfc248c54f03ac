//! How the stderr logger writes an event's fields when it writes no colour:
//! `name=value` as `tracing-subscriber`'s default does, without passing each
//! name and `=` through its ANSI styling (which runs, unstyled, even when
//! colour is off) and with plain strings copied as they are. The audit log
//! writes a record of a dozen fields per request through it.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput as _};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// Fields as `name=value`, separated by spaces; strings quoted. The message
/// and errors are written by the default visitor, which escapes what a
/// terminal would interpret in them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// Writes the separator and `name=`, or says the field is not written.
    fn name(&mut self, field: &Field) -> bool {
        self.name_then(field, "")
    }

    /// [`name`](Self::name), then `opening` (a string's quote) in the same
    /// write.
    fn name_then(&mut self, field: &Field, opening: &str) -> bool {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        let separator = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        // One write of ` name=` where it fits a line's usual field name.
        let mut joined = [0u8; 40];
        let equals = separator.len() + name.len();
        let length = equals + 1 + opening.len();
        self.result = match joined.get_mut(..length) {
            Some(into) => {
                into[..separator.len()].copy_from_slice(separator.as_bytes());
                into[separator.len()..equals].copy_from_slice(name.as_bytes());
                into[equals] = b'=';
                into[equals + 1..].copy_from_slice(opening.as_bytes());
                // Joined from whole `str`s: still UTF-8.
                std::str::from_utf8(into)
                    .map_err(|_| fmt::Error)
                    .and_then(|joined| self.writer.write_str(joined))
            }
            None => self
                .writer
                .write_str(separator)
                .and_then(|()| self.writer.write_str(name))
                .and_then(|()| self.writer.write_char('='))
                .and_then(|()| self.writer.write_str(opening)),
        };
        self.result.is_ok()
    }

    /// Hands the field to `tracing-subscriber`'s own visitor.
    fn default_visitor(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        self.is_empty = false;
    }
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

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            return self.default_visitor(|v| v.record_str(field, value));
        }
        if is_plain(value) {
            if self.name_then(field, "\"") {
                self.result = self
                    .writer
                    .write_str(value)
                    .and_then(|()| self.writer.write_char('"'));
            }
        } else if self.name(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.name(field) {
            self.result = self.writer.write_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.name(field) {
            self.result = self.writer.write_str(itoa::Buffer::new().format(value));
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
        self.result = if magnitude == 0.0 || (1e-4..1e16).contains(&magnitude) {
            self.writer
                .write_str(ryu::Buffer::new().format_finite(value))
        } else {
            write!(self.writer, "{value:?}")
        };
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.name(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.default_visitor(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            return self.default_visitor(|v| v.record_debug(field, value));
        }
        if self.name(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

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
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
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
}
