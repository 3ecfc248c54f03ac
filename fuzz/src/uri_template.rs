//! URI templates: `mcp_core::uri_template`, which both the server and the
//! `#[mcp_resource]` check use.
//!
//! The input's first line is a template and its second a URI: a resource
//! template must be valid exactly when the template parses, with the same
//! variables, and matching the URI must not panic; the variables of a URI
//! that matches must expand (with `mcp_core`'s expansion) to one that
//! does. The bytes after the second line generate a template and values
//! for its variables: the URI they expand to must match, the variables it
//! gives must expand to the same URI, and where the template leaves no
//! choice they must be the values themselves. Matching time is bounded by the fuzzer's timeout.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use mcp_server::core::uri_template::UriTemplate;
use mcp_server::{ResourceCall, ResourceTemplateDef};

/// The variables of `template` as the `#[mcp_resource]` check reads them.
fn macro_side(template: &str) -> Result<Vec<String>, String> {
    UriTemplate::parse(template)
        .map(|t| t.variables().into_iter().map(str::to_owned).collect())
        .map_err(|e| e.to_string())
}

/// One input.
pub fn run(data: &[u8]) {
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let template = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let uri = String::from_utf8_lossy(lines.next().unwrap_or_default());
    raw(&template, &uri);
    let rest = lines.next().unwrap_or_default();
    if let Ok(generated) = Generated::arbitrary_take_rest(Unstructured::new(rest)) {
        generated.check();
    }
}

fn define(template: &str) -> Result<ResourceTemplateDef, mcp_server::UriTemplateError> {
    ResourceTemplateDef::new(template, "t", None, |_call: ResourceCall| async { "" })
}

