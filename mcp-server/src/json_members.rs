//! A large call's params, split without being parsed: the `arguments`
//! member apart, the rest as a small object of its own.
//!
//! serde_json reads a string about eight bytes at a time, checking each for
//! what JSON forbids in it. Params are checked already (they are a
//! `RawValue`), so finding where their members start and end only needs
//! the quotes, escapes and brackets: a string is passed over with `memchr`,
//! at memory speed, and megabytes of arguments cost a fraction of a parse.

use std::ops::Range;

use memchr::memchr2;
use serde::Deserialize;
use serde::de::value::MapDeserializer;
use serde_json::value::RawValue;

/// From this size on, params are split here rather than read whole twice.
pub(crate) const LARGE_PARAMS: usize = 64 * 1024;

/// `params` without their member `name`: where that member's value is (if
/// there is one) and an object of the other members, as written. `None` when the
/// params are not an object, or name the member twice: then they are read
/// as usual, which explains what is wrong with them.
///
/// Only for valid JSON, such as a `RawValue`'s text: it is not checked again.
pub(crate) fn split_member(params: &str, name: &str) -> Option<(Option<Range<usize>>, String)> {
    let bytes = params.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut taken = None;
    let mut rest = String::with_capacity(256);
    rest.push('{');
    loop {
        at = skip_space(bytes, at);
        match bytes.get(at)? {
            b',' => at = skip_space(bytes, at + 1),
            b'}' => break,
            _ => {}
        }
        let key_start = at;
        let key_end = string_end(bytes, key_start)?;
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_space(bytes, at + 1);
        let value_end = value_end(bytes, value_start)?;
        at = value_end;
        let key = params.get(key_start..key_end)?;
        if is_key(key, name)? {
            if taken.is_some() {
                return None;
            }
            taken = Some(value_start..value_end);
            continue;
        }
        if rest.len() > 1 {
            rest.push(',');
        }
        rest.push_str(params.get(key_start..value_end)?);
    }
    rest.push('}');
    Some((taken, rest))
}

/// Valid JSON text, taken as a raw value without being parsed again
/// (`RawValue::from_string` would), through serde_json's own raw-value
/// protocol.
pub(crate) fn raw_from_valid(text: &str) -> Option<Box<RawValue>> {
    const RAW_JSON: &str = "$serde_json::private::RawValue";
    let owned = text.to_owned();
    let fields = MapDeserializer::<_, serde_json::Error>::new(std::iter::once((RAW_JSON, owned)));
    Box::<RawValue>::deserialize(fields).ok()
}

/// Whether `key`, a JSON string as written, says `name`.
fn is_key(key: &str, name: &str) -> Option<bool> {
    let inner = key.get(1..key.len().checked_sub(1)?)?;
    if !inner.contains('\\') {
        return Some(inner == name);
    }
    let decoded: String = serde_json::from_str(key).ok()?;
    Some(decoded == name)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// Where the string starting at `start` (its opening quote) ends: just
/// past its closing quote.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut at = start + 1;
    loop {
        at += memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        // An escape: the byte after the backslash is never the end.
        at += 2;
    }
}

