//! Every misuse the macros can see, reported together.

use syn::{ReturnType, Type};

use crate::model::{Param, ToolFn};

/// Collects errors so one build shows them all.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Where a tool is declared.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Method,
    Free,
}

/// Whether a tool name follows the spec: 1-128 of `[A-Za-z0-9_.-]`.
pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub(crate) fn tool(tool: &ToolFn, place: Place, errors: &mut Errors) {
    let sig = &tool.sig;
    let name = tool.name();
    for e in &tool.errors {
        errors.push(e.clone());
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "`#[mcp_tool]` needs an `async fn`; `{}` is synchronous: MCP handlers run concurrently on the async runtime, so write `async fn {}`",
                sig.ident, sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "tool functions cannot be generic: the arguments' JSON Schema is fixed when the server starts; use concrete types",
        ));
    }
    if let Some(name_lit) = &tool.attr.name
        && !valid_tool_name(&name)
    {
        errors.push(syn::Error::new_spanned(
            name_lit,
            format!(
                "invalid tool name `{name}`: tool names are 1 to 128 ASCII letters, digits, `_`, `-` and `.`, such as `search_contacts`"
            ),
        ));
    }
    if tool.description.is_none() && tool.attr.description.is_none() {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "tool `{name}` has no description: the model reads only this text when it chooses a tool; add a `///` doc comment to `{}`, or `description = \"...\"`",
                sig.ident
            ),
        ));
    }
    let mut context: Option<&Type> = None;
    for param in &tool.params {
        match param {
            Param::Receiver(receiver) => match place {
                Place::Free => errors.push(syn::Error::new_spanned(
                    receiver,
                    "`#[mcp_tool]` on a method needs `#[mcp_server]` on the enclosing `impl` block",
                )),
                Place::Method => {
                    if receiver.reference.is_none() {
                        errors.push(syn::Error::new_spanned(
                            receiver,
                            "tools take `&self`, not `self`: one server value serves many concurrent requests; keep state behind `&self` (an `Arc`, a pool, a `Mutex`)",
                        ));
                    } else if receiver.mutability.is_some() {
                        errors.push(syn::Error::new_spanned(
                            receiver,
                            "tools take `&self`, not `&mut self`: one server value serves many concurrent requests; move mutable state behind a `Mutex`, an `RwLock` or an atomic",
                        ));
                    }
                }
            },
            Param::Context(ty) => {
                if let Some(first) = context {
                    let mut e = syn::Error::new_spanned(
                        ty,
                        "a tool takes at most one `&RequestContext` parameter; remove this one",
                    );
                    e.combine(syn::Error::new_spanned(
                        first,
                        "the first `&RequestContext` parameter is here",
                    ));
                    errors.push(e);
                } else {
                    context = Some(ty);
                }
            }
            Param::Arg(arg) => {
                arg_type(&arg.ty, errors);
                if let Some(complete) = &arg.attr.complete {
                    errors.push(syn::Error::new_spanned(
                        complete,
                        "`complete` applies to prompt and resource-template arguments; tool arguments are described by their JSON Schema",
                    ));
                }
                if let (Some(syn::Expr::Lit(min)), Some(syn::Expr::Lit(max))) =
                    (&arg.attr.min, &arg.attr.max)
                    && let (Some(lo), Some(hi)) = (number(&min.lit), number(&max.lit))
                    && lo > hi
                {
                    errors.push(syn::Error::new_spanned(
                        &arg.attr.max,
                        format!("empty range: `max` ({hi}) is below `min` ({lo}); swap them"),
                    ));
                }
                if let (Some(syn::Expr::Lit(min)), Some(syn::Expr::Lit(max))) =
                    (&arg.attr.min_length, &arg.attr.max_length)
                    && let (Some(lo), Some(hi)) = (number(&min.lit), number(&max.lit))
                    && lo > hi
                {
                    errors.push(syn::Error::new_spanned(
                        &arg.attr.max_length,
                        format!("empty length: `max` ({hi}) is below `min` ({lo}); swap them"),
                    ));
                }
            }
            Param::Invalid(e) => errors.push(e.clone()),
        }
    }
    if place == Place::Method && !tool.params.iter().any(|p| matches!(p, Param::Receiver(_))) {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "tool `{}` in a `#[mcp_server]` impl needs a `&self` receiver: write `async fn {}(&self, ..)`, or make it a free `#[mcp_tool]` function",
                sig.ident, sig.ident
            ),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && let Type::ImplTrait(_) = &**ty
    {
        errors.push(syn::Error::new_spanned(
            ty,
            "tools cannot return `impl Trait`: name the type, such as `String`, `Structured<T>` or `Result<T, E>`",
        ));
    }
}

fn number(lit: &syn::Lit) -> Option<f64> {
    match lit {
        syn::Lit::Int(i) => i.base10_parse::<f64>().ok(),
        syn::Lit::Float(f) => f.base10_parse::<f64>().ok(),
        _ => None,
    }
}

fn arg_type(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(r) => {
            let owned = match &*r.elem {
                Type::Path(p) if p.path.is_ident("str") => "String".to_owned(),
                Type::Slice(s) => {
                    let elem = &s.elem;
                    format!("Vec<{}>", quote::quote!(#elem).to_string().replace(' ', ""))
                }
                other => quote::quote!(#other).to_string().replace(' ', ""),
            };
            errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "tool parameters must be owned: `{}` borrows from the request; take `{owned}`",
                    quote::quote!(#ty).to_string().replace(' ', "")
                ),
            ));
        }
        Type::ImplTrait(_) => errors.push(syn::Error::new_spanned(
            ty,
            "tool parameters cannot be `impl Trait`: the JSON Schema needs a concrete type",
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::ToolAttr;
    use syn::parse_quote;

    fn check(mut item: syn::ItemFn, place: Place) -> Vec<String> {
        let tool = ToolFn::lift(ToolAttr::default(), &item.attrs, &mut item.sig);
        let mut errors = Errors::default();
        super::tool(&tool, place, &mut errors);
        match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_tool_passes() {
        let item: syn::ItemFn = parse_quote! {
            /// Add.
            async fn add(&self, a: i64, ctx: &RequestContext) -> i64 { a }
        };
        assert!(check(item, Place::Method).is_empty());
    }

    #[test]
    fn reports_every_error_at_once() {
        let item: syn::ItemFn = parse_quote! {
            fn add(&mut self, a: &str, c: &RequestContext, d: &RequestContext) -> i64 { 1 }
        };
        let errors = check(item, Place::Method);
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors[0].starts_with("`#[mcp_tool]` needs an `async fn`"));
        assert!(errors[1].starts_with("tool `add` has no description"));
        assert!(errors[2].starts_with("tools take `&self`, not `&mut self`"));
        assert_eq!(
            errors[3],
            "tool parameters must be owned: `&str` borrows from the request; take `String`"
        );
    }

    #[test]
    fn tool_names() {
        assert!(valid_tool_name("search_contacts.v2-beta"));
        assert!(!valid_tool_name("search contacts"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name(&"a".repeat(129)));
    }
}
