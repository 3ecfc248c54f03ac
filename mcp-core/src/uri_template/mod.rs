//! RFC 6570 URI templates, the forms a resource template uses: `{var}`,
//! `{+var}`, `{#var}` and `{?a,b}` (levels 1 and 2, and level 3's query
//! form). One parser serves the server, which matches URIs against a
//! template, and `#[mcp_resource]`, which checks a template at compile time,
//! so a template the macro accepts never fails at run time.
//!
//! Expansion is the inverse of matching: a `%` in a value is always escaped,
//! and so is a `?` in a reserved value before a `{?query}`, so matching the
//! expanded URI gives the values back wherever the template leaves the
//! matcher no choice of split.
//!
//! ```
//! use std::collections::BTreeMap;
//! use mcp_core::uri_template::UriTemplate;
//!
//! let template = UriTemplate::parse("file:///{+path}{?rev}").unwrap();
//! let values = BTreeMap::from([("path".to_owned(), "docs/a b.md".to_owned())]);
//! let uri = template.expand(&values);
//! assert_eq!(uri, "file:///docs/a%20b.md");
//! assert_eq!(template.matches(&uri), Some(values));
//! ```

mod expand;
mod matching;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// Text copied as it is.
    Literal(String),
    /// `{var}`: one segment, every reserved character escaped.
    Simple(String),
    /// `{+var}`: any text, reserved characters kept.
    Reserved(String),
    /// `{#var}`: `#` then the value as `{+var}` has it.
    Fragment(String),
    /// `{?a,b}`: query parameters, each optional.
    Query(Vec<String>),
}

/// A parsed RFC 6570 template, ready to expand and to match URIs.
///
/// Matching runs a regular expression compiled from the template, so its
/// time is linear in the URI whatever the template: a backtracking matcher
/// takes time exponential in the number of variables on a URI that almost
/// matches, and URIs come from clients.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    parts: Vec<Part>,
    matcher: matching::Matcher,
}

impl UriTemplate {
    /// Parses `template`.
    ///
    /// # Errors
    /// The template is not one this module can match: an unclosed `{`, a
    /// stray `}`, an empty, invalid or repeated variable name, an operator
    /// other than `+`, `#` and `?`, or a list outside `{?a,b}`. The error
    /// gives the byte offset of the offending expression.
    pub fn parse(template: &str) -> Result<Self, UriTemplateError> {
        let parts = parse::parts(template).map_err(|(offset, kind)| UriTemplateError {
            template: template.to_owned(),
            offset,
            kind,
        })?;
        let matcher = matching::Matcher::new(&parts).map_err(|why| UriTemplateError {
            template: template.to_owned(),
            offset: 0,
            kind: UriTemplateErrorKind::Unmatchable(why),
        })?;
        Ok(Self { parts, matcher })
    }

    /// The template's parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The variables of the template, in order.
    pub fn variables(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|part| match part {
                Part::Simple(name) | Part::Reserved(name) | Part::Fragment(name) => {
                    vec![name.as_str()]
                }
                Part::Query(names) => names.iter().map(String::as_str).collect(),
                Part::Literal(_) => Vec::new(),
            })
            .collect()
    }

    /// The URI the template names with `values`; a variable without a value
    /// expands to nothing.
    pub fn expand(&self, values: &BTreeMap<String, String>) -> String {
        expand::expand(&self.parts, values)
    }

    /// The template's variables in `uri`, percent-decoded, if `uri` is one
    /// the template names. Takes time linear in the length of `uri`.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        self.matcher.matches(uri)
    }
}

/// A URI template that cannot be used, and where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI template `{template}`: {kind}")]
pub struct UriTemplateError {
    /// The template.
    pub template: String,
    /// The byte offset in `template` of the offending `{`, `}` or variable.
    pub offset: usize,
    /// What is wrong.
    pub kind: UriTemplateErrorKind,
}

/// What is wrong with a URI template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriTemplateErrorKind {
    /// A `{` without its `}`.
    #[error("a `{{` is never closed")]
    Unclosed,
    /// A `}` without its `{`.
    #[error("a `}}` is never opened")]
    Unopened,
    /// An RFC 6570 operator the matcher cannot invert, such as `/` or `;`.
    #[error("the `{0}` operator is not supported")]
    UnsupportedOperator(char),
    /// An expression with two operators, such as `{+#x}`.
    #[error("`{{{0}}}` has more than one operator")]
    TwoOperators(String),
    /// An empty variable name, or one with other than ASCII letters, digits
    /// and `_`.
    #[error("`{{{0}}}` has an invalid variable name")]
    InvalidName(String),
    /// A variable named twice.
    #[error("the variable `{0}` appears twice")]
    Repeated(String),
    /// A list of variables outside `{?a,b}`.
    #[error("`{{{0}}}`: list variables are only supported in `{{?a,b}}`")]
    List(String),
    /// The template cannot be compiled into a matcher (it is too large).
    #[error("it cannot be matched: {0}")]
    Unmatchable(String),
}