/// Where the value starting at `start` ends.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = start;
            loop {
                match bytes.get(at)? {
                    b'"' => {
                        at = string_end(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        // A number, `true`, `false` or `null`.
        _ => {
            let len = bytes
                .get(start..)?
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
            Some(start + len.unwrap_or(bytes.len() - start))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    /// What serde_json makes of the same split.
    fn expected(params: &str, name: &str) -> Option<(Option<Value>, Value)> {
        let Value::Object(mut members) = serde_json::from_str(params).ok()? else {
            return None;
        };
        let taken = members.remove(name);
        Some((taken, Value::Object(members)))
    }

    fn split(params: &str, name: &str) -> Option<(Option<Value>, Value)> {
        let (taken, rest) = split_member(params, name)?;
        let taken = taken.map(|range| serde_json::from_str(&params[range]).unwrap());
        Some((taken, serde_json::from_str(&rest).unwrap()))
    }

    #[test]
    fn members_are_split_as_serde_json_reads_them() {
        let cases = [
            r#"{"name":"echo","arguments":{"message":"hi"}}"#,
            r#" { "arguments" : [1, {"a": "]}\"" }, [], "x\\"] , "name" : "e" } "#,
            r#"{"arguments":"\\\\","_meta":{"k":[true,false,null,-1.5e3]},"z":0}"#,
            r#"{"arguments":null,"name":"n"}"#,
            r#"{"\u0061rguments":{"b":"\"\\\/\b\f\n\r\t\u00e9"},"n\"ame":1}"#,
            r#"{"name":"only"}"#,
            r#"{}"#,
            "{\n\t\"arguments\"\r:\n12 ,\"k\":\"é😀\"}",
            r#"{"arguments":{"deep":[[[[{"x":"{[\"}"}]]]]},"after":"}"}"#,
        ];
        for params in cases {
            assert_eq!(
                split(params, "arguments"),
                expected(params, "arguments"),
                "{params}"
            );
        }
    }

    #[test]
    fn what_is_not_an_object_or_names_the_member_twice_is_left_to_serde() {
        for params in [
            r#"[1,2]"#,
            r#""text""#,
            "3",
            "null",
            r#"{"arguments":1,"arguments":2}"#,
        ] {
            assert_eq!(split_member(params, "arguments"), None, "{params}");
        }
        // The same member spelled with an escape is still the same member.
        assert_eq!(
            split_member(r#"{"arguments":1,"\u0061rguments":2}"#, "arguments"),
            None
        );
    }

    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// A value of random shape, with strings full of what a splitter could
    /// trip on: quotes, backslashes, brackets, commas, colons, non-ASCII.
    fn random_value(seed: &mut u64, depth: u32) -> Value {
        const PIECES: [&str; 10] = ["a", "\"", "\\", "{", "}", "[", "]", ",", ":", "é\u{1}😀"];
        const KEYS: [&str; 6] = ["arguments", "name", "_meta", "a\"b", "{", "x"];
        let kinds = if depth > 3 { 5 } else { 7 };
        match next(seed) % kinds {
            0 => Value::Null,
            1 => Value::Bool(next(seed).is_multiple_of(2)),
            2 => Value::from((next(seed) % 2000) as i64 - 1000),
            3 => Value::from((next(seed) % 1000) as f64 / 7.0),
            4 => {
                let len = next(seed) % 12;
                Value::String(
                    (0..len)
                        .map(|_| PIECES[(next(seed) % 10) as usize])
                        .collect(),
                )
            }
            5 => {
                let len = next(seed) % 4;
                Value::Array((0..len).map(|_| random_value(seed, depth + 1)).collect())
            }
            _ => {
                let len = next(seed) % 5;
                let mut members = Map::new();
                for _ in 0..len {
                    let key = KEYS[(next(seed) % 6) as usize].to_owned();
                    members.insert(key, random_value(seed, depth + 1));
                }
                Value::Object(members)
            }
        }
    }

    #[test]
    fn random_params_split_as_serde_json_reads_them() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2_000 {
            let mut members = Map::new();
            for key in ["name", "arguments", "_meta", "other"] {
                if !next(&mut seed).is_multiple_of(3) {
                    members.insert(key.to_owned(), random_value(&mut seed, 0));
                }
            }
            let value = Value::Object(members);
            for params in [
                serde_json::to_string(&value).unwrap(),
                serde_json::to_string_pretty(&value).unwrap(),
            ] {
                assert_eq!(
                    split(&params, "arguments"),
                    expected(&params, "arguments"),
                    "{params}"
                );
            }
        }
    }

    #[test]
    fn a_large_string_member_is_found_whole() {
        let text = "a\\\"b".repeat(100_000);
        let params = serde_json::to_string(&serde_json::json!({
            "name": "echo",
            "arguments": {"message": text},
            "_meta": {"progressToken": 1},
        }))
        .unwrap();
        let (taken, rest) = split_member(&params, "arguments").unwrap();
        let taken: Value = serde_json::from_str(&params[taken.unwrap()]).unwrap();
        assert_eq!(taken["message"], text.as_str());
        let rest: Map<String, Value> = serde_json::from_str(&rest).unwrap();
        assert_eq!(rest.len(), 2);
        let raw = raw_from_valid(r#"{"a": [1, "b"]}"#).unwrap();
        assert_eq!(raw.get(), r#"{"a": [1, "b"]}"#);
    }
}
