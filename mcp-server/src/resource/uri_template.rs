//! RFC 6570 URI templates, inverted to match the URIs clients read.

use std::collections::BTreeMap;

/// A URI template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI template `{template}`: {reason}")]
pub struct UriTemplateError {
    /// The template.
    pub template: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{var}`: one segment, no `/`, `?` or `#`.
    Simple(String),
    /// `{+var}` or `{#var}`: any text (reserved expansion).
    Reserved(String),
    /// `{?a,b}`: query parameters, in any order, all optional.
    Query(Vec<String>),
}

/// An RFC 6570 template, inverted to match URIs (levels 1 to 3, the forms a
/// resource URI uses).
///
/// Matching runs a regular expression compiled from the template, so its
/// time is linear in the URI whatever the template: a backtracking matcher
/// takes time exponential in the number of variables on a URI that almost
/// matches, and URIs come from clients.
#[derive(Debug, Clone)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
    regex: regex::Regex,
    /// What each capture group of `regex` holds, in order.
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
enum Group {
    Variable(String),
    Query,
}

impl UriTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, UriTemplateError> {
        let fail = |reason: &str| UriTemplateError {
            template: template.to_owned(),
            reason: reason.to_owned(),
        };
        let parts = parse_parts(template).map_err(|reason| fail(&reason))?;
        let (pattern, groups) = pattern(&parts);
        let regex =
            regex::Regex::new(&pattern).map_err(|e| fail(&format!("it cannot be matched: {e}")))?;
        Ok(Self {
            parts,
            regex,
            groups,
        })
    }

    pub(crate) fn variables(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|part| match part {
                Part::Simple(name) | Part::Reserved(name) => vec![name.as_str()],
                Part::Query(names) => names.iter().map(String::as_str).collect(),
                Part::Literal(_) => Vec::new(),
            })
            .collect()
    }

    pub(crate) fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let captures = self.regex.captures(uri)?;
        let mut variables = BTreeMap::new();
        for (group, capture) in self.groups.iter().zip(captures.iter().skip(1)) {
            let Some(capture) = capture else { continue };
            match group {
                Group::Variable(name) => {
                    variables.insert(name.clone(), percent_decode(capture.as_str())?);
                }
                Group::Query => {
                    for pair in capture.as_str().split('&').filter(|p| !p.is_empty()) {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        variables.insert(key.to_owned(), percent_decode(value)?);
                    }
                }
            }
        }
        Some(variables)
    }
}

