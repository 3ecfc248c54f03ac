//! Attribute arguments, read into typed structs with their spans kept.

use syn::meta::ParseNestedMeta;
use syn::{Expr, LitBool, LitStr, Token};

/// `#[mcp_server(..)]`.
#[derive(Default)]
pub(crate) struct ServerAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) version: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) instructions: Option<LitStr>,
}

const SERVER_KEYS: &[&str] = &["name", "version", "title", "instructions"];

/// `#[mcp_tool(..)]`.
#[derive(Default)]
pub(crate) struct ToolAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) open_world: Option<bool>,
    pub(crate) icons: Vec<LitStr>,
    /// `task`: the handler may continue as a task (`ctx.start_task()`).
    pub(crate) task: Option<bool>,
    /// `scopes("crm:write", ..)`: what an authenticated caller needs.
    pub(crate) scopes: Vec<LitStr>,
    /// `timeout = "30s"`: the call's time limit, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// `audit_arguments`: the audit log records the argument values.
    pub(crate) audit_arguments: Option<bool>,
    /// `ui = "ui://.."`: the MCP Apps view that renders the results.
    pub(crate) ui: Option<LitStr>,
    /// `visibility = ["model", "app"]`: who may call the tool.
    pub(crate) visibility: Option<Vec<LitStr>>,
}

const TOOL_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
    "icons",
    "task",
    "scopes",
    "timeout",
    "audit_arguments",
    "ui",
    "visibility",
];

/// `#[arg(..)]` on a tool parameter.
#[derive(Default)]
pub(crate) struct ArgAttr {
    pub(crate) default: Option<Expr>,
    pub(crate) min: Option<Expr>,
    pub(crate) max: Option<Expr>,
    /// `length(min = .., max = ..)`: characters of a string, items of a
    /// list.
    pub(crate) min_length: Option<Expr>,
    pub(crate) max_length: Option<Expr>,
    pub(crate) rename: Option<LitStr>,
    /// `header = "Region"`: 2026-07-28 clients mirror the argument in an
    /// `Mcp-Param-Region` HTTP header (`x-mcp-header` in the schema).
    pub(crate) header: Option<LitStr>,
    /// `complete = method`: completes a prompt or template argument.
    pub(crate) complete: Option<syn::Path>,
}

const ARG_KEYS: &[&str] = &["default", "range", "length", "rename", "header", "complete"];

fn set<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("duplicate key `{key}`; give it once")));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) {
        let lit: LitBool = meta.value()?.parse()?;
        Ok(lit.value)
    } else {
        Ok(true)
    }
}

fn unknown(meta: &ParseNestedMeta<'_>, what: &str, keys: &[&str]) -> syn::Error {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| {
            let path = &meta.path;
            quote::quote!(#path).to_string()
        });
    let valid = keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match suggest(&key, keys) {
        Some(best) => meta.error(format!(
            "unknown key `{key}` in `{what}`; did you mean `{best}`? valid keys: {valid}"
        )),
        None => meta.error(format!(
            "unknown key `{key}` in `{what}`; valid keys: {valid}"
        )),
    }
}

/// The closest key by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(key: &str, keys: &[&'a str]) -> Option<&'a str> {
    let normalized = key.replace(['-', '_'], "").to_lowercase();
    keys.iter()
        .map(|k| {
            let candidate = k.replace('_', "");
            (k, distance(&normalized, &candidate))
        })
        .filter(|(k, d)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| *k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

impl ServerAttr {
    pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Self> {
        let mut attr = Self::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                set(&mut attr.name, meta.value()?.parse()?, &meta, "name")
            } else if meta.path.is_ident("version") {
                set(&mut attr.version, meta.value()?.parse()?, &meta, "version")
            } else if meta.path.is_ident("title") {
                set(&mut attr.title, meta.value()?.parse()?, &meta, "title")
            } else if meta.path.is_ident("instructions") {
                set(
                    &mut attr.instructions,
                    meta.value()?.parse()?,
                    &meta,
                    "instructions",
                )
            } else {
                Err(unknown(&meta, "#[mcp_server]", SERVER_KEYS))
            }
        });
        syn::parse::Parser::parse2(parser, tokens)?;
        Ok(attr)
    }
}

