//! Expansion: a template and values to a URI.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Part;

/// RFC 3986's reserved characters, which `{+var}` and `{#var}` keep.
const RESERVED: &str = ":/?#[]@!$&'()*+,;=";
/// The same without `?`, which before a `{?query}` would start the query.
const RESERVED_BEFORE_QUERY: &str = ":/#[]@!$&'()*+,;=";

pub(super) fn expand(parts: &[Part], values: &BTreeMap<String, String>) -> String {
    let mut uri = String::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => uri.push_str(text),
            Part::Simple(name) => {
                if let Some(value) = values.get(name) {
                    escape(&mut uri, value, "");
                }
            }
            Part::Reserved(name) | Part::Fragment(name) => {
                let Some(value) = values.get(name) else {
                    continue;
                };
                if matches!(part, Part::Fragment(_)) {
                    uri.push('#');
                }
                let query_follows = parts[i + 1..].iter().any(|p| matches!(p, Part::Query(_)));
                let keep = if query_follows {
                    RESERVED_BEFORE_QUERY
                } else {
                    RESERVED
                };
                escape(&mut uri, value, keep);
            }
            Part::Query(names) => {
                let defined = names
                    .iter()
                    .filter_map(|name| Some((name, values.get(name)?)));
                for (n, (name, value)) in defined.enumerate() {
                    uri.push(if n == 0 { '?' } else { '&' });
                    uri.push_str(name);
                    uri.push('=');
                    escape(&mut uri, value, "");
                }
            }
        }
    }
    uri
}

/// Appends `value`, keeping unreserved characters and those in `keep` and
/// percent-encoding every other byte (a `%` included, so the value decodes
/// back to itself).
fn escape(out: &mut String, value: &str, keep: &str) {
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                // Writing to a `String` cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}
