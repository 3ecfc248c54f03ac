//! Large strings in a result, escaped at memory speed.
//!
//! serde_json escapes a string one byte at a time (about nine instructions
//! a byte), so a result carrying megabytes of text spends most of its
//! encoding there. [`LargeStrings`] serializes a value as usual, except
//! that a string of [`LARGE_STRING`] bytes or more is escaped here, eight
//! bytes at a time while none of them needs escaping, and handed to
//! serde_json as raw JSON (the protocol serde_json's own `RawValue` uses),
//! which it copies as it is. What comes out is byte for byte what
//! serde_json writes, which the tests hold it to.

use serde::Deserialize;
use serde::de::value::MapDeserializer;
use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};
use serde_json::value::RawValue;
use std::cell::RefCell;

/// From this length on, a string is escaped here.
pub(super) const LARGE_STRING: usize = 4 * 1024;

/// The name under which serde_json's serializer takes a struct's one field
/// as raw JSON text (`serde_json::value::RawValue` serializes that way).
const RAW_JSON: &str = "$serde_json::private::RawValue";

/// Takes `text`, JSON that serde_json's serializer wrote, as a raw value
/// without parsing it again (`RawValue::from_string` would) and without
/// copying it: serde_json's own raw-value protocol, from the other side,
/// hands the string over to `Box<RawValue>` as it is.
pub(crate) fn raw_from_serialized(text: String) -> Result<Box<RawValue>, serde_json::Error> {
    let fields = MapDeserializer::<_, serde_json::Error>::new(std::iter::once((RAW_JSON, text)));
    Box::<RawValue>::deserialize(fields)
}

/// `value` as JSON, in a buffer of `capacity` bytes to start with, its
/// large strings escaped here, straight into that buffer.
pub(super) fn to_json<T: Serialize + ?Sized>(
    value: &T,
    capacity: usize,
) -> Result<String, serde_json::Error> {
    let out = RefCell::new(String::with_capacity(capacity));
    serde_json::to_writer(SharedOut(&out), &LargeStrings { value, out: &out })?;
    Ok(out.into_inner())
}

/// The buffer serde_json writes into, which [`Wrap`] writes large strings
/// into too: serde_json writes straight through (it keeps no buffer of
/// its own), so what each writes lands in order. A `String`: serde_json
/// writes whole `str` fragments, each checked here as it comes, while a
/// large string goes in as the `str` it is, unchecked, rather than the
/// whole text checked again at the end.
struct SharedOut<'a>(&'a RefCell<String>);

impl std::io::Write for SharedOut<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let text = std::str::from_utf8(bytes).map_err(std::io::Error::other)?;
        self.0.borrow_mut().push_str(text);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `T`, with its large strings escaped here, into `out`. Only for
/// serde_json's serializer writing into `out`: another would see the
/// raw-JSON struct as a struct.
struct LargeStrings<'a, T: ?Sized> {
    value: &'a T,
    out: &'a RefCell<String>,
}

impl<T: Serialize + ?Sized> Serialize for LargeStrings<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Wrap {
            inner: serializer,
            out: self.out,
        })
    }
}

/// Appends `value` as a JSON string, quotes included, escaped as serde_json
/// escapes: `"`, `\` and the control characters below U+0020.
pub(super) fn escape(out: &mut String, value: &str) {
    out.reserve(value.len() + 2);
    out.push('"');
    let bytes = value.as_bytes();
    // Everything before `start` is written.
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        at = clean_until(bytes, at);
        // Copied as it is scanned, while it is still in cache.
        if at - start >= COPY_RUN && value.is_char_boundary(at) {
            out.push_str(&value[start..at]);
            start = at;
        }
        if let Some(word) = bytes
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !needs_escape(u64::from_le_bytes(word))
        {
            at += 8;
            continue;
        }
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        let escaped: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\x08' => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            b'\x0c' => "\\f",
            b'\r' => "\\r",
            0..0x20 => {
                // An ASCII byte: `at` and `at + 1` are character boundaries.
                out.push_str(&value[start..at]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
                at += 1;
                start = at;
                continue;
            }
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&value[start..at]);
        out.push_str(escaped);
        at += 1;
        start = at;
    }
    out.push_str(&value[start..]);
    out.push('"');
}

