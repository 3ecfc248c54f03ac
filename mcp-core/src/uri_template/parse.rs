//! The template grammar: literals and `{..}` expressions.

use super::{Part, UriTemplateErrorKind};

type Failure = (usize, UriTemplateErrorKind);

/// The parts of `template`, or the byte offset and kind of its first error.
pub(super) fn parts(template: &str) -> Result<Vec<Part>, Failure> {
    let mut parts = Vec::new();
    let mut seen = Vec::<&str>::new();
    let mut at = 0;
    while at < template.len() {
        let rest = &template[at..];
        let Some(open) = rest.find('{') else {
            parts.push(Part::Literal(literal(rest, at)?.to_owned()));
            break;
        };
        if open > 0 {
            parts.push(Part::Literal(literal(&rest[..open], at)?.to_owned()));
        }
        let start = at + open;
        let close = template[start..]
            .find('}')
            .ok_or((start, UriTemplateErrorKind::Unclosed))?
            + start;
        parts.push(expression(template, start, close, &mut seen)?);
        at = close + 1;
    }
    Ok(parts)
}

/// Literal text at `offset`: anything but a `}` (a `{` starts an expression).
fn literal(text: &str, offset: usize) -> Result<&str, Failure> {
    match text.find('}') {
        Some(stray) => Err((offset + stray, UriTemplateErrorKind::Unopened)),
        None => Ok(text),
    }
}

/// The expression between the `{` at `open` and the `}` at `close`.
fn expression<'t>(
    template: &'t str,
    open: usize,
    close: usize,
    seen: &mut Vec<&'t str>,
) -> Result<Part, Failure> {
    let expression = &template[open + 1..close];
    let operator = expression.chars().next().filter(|c| "+#?".contains(*c));
    let names = &expression[operator.map_or(0, char::len_utf8)..];
    let names_at = close - names.len();
    match names.chars().next() {
        Some('+' | '#' | '?') => {
            return Err((open, UriTemplateErrorKind::TwoOperators(expression.into())));
        }
        Some(op @ ('/' | ';' | '.' | '&' | '=' | ',' | '!' | '@' | '|')) => {
            return Err((open, UriTemplateErrorKind::UnsupportedOperator(op)));
        }
        _ => {}
    }
    if operator != Some('?') && names.contains(',') {
        return Err((open, UriTemplateErrorKind::List(expression.into())));
    }
    let mut list = Vec::new();
    let mut name_at = names_at;
    for raw in names.split(',') {
        let name = raw.trim();
        let offset = name_at + (raw.len() - raw.trim_start().len());
        name_at += raw.len() + 1;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((offset, UriTemplateErrorKind::InvalidName(expression.into())));
        }
        if seen.contains(&name) {
            return Err((offset, UriTemplateErrorKind::Repeated(name.into())));
        }
        seen.push(name);
        list.push(name.to_owned());
    }
    Ok(match (operator, list.pop()) {
        (Some('?'), Some(last)) => {
            list.push(last);
            Part::Query(list)
        }
        (Some('+'), Some(name)) => Part::Reserved(name),
        (Some('#'), Some(name)) => Part::Fragment(name),
        (_, Some(name)) => Part::Simple(name),
        // `split` yields at least one name, checked non-empty above.
        (_, None) => return Err((open, UriTemplateErrorKind::InvalidName(expression.into()))),
    })
}