impl ToolAttr {
    pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Self> {
        let mut attr = Self::default();
        let mut icons_seen = false;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                set(&mut attr.name, meta.value()?.parse()?, &meta, "name")
            } else if meta.path.is_ident("title") {
                set(&mut attr.title, meta.value()?.parse()?, &meta, "title")
            } else if meta.path.is_ident("description") {
                set(
                    &mut attr.description,
                    meta.value()?.parse()?,
                    &meta,
                    "description",
                )
            } else if meta.path.is_ident("read_only") {
                set(&mut attr.read_only, flag(&meta)?, &meta, "read_only")
            } else if meta.path.is_ident("destructive") {
                set(&mut attr.destructive, flag(&meta)?, &meta, "destructive")
            } else if meta.path.is_ident("idempotent") {
                set(&mut attr.idempotent, flag(&meta)?, &meta, "idempotent")
            } else if meta.path.is_ident("open_world") {
                set(&mut attr.open_world, flag(&meta)?, &meta, "open_world")
            } else if meta.path.is_ident("task") {
                set(&mut attr.task, flag(&meta)?, &meta, "task")
            } else if meta.path.is_ident("audit_arguments") {
                set(
                    &mut attr.audit_arguments,
                    flag(&meta)?,
                    &meta,
                    "audit_arguments",
                )
            } else if meta.path.is_ident("ui") {
                let view = crate::ui::tool_view(meta.value()?.parse()?)?;
                set(&mut attr.ui, view, &meta, "ui")
            } else if meta.path.is_ident("visibility") {
                let array: syn::ExprArray = meta.value()?.parse()?;
                let list = crate::ui::visibility(&array)?;
                set(&mut attr.visibility, list, &meta, "visibility")
            } else if meta.path.is_ident("timeout") {
                let lit: LitStr = meta.value()?.parse()?;
                let ms = parse_duration_ms(&lit.value()).ok_or_else(|| {
                    syn::Error::new(
                        lit.span(),
                        "`timeout` takes a duration such as \"30s\", \"500ms\", \"2m\" or \"1h\"",
                    )
                })?;
                set(&mut attr.timeout_ms, ms, &meta, "timeout")
            } else if meta.path.is_ident("scopes") {
                if !attr.scopes.is_empty() {
                    return Err(meta.error("duplicate key `scopes`; give it once"));
                }
                let content;
                syn::parenthesized!(content in meta.input);
                let scopes =
                    syn::punctuated::Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                if scopes.is_empty() {
                    return Err(meta.error(
                        "`scopes` needs at least one scope, such as `scopes(\"crm:write\")`",
                    ));
                }
                attr.scopes.extend(scopes);
                Ok(())
            } else if meta.path.is_ident("icons") {
                if icons_seen {
                    return Err(meta.error("duplicate key `icons`; give it once"));
                }
                icons_seen = true;
                let array: syn::ExprArray = meta.value()?.parse()?;
                for element in array.elems {
                    match element {
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => attr.icons.push(s),
                        other => {
                            return Err(syn::Error::new_spanned(
                                other,
                                "`icons` takes string literals: icon URLs such as \"https://example.com/icon.png\"",
                            ));
                        }
                    }
                }
                Ok(())
            } else {
                Err(unknown(&meta, "#[mcp_tool]", TOOL_KEYS))
            }
        });
        syn::parse::Parser::parse2(parser, tokens)?;
        Ok(attr)
    }
}