fn parse_parts(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut seen = Vec::<String>::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Literal(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| "a `{` is never closed".to_owned())?
            + open;
        let expression = &rest[open + 1..close];
        let (operator, names) = match expression.chars().next() {
            Some(op @ ('+' | '#' | '?')) => (Some(op), &expression[1..]),
            Some(op @ ('/' | ';' | '.' | '&' | '=' | ',' | '!' | '@' | '|')) => {
                return Err(format!("the `{op}` operator is not supported"));
            }
            _ => (None, expression),
        };
        let names: Vec<String> = names.split(',').map(|n| n.trim().to_owned()).collect();
        for name in &names {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`{{{expression}}}` has an invalid variable name"));
            }
            if seen.contains(name) {
                return Err(format!("the variable `{name}` appears twice"));
            }
            seen.push(name.clone());
        }
        match operator {
            Some('?') => parts.push(Part::Query(names)),
            _ if names.len() > 1 => {
                return Err("list variables are only supported in `{?a,b}`".into());
            }
            Some('+' | '#') => {
                if operator == Some('#') {
                    parts.push(Part::Literal("#".into()));
                }
                parts.push(Part::Reserved(names[0].clone()));
            }
            _ => parts.push(Part::Simple(names[0].clone())),
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` is never opened".into());
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Ok(parts)
}

/// The regular expression that matches what `parts` expand to, and what
/// each of its groups captures.
fn pattern(parts: &[Part]) -> (String, Vec<Group>) {
    let mut pattern = String::from("(?s)^");
    let mut groups = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(literal) => pattern.push_str(&regex::escape(literal)),
            // A value never splits a `%XX` escape, so it always decodes.
            Part::Simple(name) => {
                pattern.push_str("((?:[^/?#%]|%[0-9A-Fa-f]{2})+)");
                groups.push(Group::Variable(name.clone()));
            }
            Part::Reserved(name) => {
                // The longest value wins, so a later literal anchors it; but
                // before a `{?query}` the shortest, so `?a=1` is read as the
                // query it most likely is rather than as part of the value.
                let query_follows = parts[i + 1..].iter().any(|p| matches!(p, Part::Query(_)));
                pattern.push_str(if query_follows {
                    "((?:[^%]|%[0-9A-Fa-f]{2})+?)"
                } else {
                    "((?:[^%]|%[0-9A-Fa-f]{2})+)"
                });
                groups.push(Group::Variable(name.clone()));
            }
            Part::Query(names) => {
                // Pairs in any order, each optional, names from the template.
                let names: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
                let pair = format!("(?:(?:{})(?:=[^&#]*)?)?", names.join("|"));
                pattern.push_str(&format!(r"(?:\?({pair}(?:&{pair})*))?"));
                groups.push(Group::Query);
            }
        }
    }
    pattern.push('$');
    (pattern, groups)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits exactly: `from_str_radix` alone would take `+1`.
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(template)
            .unwrap()
            .matches(uri)
            .map(|m| m.into_iter().collect())
    }

    #[test]
    fn templates_match_and_extract() {
        assert_eq!(
            vars("test://template/{id}/data", "test://template/42/data"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/4/2/data"),
            None
        );
        assert_eq!(
            vars("file:///{+path}", "file:///a/b/c.txt"),
            Some(vec![("path".into(), "a/b/c.txt".into())])
        );
        assert_eq!(
            vars("users://{id}{?fields,limit}", "users://7?limit=3"),
            Some(vec![
                ("id".into(), "7".into()),
                ("limit".into(), "3".into())
            ])
        );
        assert_eq!(
            vars("notes://{name}", "notes://hello%20world"),
            Some(vec![("name".into(), "hello world".into())])
        );
        assert_eq!(vars("notes://{name}", "notes://"), None);
        assert_eq!(vars("a://{x}", "b://1"), None);
    }

    #[test]
    fn matching_takes_linear_time_on_uris_that_almost_match() {
        // Five adjacent `{+var}`s and a URI that fails only at its end: a
        // backtracking matcher tries every split, C(3000, 5) of them.
        let template = UriTemplate::parse("t://{+a}{+b}{+c}{+d}{+e}/end").unwrap();
        let uri = format!("t://{}/nope", "x/".repeat(1500));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(template.matches(&uri));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(result, Ok(None), "matching did not finish in 10 s");
    }

    #[test]
    fn a_query_after_a_reserved_variable_is_read_as_the_query() {
        assert_eq!(
            vars("file:///{+path}{?rev}", "file:///a/b.txt?rev=2"),
            Some(vec![
                ("path".into(), "a/b.txt".into()),
                ("rev".into(), "2".into())
            ])
        );
        // A `?` that starts no known parameter stays in the value.
        assert_eq!(
            vars("file:///{+path}{?rev}", "file:///a?b"),
            Some(vec![("path".into(), "a?b".into())])
        );
    }

    #[test]
    fn percent_escapes_need_two_hex_digits() {
        assert_eq!(vars("notes://{name}", "notes://%+1"), None);
        assert_eq!(vars("notes://{name}", "notes://%4"), None);
        assert_eq!(
            vars("notes://{name}", "notes://%4a"),
            Some(vec![("name".into(), "J".into())])
        );
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(UriTemplate::parse("a://{x").is_err());
        assert!(UriTemplate::parse("a://{x}/{x}").is_err());
        assert!(UriTemplate::parse("a://{/x}").is_err());
        assert!(UriTemplate::parse("a://{}").is_err());
        assert_eq!(
            UriTemplate::parse("a://{x}/{+y}{?z}").unwrap().variables(),
            ["x", "y", "z"]
        );
    }
}
