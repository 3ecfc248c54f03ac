//! Matching URIs: the template inverted into a regular expression.

use std::collections::BTreeMap;

use super::Part;

/// The compiled regular expression and what each of its groups captures.
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    regex: regex::Regex,
    /// What each capture group of `regex` holds, in order.
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
enum Group {
    Variable(String),
    Query,
}

impl Matcher {
    /// The matcher of `parts`, or why the regular expression fails to build.
    pub(super) fn new(parts: &[Part]) -> Result<Self, String> {
        let (pattern, groups) = pattern(parts);
        let regex = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
        Ok(Self { regex, groups })
    }

    pub(super) fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
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

/// One character percent-encoded as UTF-8: one to four `%XX` escapes, a
/// lead byte and its continuation bytes. Matching whole characters keeps
/// two adjacent variables from splitting one between them (which would
/// leave each with bytes that do not decode).
const ESCAPED_CHAR: &str = "(?:%[0-7][0-9A-Fa-f]\
    |%[CDcd][0-9A-Fa-f]%[89ABab][0-9A-Fa-f]\
    |%[Ee][0-9A-Fa-f](?:%[89ABab][0-9A-Fa-f]){2}\
    |%[Ff][0-7](?:%[89ABab][0-9A-Fa-f]){3})";

/// The regular expression that matches what `parts` expand to, and what
/// each of its groups captures.
fn pattern(parts: &[Part]) -> (String, Vec<Group>) {
    let mut pattern = String::from("(?s)^");
    let mut groups = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(literal) => pattern.push_str(&regex::escape(literal)),
            // A value never splits the escapes of one UTF-8 character, so
            // it always decodes, whichever variable takes it.
            Part::Simple(name) => {
                pattern.push_str(&format!("((?:[^/?#%]|{ESCAPED_CHAR})+)"));
                groups.push(Group::Variable(name.clone()));
            }
            Part::Reserved(name) | Part::Fragment(name) => {
                if matches!(part, Part::Fragment(_)) {
                    pattern.push('#');
                }
                // The longest value wins, so a later literal anchors it; but
                // before a `{?query}` the shortest, so `?a=1` is read as the
                // query it most likely is rather than as part of the value.
                let query_follows = parts[i + 1..].iter().any(|p| matches!(p, Part::Query(_)));
                let lazy = if query_follows { "?" } else { "" };
                pattern.push_str(&format!("((?:[^%]|{ESCAPED_CHAR})+{lazy})"));
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

/// `%XX` escapes decoded; `None` for a malformed escape or invalid UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
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