/// How much of a clean run is scanned before it is copied.
const COPY_RUN: usize = 16 * 1024;

/// Where the clean 32-byte blocks from `at` end: nothing before the result
/// needs escaping, and it is at most `COPY_RUN` past `at`. Four words at a
/// time, which the compiler turns into vector instructions.
fn clean_until(bytes: &[u8], at: usize) -> usize {
    let Some(rest) = bytes.get(at..) else {
        return at;
    };
    let rest = &rest[..rest.len().min(COPY_RUN)];
    let (blocks, _) = rest.as_chunks::<32>();
    let clean = blocks
        .iter()
        .take_while(|block| {
            let (words, _) = block.as_chunks::<8>();
            !words.iter().fold(false, |any, word| {
                any | needs_escape(u64::from_le_bytes(*word))
            })
        })
        .count();
    at + clean * 32
}

/// Whether any of the eight bytes in `word` is `"`, `\` or below 0x20.
/// May say yes for a clean word after such a byte, never no for one.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |limit: u64| word.wrapping_sub(ONES * limit) & !word & HIGH;
    let equal = |byte: u64| {
        let diff = word ^ (ONES * byte);
        diff.wrapping_sub(ONES) & !diff & HIGH
    };
    below(0x20) | equal(u64::from(b'"')) | equal(u64::from(b'\\')) != 0
}

/// A serializer that passes everything to `S`, but for large strings: those
/// it escapes into `out` itself, handing `S` an empty raw value in their place.
struct Wrap<'a, S> {
    inner: S,
    out: &'a RefCell<String>,
}

/// Methods of `Wrap` that pass a value with nothing inside it to `S`.
macro_rules! forward {
    ($($method:ident($ty:ty)),+ $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        }
    )+};
}

/// A compound of `S`, whose values are wrapped again; `raw` for the
/// raw-JSON struct itself, whose one field must reach serde_json as it is.
struct Compound<'a, C> {
    inner: C,
    raw: bool,
    out: &'a RefCell<String>,
}

