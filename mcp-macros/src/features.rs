//! `#[mcp_prompt]`, and what it shares with `#[mcp_resource]`: parse, validate, expand.
//!
//! Both reuse the tool machinery for parameters (doc comments, `#[arg]`,
//! `&RequestContext`) and differ in what the parameters mean: prompt
//! arguments are strings parsed with `FromStr`; resource parameters are the
//! variables of the URI template, checked against it here.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{LitStr, Signature, Token, Type};

use crate::attr::ToolAttr;
use crate::model::{Param, ToolFn, is_option};
use crate::validate::{Errors, Place};

/// `#[mcp_prompt(name = "..", title = "..", description = "..")]`.
#[derive(Default)]
pub(crate) struct PromptAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
}

fn key_values(
    input: ParseStream<'_>,
    what: &str,
    keys: &[&str],
    set: impl FnMut(&syn::Ident, LitStr) -> syn::Result<()>,
) -> syn::Result<()> {
    key_values_or(input, what, keys, |_, _| Ok(false), set)
}

/// [`key_values`], where `other` may take a key with another shape first
/// (returning whether it did).
pub(crate) fn key_values_or(
    input: ParseStream<'_>,
    what: &str,
    keys: &[&str],
    mut other: impl FnMut(&syn::Ident, ParseStream<'_>) -> syn::Result<bool>,
    mut set: impl FnMut(&syn::Ident, LitStr) -> syn::Result<()>,
) -> syn::Result<()> {
    while !input.is_empty() {
        let key: syn::Ident = input.parse()?;
        if other(&key, input)? {
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
            continue;
        }
        if !keys.iter().any(|k| key == k) {
            let valid: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown key `{key}` in `{what}`; valid keys: {}",
                    valid.join(", ")
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: LitStr = input.parse()?;
        set(&key, value)?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

pub(crate) fn once(slot: &mut Option<LitStr>, key: &syn::Ident, value: LitStr) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate key `{key}`; give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

impl PromptAttr {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut attr = Self::default();
        let parser = |input: ParseStream<'_>| {
            key_values(
                input,
                "#[mcp_prompt]",
                &["name", "title", "description"],
                |key, value| match key.to_string().as_str() {
                    "name" => once(&mut attr.name, key, value),
                    "title" => once(&mut attr.title, key, value),
                    _ => once(&mut attr.description, key, value),
                },
            )
        };
        parser.parse2(tokens)?;
        Ok(attr)
    }
}

/// Checks shared by prompt and resource functions.
pub(crate) fn common(f: &ToolFn, kind: &str, place: Place, errors: &mut Errors) {
    let sig = &f.sig;
    for e in &f.errors {
        errors.push(e.clone());
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "`#[mcp_{kind}]` needs an `async fn`: write `async fn {}`",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("{kind} functions cannot be generic; use concrete types"),
        ));
    }
    let mut context = false;
    let mut receiver = false;
    for param in &f.params {
        match param {
            Param::Receiver(r) => {
                receiver = true;
                if place == Place::Free {
                    errors.push(syn::Error::new_spanned(
                        r,
                        format!("`#[mcp_{kind}]` on a method needs `#[mcp_server]` on the enclosing `impl` block"),
                    ));
                } else if r.reference.is_none() || r.mutability.is_some() {
                    errors.push(syn::Error::new_spanned(
                        r,
                        format!(
                            "{kind}s take `&self`: one server value serves many concurrent requests"
                        ),
                    ));
                }
            }
            Param::Context(ty) => {
                if context {
                    errors.push(syn::Error::new_spanned(
                        ty,
                        format!("a {kind} takes at most one `&RequestContext` parameter"),
                    ));
                }
                context = true;
            }
            Param::Arg(arg) => {
                let a = &arg.attr;
                if a.default.is_some()
                    || a.min.is_some()
                    || a.max.is_some()
                    || a.min_length.is_some()
                    || a.max_length.is_some()
                    || a.header.is_some()
                {
                    errors.push(syn::Error::new_spanned(
                        &arg.ident,
                        format!("`default`, `range`, `length` and `header` apply to tool arguments only; a {kind} argument takes `rename` and `complete`"),
                    ));
                }
                if let Type::Reference(_) = &arg.ty {
                    errors.push(syn::Error::new_spanned(
                        &arg.ty,
                        format!("{kind} parameters must be owned, such as `String`"),
                    ));
                }
            }
            Param::Invalid(e) => errors.push(e.clone()),
        }
    }
    if place == Place::Method && !receiver {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "{kind} `{}` in a `#[mcp_server]` impl needs a `&self` receiver",
                sig.ident
            ),
        ));
    }
}

/// A prompt function, lifted and checked.
pub(crate) struct PromptFn {
    pub(crate) attr: PromptAttr,
    pub(crate) f: ToolFn,
}

