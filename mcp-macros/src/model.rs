//! Tool functions lifted from syn, with spans kept for error messages.

use syn::{Attribute, FnArg, Pat, Signature, Type};

use crate::attr::{ArgAttr, ToolAttr};

/// A parameter of a tool function.
pub(crate) enum Param {
    /// A JSON argument.
    Arg(Box<Arg>),
    /// `&RequestContext`.
    Context(Type),
    /// `self` in any form (checked by validation).
    Receiver(syn::Receiver),
    /// A parameter the macro cannot use; validation reports it.
    Invalid(syn::Error),
}

pub(crate) struct Arg {
    pub(crate) ident: syn::Ident,
    pub(crate) ty: Type,
    pub(crate) docs: Vec<Attribute>,
    pub(crate) attr: ArgAttr,
}

/// A function marked `#[mcp_tool]`.
pub(crate) struct ToolFn {
    pub(crate) attr: ToolAttr,
    pub(crate) sig: Signature,
    pub(crate) description: Option<String>,
    pub(crate) params: Vec<Param>,
    /// Errors found while lifting (bad `#[arg]` attributes).
    pub(crate) errors: Vec<syn::Error>,
}

impl ToolFn {
    /// Lifts a tool function and strips what rustc must not see (doc
    /// comments and `#[arg]` on parameters).
    pub(crate) fn lift(attr: ToolAttr, attrs: &[Attribute], sig: &mut Signature) -> Self {
        let description = doc_string(attrs);
        let mut errors = Vec::new();
        let mut params = Vec::new();
        for input in sig.inputs.iter_mut() {
            match input {
                FnArg::Receiver(receiver) => params.push(Param::Receiver(receiver.clone())),
                FnArg::Typed(typed) => {
                    let docs: Vec<Attribute> = typed
                        .attrs
                        .iter()
                        .filter(|a| a.path().is_ident("doc"))
                        .cloned()
                        .collect();
                    let mut arg_attr = ArgAttr::default();
                    let mut seen_arg = false;
                    for a in typed.attrs.iter().filter(|a| a.path().is_ident("arg")) {
                        if seen_arg {
                            errors.push(syn::Error::new_spanned(
                                a,
                                "duplicate `#[arg]`; put every key in one `#[arg(..)]`",
                            ));
                            continue;
                        }
                        seen_arg = true;
                        match ArgAttr::parse(a) {
                            Ok(parsed) => arg_attr = parsed,
                            Err(e) => errors.push(e),
                        }
                    }
                    typed
                        .attrs
                        .retain(|a| !a.path().is_ident("doc") && !a.path().is_ident("arg"));
                    if is_context(&typed.ty) {
                        params.push(Param::Context((*typed.ty).clone()));
                        continue;
                    }
                    let param = match &*typed.pat {
                        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                            Param::Arg(Box::new(Arg {
                                ident: pat.ident.clone(),
                                ty: (*typed.ty).clone(),
                                docs,
                                attr: arg_attr,
                            }))
                        }
                        other => Param::Invalid(syn::Error::new_spanned(
                            other,
                            "tool parameters must be plain names, such as `limit: u32`: each parameter becomes a named property of the tool's JSON arguments",
                        )),
                    };
                    params.push(param);
                }
            }
        }
        Self {
            attr,
            sig: sig.clone(),
            description,
            params,
            errors,
        }
    }

    /// The tool's name: the `name` key, or the function's name.
    pub(crate) fn name(&self) -> String {
        self.attr
            .name
            .as_ref()
            .map(syn::LitStr::value)
            .unwrap_or_else(|| {
                self.sig
                    .ident
                    .to_string()
                    .trim_start_matches("r#")
                    .to_owned()
            })
    }
}

/// `&RequestContext` (by the last path segment, so any import path works).
pub(crate) fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "RequestContext"))
        }
        _ => false,
    }
}

/// `Option<T>`, by its last path segment.
pub(crate) fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// The text of `///` comments, with the common indentation removed.
pub(crate) fn doc_string(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let text = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn doc_strings_lose_common_indentation() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[doc = " Find a contact."]),
            parse_quote!(#[doc = "   by email"]),
        ];
        assert_eq!(doc_string(&attrs).unwrap(), "Find a contact.\n  by email");
        assert_eq!(doc_string(&[]), None);
    }

    #[test]
    fn recognises_context_and_option() {
        assert!(is_context(&parse_quote!(&RequestContext)));
        assert!(is_context(&parse_quote!(&mcp_server::RequestContext)));
        assert!(!is_context(&parse_quote!(RequestContext)));
        assert!(is_option(&parse_quote!(Option<String>)));
        assert!(!is_option(&parse_quote!(Vec<String>)));
    }
}
