//! `#[mcp_prompt]` and `#[mcp_resource]`: parse, validate, expand.
//!
//! Both reuse the tool machinery for parameters (doc comments, `#[arg]`,
//! `&RequestContext`) and differ in what the parameters mean: prompt
//! arguments are strings parsed with `FromStr`; resource parameters are the
//! variables of the URI template, checked against it here.

use mcp_core::uri_template::{UriTemplate, UriTemplateError};
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

/// `#[mcp_resource("uri", name = "..", title = "..", description = "..", mime = "..")]`.
pub(crate) struct ResourceAttr {
    pub(crate) uri: LitStr,
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) mime: Option<LitStr>,
}

fn key_values(
    input: ParseStream<'_>,
    what: &str,
    keys: &[&str],
    mut set: impl FnMut(&syn::Ident, LitStr) -> syn::Result<()>,
) -> syn::Result<()> {
    while !input.is_empty() {
        let key: syn::Ident = input.parse()?;
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

fn once(slot: &mut Option<LitStr>, key: &syn::Ident, value: LitStr) -> syn::Result<()> {
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

impl ResourceAttr {
    pub(crate) fn parse(tokens: TokenStream, span: Span) -> syn::Result<Self> {
        let mut name = None;
        let mut title = None;
        let mut description = None;
        let mut mime = None;
        let parser = |input: ParseStream<'_>| -> syn::Result<LitStr> {
            if input.is_empty() {
                return Err(syn::Error::new(
                    span,
                    "`#[mcp_resource]` needs the resource's URI first, such as `#[mcp_resource(\"notes://{id}\", mime = \"text/plain\")]`",
                ));
            }
            let uri: LitStr = input.parse()?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            key_values(
                input,
                "#[mcp_resource]",
                &["name", "title", "description", "mime"],
                |key, value| match key.to_string().as_str() {
                    "name" => once(&mut name, key, value),
                    "title" => once(&mut title, key, value),
                    "description" => once(&mut description, key, value),
                    _ => once(&mut mime, key, value),
                },
            )?;
            Ok(uri)
        };
        let uri = parser.parse2(tokens)?;
        Ok(Self {
            uri,
            name,
            title,
            description,
            mime,
        })
    }
}

/// Checks shared by prompt and resource functions.
fn common(f: &ToolFn, kind: &str, place: Place, errors: &mut Errors) {
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

/// The error for an invalid template, at the offending character where the
/// compiler can point inside a string literal (nightly), else at the literal
/// with the rest of the template from that character quoted.
fn template_error(uri: &LitStr, error: &UriTemplateError) -> syn::Error {
    let template = &error.template;
    let at = template.get(error.offset..).unwrap_or_default();
    // The literal's source is the template in quotes only without escapes
    // or a raw string's hashes; otherwise byte offsets do not line up.
    let plain = uri.token().to_string() == format!("\"{template}\"");
    let start = error.offset + 1;
    let end = start + at.chars().next().map_or(1, char::len_utf8);
    let span = plain
        .then(|| uri.token().subspan(start..end))
        .flatten()
        .unwrap_or_else(|| uri.span());
    syn::Error::new(
        span,
        format!(
            "invalid URI template: {}, at `{at}` (byte {})",
            error.kind, error.offset
        ),
    )
}

/// A resource function, lifted and checked against its URI template.
pub(crate) struct ResourceFn {
    pub(crate) attr: ResourceAttr,
    pub(crate) f: ToolFn,
    pub(crate) variables: Vec<String>,
}

impl ResourceFn {
    pub(crate) fn lift(
        attr: ResourceAttr,
        attrs: &[syn::Attribute],
        sig: &mut Signature,
        place: Place,
        errors: &mut Errors,
    ) -> Self {
        let f = ToolFn::lift(ToolAttr::default(), attrs, sig);
        common(&f, "resource", place, errors);
        let variables = match UriTemplate::parse(&attr.uri.value()) {
            Ok(template) => template
                .variables()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Err(error) => {
                errors.push(template_error(&attr.uri, &error));
                Vec::new()
            }
        };
        let uri = attr.uri.value();
        let mut seen = Vec::new();
        for param in &f.params {
            let Param::Arg(arg) = param else { continue };
            let wire = arg
                .attr
                .rename
                .as_ref()
                .map_or_else(|| arg.ident.to_string(), LitStr::value);
            if !variables.contains(&wire) {
                let hint = if variables.is_empty() {
                    format!(
                        "a resource without variables takes no arguments; add `{{{wire}}}` to the URI to make it a template"
                    )
                } else {
                    format!(
                        "rename it to one of the template's variables ({}), or add `{{{wire}}}` to the URI",
                        variables
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                errors.push(syn::Error::new_spanned(
                    &arg.ident,
                    format!("resource argument `{wire}` is not a variable of `{uri}`; {hint}"),
                ));
            }
            if is_option(&arg.ty) {
                errors.push(syn::Error::new_spanned(
                    &arg.ty,
                    "template variables are always present in a matching URI; drop the `Option`",
                ));
            }
            seen.push(wire);
        }
        for variable in &variables {
            if !seen.contains(variable) {
                errors.push(syn::Error::new(
                    attr.uri.span(),
                    format!(
                        "the template variable `{variable}` has no parameter; add `{variable}: String` (or any `FromStr` type) to `{}`",
                        f.sig.ident
                    ),
                ));
            }
        }
        if f.description.is_none() && attr.description.is_none() {
            errors.push(syn::Error::new_spanned(
                &f.sig.ident,
                format!("resource `{}` has no description; add a `///` doc comment, or `description = \"...\"`", f.sig.ident),
            ));
        }
        Self { attr, f, variables }
    }

    pub(crate) fn is_template(&self) -> bool {
        !self.variables.is_empty()
    }

    pub(crate) fn expand(
        &self,
        call: impl FnOnce(Vec<TokenStream>) -> TokenStream,
        completer: impl Fn(&syn::Path) -> TokenStream,
    ) -> TokenStream {
        let uri = &self.attr.uri;
        let name = self
            .attr
            .name
            .as_ref()
            .map_or_else(|| self.f.sig.ident.to_string(), LitStr::value);
        let description = self
            .attr
            .description
            .as_ref()
            .map(LitStr::value)
            .or_else(|| self.f.description.clone())
            .unwrap_or_default();
        let opt = |s: &Option<LitStr>| match s {
            Some(s) => quote!(::core::option::Option::Some(#s)),
            None => quote!(::core::option::Option::None),
        };
        let title = opt(&self.attr.title);
        let mime = opt(&self.attr.mime);
        let mut bindings = Vec::new();
        let mut call_args = Vec::new();
        let mut completers = Vec::new();
        for (i, param) in self.f.params.iter().enumerate() {
            match param {
                Param::Arg(arg) => {
                    let wire = arg
                        .attr
                        .rename
                        .as_ref()
                        .map_or_else(|| arg.ident.to_string(), LitStr::value);
                    let binding = format_ident!("__mcp_arg_{}", i);
                    let ty = &arg.ty;
                    let assert = quote_spanned! {ty.span()=>
                        ::mcp_server::__private::assert_prompt_arg::<#ty>();
                    };
                    bindings.push(quote! {
                        #assert
                        let #binding: #ty = match __mcp_call.parse::<#ty>(#wire) {
                            ::core::result::Result::Ok(v) => v,
                            ::core::result::Result::Err(e) => {
                                return ::mcp_server::__private::ResourceOutcome(::core::result::Result::Err(e));
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
        let output = match &self.f.sig.output {
            syn::ReturnType::Type(_, ty) => quote_spanned! {ty.span()=>
                ::mcp_server::__private::assert_resource_output::<#ty>();
            },
            syn::ReturnType::Default => quote!(),
        };
        let handler = quote! {{
            #[allow(unused_variables)]
            let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
            move |__mcp_call: ::mcp_server::__private::ResourceCall| {
                #[allow(unused_variables)]
                let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
                async move {
                    #output
                    #(#bindings)*
                    let __mcp_uri = ::std::string::ToString::to_string(__mcp_call.uri());
                    let __mcp_mime = __mcp_call.mime_type().map(::std::string::ToString::to_string);
                    let __mcp_value = #invoke;
                    ::mcp_server::__private::resource_outcome(__mcp_value, &__mcp_uri, __mcp_mime.as_deref())
                }
            }
        }};
        if self.is_template() {
            quote! {
                ::mcp_server::__private::template_or_log(
                    ::mcp_server::__private::ResourceTemplateDef::from_template(
                        ::mcp_server::__private::template_definition(#uri, #name, #title, #description, #mime),
                        #handler,
                    ),
                )
                .map(|__mcp_template| __mcp_template #(#completers)*)
            }
        } else {
            quote! {
                ::mcp_server::__private::ResourceDef::from_resource(
                    ::mcp_server::__private::resource_definition(#uri, #name, #title, #description, #mime),
                    #handler,
                )
            }
        }
    }
}

/// `.complete(argument, completer)` on a prompt or template definition.
fn complete_call(wire: &str, complete: &TokenStream) -> TokenStream {
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