impl ArgAttr {
    pub(crate) fn parse(attr: &syn::Attribute) -> syn::Result<Self> {
        let mut arg = Self::default();
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                set(&mut arg.default, meta.value()?.parse()?, &meta, "default")
            } else if meta.path.is_ident("rename") {
                set(&mut arg.rename, meta.value()?.parse()?, &meta, "rename")
            } else if meta.path.is_ident("complete") {
                set(&mut arg.complete, meta.value()?.parse()?, &meta, "complete")
            } else if meta.path.is_ident("header") {
                let name: LitStr = meta.value()?.parse()?;
                let value = name.value();
                let is_token = !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
                if !is_token {
                    return Err(syn::Error::new(
                        name.span(),
                        "`header` must be an HTTP header name suffix: letters, digits, `-`, `_` or `.`",
                    ));
                }
                set(&mut arg.header, name, &meta, "header")
            } else if meta.path.is_ident("range") {
                if arg.min.is_some() || arg.max.is_some() {
                    return Err(meta.error("duplicate key `range`; give it once"));
                }
                meta.parse_nested_meta(|bound| {
                    if bound.path.is_ident("min") {
                        set(&mut arg.min, bound.value()?.parse()?, &bound, "min")
                    } else if bound.path.is_ident("max") {
                        set(&mut arg.max, bound.value()?.parse()?, &bound, "max")
                    } else {
                        Err(unknown(&bound, "range(..)", &["min", "max"]))
                    }
                })
            } else if meta.path.is_ident("length") {
                if arg.min_length.is_some() || arg.max_length.is_some() {
                    return Err(meta.error("duplicate key `length`; give it once"));
                }
                meta.parse_nested_meta(|bound| {
                    if bound.path.is_ident("min") {
                        set(&mut arg.min_length, bound.value()?.parse()?, &bound, "min")
                    } else if bound.path.is_ident("max") {
                        set(&mut arg.max_length, bound.value()?.parse()?, &bound, "max")
                    } else {
                        Err(unknown(&bound, "length(..)", &["min", "max"]))
                    }
                })
            } else {
                Err(unknown(&meta, "#[arg]", ARG_KEYS))
            }
        })?;
        Ok(arg)
    }
}

/// `500ms`, `30s`, `2m` or `1h`, in milliseconds; `None` for anything else
/// or zero.
fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor).filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn suggests_close_keys() {
        assert_eq!(suggest("readonly", TOOL_KEYS), Some("read_only"));
        assert_eq!(suggest("descripton", TOOL_KEYS), Some("description"));
        assert_eq!(suggest("zzz", TOOL_KEYS), None);
    }

    #[test]
    fn parses_tool_flags_and_values() {
        let attr = ToolAttr::parse(quote!(
            name = "x",
            read_only,
            destructive = false,
            icons = ["a"]
        ))
        .unwrap();
        assert_eq!(attr.name.unwrap().value(), "x");
        assert_eq!(attr.read_only, Some(true));
        assert_eq!(attr.destructive, Some(false));
        assert_eq!(attr.icons.len(), 1);
    }

    #[test]
    fn rejects_duplicates_and_unknown_keys() {
        let err = ToolAttr::parse(quote!(read_only, read_only)).err().unwrap();
        assert_eq!(err.to_string(), "duplicate key `read_only`; give it once");
        let err = ToolAttr::parse(quote!(readonly)).err().unwrap();
        assert!(
            err.to_string()
                .starts_with("unknown key `readonly` in `#[mcp_tool]`; did you mean `read_only`?")
        );
    }

    #[test]
    fn parses_arg_lengths() {
        let attr: syn::Attribute = syn::parse_quote!(#[arg(length(min = 1, max = LIMIT))]);
        let arg = ArgAttr::parse(&attr).unwrap();
        assert!(matches!(arg.min_length, Some(Expr::Lit(_))));
        assert!(matches!(arg.max_length, Some(Expr::Path(_))));
        assert!(arg.min.is_none() && arg.max.is_none());
        let twice: syn::Attribute = syn::parse_quote!(#[arg(length(max = 1), length(max = 2))]);
        let err = ArgAttr::parse(&twice).err().unwrap();
        assert_eq!(err.to_string(), "duplicate key `length`; give it once");
        let odd: syn::Attribute = syn::parse_quote!(#[arg(length(maximum = 2))]);
        assert!(ArgAttr::parse(&odd).is_err());
    }
}