impl<'a, S: Serializer> Serializer for Wrap<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    fn serialize_str(self, value: &str) -> Result<S::Ok, S::Error> {
        if value.len() < LARGE_STRING {
            return self.inner.serialize_str(value);
        }
        // serde_json has written all that comes before this string (a
        // member's key and colon, an element's comma): it goes next.
        escape(&mut self.out.borrow_mut(), value);
        let mut raw = self.inner.serialize_struct(RAW_JSON, 1)?;
        raw.serialize_field(RAW_JSON, "")?;
        raw.end()
    }

    forward! {
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&LargeStrings {
            value,
            out: self.out,
        })
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(
            name,
            &LargeStrings {
                value,
                out: self.out,
            },
        )
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_variant(
            name,
            index,
            variant,
            &LargeStrings {
                value,
                out: self.out,
            },
        )
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.inner
            .serialize_seq(len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.inner
            .serialize_tuple(len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.inner
            .serialize_tuple_struct(name, len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.inner
            .serialize_map(len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let raw = name == RAW_JSON;
        let out = self.out;
        self.inner
            .serialize_struct(name, len)
            .map(|inner| Compound { inner, raw, out })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.inner
            .serialize_struct_variant(name, index, variant, len)
            .map(|inner| Compound::wrapping(inner, self.out))
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<'a, C> Compound<'a, C> {
    fn wrapping(inner: C, out: &'a RefCell<String>) -> Self {
        Self {
            inner,
            raw: false,
            out,
        }
    }
}

/// A compound whose values are serialized one after the other, each
/// wrapped again.
macro_rules! wrap_values {
    ($($trait:ident::$method:ident),+ $(,)?) => {$(
        impl<C: $trait> $trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                self.inner.$method(&LargeStrings {
            value,
            out: self.out,
        })
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    )+};
}

wrap_values!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl<C: SerializeMap> SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    // Keys go as they are: serde_json writes a key through a serializer of
    // its own that takes strings, not raw JSON.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.inner.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.inner.serialize_value(&LargeStrings {
            value,
            out: self.out,
        })
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        self.inner.serialize_entry(
            key,
            &LargeStrings {
                value,
                out: self.out,
            },
        )
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStruct> SerializeStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        if self.raw {
            self.inner.serialize_field(key, value)
        } else {
            self.inner.serialize_field(
                key,
                &LargeStrings {
                    value,
                    out: self.out,
                },
            )
        }
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStructVariant> SerializeStructVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.inner.serialize_field(
            key,
            &LargeStrings {
                value,
                out: self.out,
            },
        )
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serde_json::value::RawValue;

    use super::*;
    use crate::content::Content;
    use crate::tool::CallToolResult;

    /// Text of `len` bytes cycling through `pieces`.
    fn text(len: usize, pieces: &[&str]) -> String {
        let mut text = String::new();
        for piece in pieces.iter().cycle() {
            if text.len() >= len {
                break;
            }
            text.push_str(piece);
        }
        text
    }

    fn both<T: Serialize>(value: &T) -> (String, String) {
        (
            to_json(value, 0).unwrap(),
            serde_json::to_string(value).unwrap(),
        )
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_escapes_it() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        let pieces = [
            every_ascii.as_str(),
            "plain words, eight at a time ",
            "é漢字🦀",
            "\u{2028}\u{7f}",
            "\"",
            "\\",
            "a\u{1}",
        ];
        for len in [
            0,
            1,
            7,
            8,
            9,
            63,
            64,
            65,
            LARGE_STRING - 1,
            LARGE_STRING,
            40_000,
        ] {
            // Every alignment of every piece against the 8-byte words.
            for offset in 0..8 {
                let value = format!("{}{}", "x".repeat(offset), text(len, &pieces));
                let mut ours = String::new();
                escape(&mut ours, &value);
                assert_eq!(
                    ours,
                    serde_json::to_string(&value).unwrap(),
                    "{len}/{offset}"
                );
            }
        }
    }

    #[test]
    fn a_result_comes_out_as_serde_json_writes_it() {
        let large = text(100_000, &["line \"one\"\n", "tab\there ", "ünï ", "\u{0}"]);
        let result = CallToolResult {
            content: vec![Content::text(large.clone()), Content::text("small \"one\"")],
            structured_content: Some(json!({
                "list": [large.clone(), 1, 2.5, null, true],
                "map": {"key": large.clone(), "n": -3},
            })),
            is_error: Some(false),
            meta: None,
        };
        let (ours, theirs) = both(&result);
        assert_eq!(ours, theirs);
        assert!(ours.len() > 3 * large.len());
    }

    #[test]
    fn raw_json_passes_through_untouched() {
        #[derive(serde::Serialize)]
        struct Holder {
            raw: Box<RawValue>,
            text: String,
            tuple: (String, u8),
            variant: Shape,
        }
        #[derive(serde::Serialize)]
        enum Shape {
            Named { name: String },
        }
        let large = text(10_000, &["a\"b\\c"]);
        let raw_text = serde_json::to_string(&json!({"inner": large})).unwrap();
        let holder = Holder {
            raw: RawValue::from_string(raw_text.clone()).unwrap(),
            text: large.clone(),
            tuple: (large.clone(), 7),
            variant: Shape::Named { name: large },
        };
        let (ours, theirs) = both(&holder);
        assert_eq!(ours, theirs);
        assert!(ours.contains(&raw_text));
    }
}