fn raw(template: &str, uri: &str) {
    let server = define(template);
    match (&server, macro_side(template)) {
        (Ok(def), Ok(variables)) => assert_eq!(
            def.variables(),
            variables,
            "the macro and the server read `{template}` differently"
        ),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("the macro rejects `{template}` ({e}); the server accepts it"),
        (Err(e), Ok(_)) => panic!("the macro accepts `{template}`; the server rejects it: {e}"),
    }
    if let Ok(def) = server
        && let Some(variables) = def.matches(uri)
    {
        let names = def.variables();
        for name in variables.keys() {
            assert!(
                names.contains(&name.as_str()),
                "`{uri}` gave `{name}`, not a variable of `{template}`"
            );
        }
        if let Ok(parsed) = UriTemplate::parse(template) {
            let again = parsed.expand(&variables);
            assert!(
                parsed.matches(&again).is_some(),
                "`{uri}` matched `{template}` as {variables:?}, which expands to `{again}`, which does not"
            );
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Piece {
    Literal(String),
    /// `{v}` with this value.
    Simple(String),
    /// `{+v}`.
    Reserved(String),
    /// `{#v}`.
    Fragment(String),
    /// `{?a,b}`, each value present or not.
    Query(Vec<Option<String>>),
}

#[derive(Debug, Arbitrary)]
struct Generated {
    pieces: Vec<Piece>,
}

/// What expands a variable.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Simple,
    Reserved,
    Fragment,
}

/// A part of a generated template.
#[derive(Debug)]
enum Part {
    Literal(String),
    Variable(Kind, String, String),
    Query(Vec<(String, Option<String>)>),
}

impl Generated {
    fn parts(self) -> Vec<Part> {
        let mut parts = Vec::new();
        let mut query = None;
        for (i, piece) in self.pieces.into_iter().enumerate() {
            let name = format!("v{i}");
            // Braces would change the template; a `%` in a literal would
            // read as an escape.
            let non_empty = |value: String| if value.is_empty() { "x".into() } else { value };
            match piece {
                Piece::Literal(text) => {
                    let text: String = text.chars().filter(|c| !"{}%".contains(*c)).collect();
                    if !text.is_empty() {
                        parts.push(Part::Literal(text));
                    }
                }
                Piece::Simple(value) => {
                    parts.push(Part::Variable(Kind::Simple, name, non_empty(value)));
                }
                Piece::Reserved(value) => {
                    parts.push(Part::Variable(Kind::Reserved, name, non_empty(value)));
                }
                Piece::Fragment(value) => {
                    parts.push(Part::Variable(Kind::Fragment, name, non_empty(value)));
                }
                // One query, at the end (or before a fragment), as URIs have it.
                Piece::Query(values) if query.is_none() && !values.is_empty() => {
                    query = Some(Part::Query(
                        values
                            .into_iter()
                            .enumerate()
                            .map(|(j, v)| (format!("{name}_{j}"), v))
                            .collect(),
                    ));
                }
                Piece::Query(_) => {}
            }
        }
        if let Some(query) = query {
            match parts.last() {
                Some(Part::Variable(Kind::Fragment, ..)) => {
                    let fragment = parts.pop();
                    parts.push(query);
                    parts.extend(fragment);
                }
                _ => parts.push(query),
            }
        }
        parts
    }

    fn check(self) {
        let parts = self.parts();
        let mut template = String::new();
        let mut values = BTreeMap::new();
        for part in &parts {
            match part {
                Part::Literal(text) => template.push_str(text),
                Part::Variable(kind, name, value) => {
                    let operator = match kind {
                        Kind::Simple => "",
                        Kind::Reserved => "+",
                        Kind::Fragment => "#",
                    };
                    template.push_str(&format!("{{{operator}{name}}}"));
                    values.insert(name.clone(), value.clone());
                }
                Part::Query(pairs) => {
                    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
                    template.push_str(&format!("{{?{}}}", names.join(",")));
                    for (name, value) in pairs {
                        if let Some(value) = value {
                            values.insert(name.clone(), value.clone());
                        }
                    }
                }
            }
        }
        let def = match define(&template) {
            Ok(def) => def,
            Err(e) => panic!("a generated template is invalid: {e}"),
        };
        match macro_side(&template) {
            Ok(variables) => assert_eq!(def.variables(), variables),
            Err(e) => panic!("the macro rejects the generated `{template}`: {e}"),
        }
        // Adjacent variables split anywhere, even inside an escaped UTF-8
        // character, so no one split can be promised.
        let adjacent = parts.windows(2).any(|w| {
            matches!(
                (&w[0], &w[1]),
                (Part::Variable(..), Part::Variable(k, ..)) if *k != Kind::Fragment
            )
        });
        if adjacent {
            return;
        }
        let uri = expand(&parts, &values);
        let Some(matched) = def.matches(&uri) else {
            panic!("`{uri}` does not match `{template}`, which it expands (values {values:?})");
        };
        // A reserved expansion keeps `/` (and the like) as it is, so a
        // `%2F` the matcher decoded comes back as `/`: the same URI once
        // decoded, which is what such a template can promise.
        let again = expand(&parts, &matched);
        let reserved = parts
            .iter()
            .any(|p| matches!(p, Part::Variable(Kind::Reserved | Kind::Fragment, ..)));
        assert!(
            again == uri || (reserved && decode(&again) == decode(&uri)),
            "`{uri}` matched `{template}` as {matched:?}, which expands to `{again}`"
        );
        if unambiguous(&parts) {
            assert_eq!(
                matched, values,
                "`{uri}` matched `{template}` with other values"
            );
        }
    }
}

/// Whether a template leaves its matcher no choice of split.
fn unambiguous(parts: &[Part]) -> bool {
    parts.iter().enumerate().all(|(i, part)| {
        let next = parts.get(i + 1);
        match part {
            // `{v}` stops at the first `/`, `?` or `#`.
            Part::Variable(Kind::Simple, ..) => match next {
                None | Some(Part::Query(_)) => true,
                Some(Part::Literal(text)) => text.starts_with(['/', '?', '#']),
                Some(Part::Variable(..)) => false,
            },
            // `{+v}` runs to the end, or to the query.
            Part::Variable(..) => parts[i + 1..].iter().all(|p| matches!(p, Part::Query(_))),
            Part::Query(_) => matches!(next, None | Some(Part::Variable(Kind::Fragment, ..))),
            Part::Literal(_) => true,
        }
    })
}

/// RFC 6570 expansion, with `%` always escaped.
fn expand(parts: &[Part], values: &BTreeMap<String, String>) -> String {
    let mut uri = String::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => uri.push_str(text),
            Part::Variable(kind, name, _) => {
                let value = values.get(name).map_or("", String::as_str);
                // Before a query, a `?` in a reserved value is escaped, or
                // it would start the query.
                let query_follows = parts[i + 1..].iter().any(|p| matches!(p, Part::Query(_)));
                match kind {
                    Kind::Simple => escape(&mut uri, value, ""),
                    Kind::Reserved | Kind::Fragment => {
                        if *kind == Kind::Fragment {
                            uri.push('#');
                        }
                        let reserved = if query_follows {
                            ":/#[]@!$&'()*+,;="
                        } else {
                            ":/?#[]@!$&'()*+,;="
                        };
                        escape(&mut uri, value, reserved);
                    }
                }
            }
            Part::Query(pairs) => {
                let mut first = true;
                for (name, _) in pairs {
                    if let Some(value) = values.get(name) {
                        uri.push(if first { '?' } else { '&' });
                        first = false;
                        uri.push_str(name);
                        uri.push('=');
                        escape(&mut uri, value, "");
                    }
                }
            }
        }
    }
    uri
}

fn escape(out: &mut String, value: &str, keep: &str) {
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
}

/// Percent-decoding, bytes as they come.
fn decode(uri: &str) -> Vec<u8> {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}