impl PromptFn {
    pub(crate) fn lift(
        attr: PromptAttr,
        attrs: &[syn::Attribute],
        sig: &mut Signature,
        place: Place,
        errors: &mut Errors,
    ) -> Self {
        let f = ToolFn::lift(ToolAttr::default(), attrs, sig);
        common(&f, "prompt", place, errors);
        if f.description.is_none() && attr.description.is_none() {
            errors.push(syn::Error::new_spanned(
                &f.sig.ident,
                format!(
                    "prompt `{}` has no description: clients show it to users choosing a prompt; add a `///` doc comment, or `description = \"...\"`",
                    f.sig.ident
                ),
            ));
        }
        Self { attr, f }
    }

    pub(crate) fn name(&self) -> String {
        self.attr
            .name
            .as_ref()
            .map_or_else(|| self.f.sig.ident.to_string(), LitStr::value)
    }

    pub(crate) fn name_span(&self) -> Span {
        self.attr
            .name
            .as_ref()
            .map_or(self.f.sig.ident.span(), LitStr::span)
    }

    /// The `PromptDef` expression; `this` is how the handler reaches the
    /// server value, `call` builds the call of the user's function.
    pub(crate) fn expand(
        &self,
        call: impl FnOnce(Vec<TokenStream>) -> TokenStream,
        completer: impl Fn(&syn::Path) -> TokenStream,
    ) -> TokenStream {
        let name = self.name();
        let description = self
            .attr
            .description
            .as_ref()
            .map(LitStr::value)
            .or_else(|| self.f.description.clone())
            .unwrap_or_default();
        let title = match &self.attr.title {
            Some(t) => quote!(::core::option::Option::Some(#t)),
            None => quote!(::core::option::Option::None),
        };
        let mut arguments = Vec::new();
        let mut bindings = Vec::new();
        let mut call_args = Vec::new();
        let mut completers = Vec::new();
        for (i, param) in self.f.params.iter().enumerate() {
            match param {
                Param::Arg(arg) => {
                    let wire = arg.attr.rename.as_ref().map_or_else(
                        || arg.ident.to_string().trim_start_matches("r#").to_owned(),
                        LitStr::value,
                    );
                    let doc = crate::model::doc_string(&arg.docs).unwrap_or_default();
                    let optional = is_option(&arg.ty);
                    let required = !optional;
                    arguments.push(quote!((#wire, #doc, #required)));
                    let binding = format_ident!("__mcp_arg_{}", i);
                    let ty = &arg.ty;
                    let inner = if optional {
                        option_inner(ty).unwrap_or(ty)
                    } else {
                        ty
                    };
                    let assert = quote_spanned! {inner.span()=>
                        ::mcp_server::__private::assert_prompt_arg::<#inner>();
                    };
                    let read = if optional {
                        quote!(::mcp_server::__private::prompt_optional::<#inner>(&__mcp_call, #wire))
                    } else {
                        quote!(::mcp_server::__private::prompt_required::<#inner>(&__mcp_call, #wire))
                    };
                    bindings.push(quote! {
                        #assert
                        let #binding: #ty = match #read {
                            ::core::result::Result::Ok(v) => v,
                            ::core::result::Result::Err(e) => {
                                return ::mcp_server::__private::PromptOutcome(::core::result::Result::Err(e));
                            }
                        };
                    });
                    call_args.push(quote!(#binding));
                    if let Some(path) = &arg.attr.complete {
                        completers.push(complete_call(&wire, &completer(path)));
                    }
                }
                Param::Context(_) => call_args.push(quote!(__mcp_call.context())),
                Param::Receiver(_) | Param::Invalid(_) => {}
            }
        }
        let invoke = call(call_args);
        quote! {
            ::mcp_server::__private::PromptDef::new(
                ::mcp_server::__private::prompt_definition(#name, #title, #description, ::std::vec![#(#arguments),*]),
                {
                    #[allow(unused_variables)]
                    let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
                    move |__mcp_call: ::mcp_server::__private::PromptCall| {
                        #[allow(unused_variables)]
                        let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
                        async move {
                            #(#bindings)*
                            ::mcp_server::__private::PromptOutcome(
                                ::mcp_server::__private::IntoPromptResult::into_prompt_result(#invoke),
                            )
                        }
                    }
                },
            )
            #(#completers)*
        }
    }
}

/// `.complete(argument, completer)` on a prompt or template definition.
pub(crate) fn complete_call(wire: &str, complete: &TokenStream) -> TokenStream {
    quote! {
        .complete(#wire, {
            #[allow(unused_variables)]
            let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
            move |__mcp_request: ::mcp_server::__private::CompletionRequest| {
                #[allow(unused_variables)]
                let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
                async move { #complete }
            }
        })
    }
}

/// `T` in `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let segment = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}
