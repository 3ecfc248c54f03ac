//! Code generation. Everything here has been validated.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::attr::ToolAttr;
use crate::features::{PromptAttr, PromptFn};
use crate::model::{Param, ToolFn, is_option};
use crate::resource::{ResourceAttr, ResourceFn};
use crate::validate::{self, Errors, Place};

pub(crate) fn is_tool_attr(path: &syn::Path) -> bool {
    last_is(path, "mcp_tool")
}

/// A handler's parameters are its MCP arguments, so a long list is the
/// tool's interface, not a smell.
pub(crate) fn many_arguments_allowed() -> syn::Attribute {
    syn::parse_quote!(#[allow(clippy::too_many_arguments)])
}

pub(crate) fn last_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

pub(crate) fn attr_tokens(attr: &syn::Attribute) -> TokenStream {
    match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// `#[mcp_prompt]` on a free function: the function, plus a module of the
/// same name whose `prompt()` builds its `PromptDef`.
pub(crate) fn free_prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let e = syn::Error::new(item.span(), "`#[mcp_prompt]` goes on an `async fn`");
            return with_item(e, item);
        }
    };
    item.attrs.push(many_arguments_allowed());
    let mut errors = Errors::default();
    let attr = PromptAttr::parse(attr).unwrap_or_else(|e| {
        errors.push(e);
        PromptAttr::default()
    });
    let prompt = PromptFn::lift(attr, &item.attrs, &mut item.sig, Place::Free, &mut errors);
    if let Err(e) = errors.into_result() {
        let mut out = e.to_compile_error();
        out.extend(quote!(#item));
        return out;
    }
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let name = prompt.name();
    let def = prompt.expand(
        |args| quote!(super::#ident(#(#args),*).await),
        |path| quote!(super::#path(__mcp_request).await),
    );
    let doc = format!(
        "The `{name}` prompt, to register with `Server::builder().prompt({ident}::prompt())`."
    );
    quote! {
        #item

        #[doc = #doc]
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            /// The prompt's definition and handler.
            pub fn prompt() -> ::mcp_server::__private::PromptDef {
                let __mcp_this = ();
                #def
            }
        }
    }
}

/// `#[mcp_resource("uri")]` on a free function: the function, plus a module
/// of the same name whose `resource()` (or, for a URI template,
/// `template()`) builds its definition.
pub(crate) fn free_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let e = syn::Error::new(item.span(), "`#[mcp_resource]` goes on an `async fn`");
            return with_item(e, item);
        }
    };
    item.attrs.push(many_arguments_allowed());
    let mut errors = Errors::default();
    let span = item.sig.ident.span();
    let resource = match ResourceAttr::parse(attr, span) {
        Ok(attr) => Some(ResourceFn::lift(
            attr,
            &item.attrs,
            &mut item.sig,
            Place::Free,
            &mut errors,
        )),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Err(e) = errors.into_result() {
        let mut out = e.to_compile_error();
        out.extend(quote!(#item));
        return out;
    }
    let Some(resource) = resource else {
        return quote!(#item);
    };
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let def = resource.expand(
        |args| quote!(super::#ident(#(#args),*).await),
        |path| quote!(super::#path(__mcp_request).await),
    );
    let module_fn = if resource.is_template() {
        quote! {
            /// The resource template's definition and handler.
            pub fn template() -> ::mcp_server::__private::ResourceTemplateDef {
                let __mcp_this = ();
                match #def {
                    ::core::option::Option::Some(template) => template,
                    // The macro checked the template; this cannot be reached.
                    ::core::option::Option::None => ::core::unreachable!("invalid URI template"),
                }
            }
        }
    } else {
        quote! {
            /// The resource's definition and handler.
            pub fn resource() -> ::mcp_server::__private::ResourceDef {
                let __mcp_this = ();
                #def
            }
        }
    };
    quote! {
        #item

        #[doc = "An MCP resource; register it with the server builder."]
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #module_fn
        }
    }
}

/// `#[mcp_tool]` on a free function: the function, plus a module of the same
/// name whose `tool()` builds its `ToolDef`.
pub(crate) fn free_tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let e = syn::Error::new(item.span(), "`#[mcp_tool]` goes on an `async fn`");
            return with_item(e, item);
        }
    };
    item.attrs.push(many_arguments_allowed());
    let mut errors = Errors::default();
    let attr = ToolAttr::parse(attr).unwrap_or_else(|e| {
        errors.push(e);
        ToolAttr::default()
    });
    let tool = ToolFn::lift(attr, &item.attrs, &mut item.sig);
    validate::tool(&tool, Place::Free, &mut errors);
    if let Err(e) = errors.into_result() {
        let mut out = e.to_compile_error();
        out.extend(quote!(#item));
        return out;
    }
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let name = tool.name();
    let handler = handler(&tool, |args| quote!(super::#ident(#(#args),*).await));
    let handler = quote! {{
        let __mcp_this = ();
        #handler
    }};
    let doc =
        format!("The `{name}` tool, to register with `Server::builder().tool({ident}::tool())`.");
    quote! {
        #item

        #[doc = #doc]
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            /// The tool's definition and handler.
            pub fn tool() -> ::mcp_server::__private::ToolDef {
                #handler
            }
        }
    }
}

pub(crate) fn with_item(e: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = e.to_compile_error();
    out.extend(item);
    out
}

/// The `ToolDef` expression for a tool; `call` builds the call of the user's
/// function from the argument expressions, in parameter order.
pub(crate) fn handler(
    tool: &ToolFn,
    call: impl FnOnce(Vec<TokenStream>) -> TokenStream,
) -> TokenStream {
    let name = tool.name();
    let description = tool
        .attr
        .description
        .as_ref()
        .map(syn::LitStr::value)
        .or_else(|| tool.description.clone())
        .unwrap_or_default();
    let opt_str = |s: &Option<syn::LitStr>| match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let opt_bool = |b: Option<bool>| match b {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let title = opt_str(&tool.attr.title);
    // A read-only tool is not destructive unless it says so.
    let destructive = tool
        .attr
        .destructive
        .or(tool.attr.read_only.filter(|r| *r).map(|_| false));
    let read_only = opt_bool(tool.attr.read_only);
    let destructive = opt_bool(destructive);
    let idempotent = opt_bool(tool.attr.idempotent);
    let open_world = opt_bool(tool.attr.open_world);
    let with_tasks = if tool.attr.task == Some(true) {
        quote!(.with_tasks())
    } else {
        quote!()
    };
    let scopes = &tool.attr.scopes;
    let with_scopes = if scopes.is_empty() {
        quote!()
    } else {
        quote!(.with_scopes([#(#scopes),*]))
    };
    let with_timeout = match tool.attr.timeout_ms {
        Some(ms) => quote!(.with_timeout(::core::time::Duration::from_millis(#ms))),
        None => quote!(),
    };
    let with_audited_arguments = if tool.attr.audit_arguments == Some(true) {
        quote!(.with_audited_arguments())
    } else {
        quote!()
    };
    let icons = &tool.attr.icons;
    let with_ui = crate::ui::tool_expand(tool.attr.ui.as_ref(), tool.attr.visibility.as_deref());

    let mut fields = Vec::new();
    let mut checks = Vec::new();
    let mut defaults = Vec::new();
    let mut asserts = Vec::new();
    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    let mut arg_index = 0usize;
    for param in &tool.params {
        match param {
            Param::Arg(arg) => {
                let ident = &arg.ident;
                let ty = &arg.ty;
                let docs = &arg.docs;
                let binding = format_ident!("__mcp_arg_{}", arg_index);
                arg_index += 1;
                let wire_name = arg.attr.rename.as_ref().map_or_else(
                    || ident.to_string().trim_start_matches("r#").to_owned(),
                    syn::LitStr::value,
                );
                let mut attrs = vec![quote!(#[serde(rename = #wire_name)])];
                if let Some(default) = &arg.attr.default {
                    let default_fn = format_ident!("__mcp_default_{}", ident);
                    let path = default_fn.to_string();
                    // String literals convert (`"Hello"` for a `String`); other
                    // expressions, numbers included, must already have the type.
                    let value = match default {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(_),
                            ..
                        }) => {
                            quote!(::core::convert::From::from(#default))
                        }
                        _ => quote!(#default),
                    };
                    defaults.push(quote! {
                        #[allow(non_snake_case)]
                        fn #default_fn() -> #ty { #value }
                    });
                    attrs.push(quote!(#[serde(default = #path)]));
                } else if is_option(ty) {
                    attrs.push(quote!(#[serde(default)]));
                }
                if let Some(header) = &arg.attr.header {
                    attrs.push(quote!(#[schemars(extend("x-mcp-header" = #header))]));
                }
                if arg.attr.min.is_some() || arg.attr.max.is_some() {
                    let min = arg.attr.min.iter();
                    let max = arg.attr.max.iter();
                    attrs.push(quote!(#[schemars(range(#(min = #min,)* #(max = #max,)*))]));
                    let min = opt_expr(arg.attr.min.as_ref());
                    let max = opt_expr(arg.attr.max.as_ref());
                    let check = quote! {
                        ::mcp_server::__private::check_range(#name, #wire_name, __value, #min, #max)
                    };
                    checks.push(arg_check(ident, ty, &check));
                }
                if arg.attr.min_length.is_some() || arg.attr.max_length.is_some() {
                    let min = arg.attr.min_length.iter();
                    let max = arg.attr.max_length.iter();
                    attrs.push(quote!(#[schemars(length(#(min = #min,)* #(max = #max,)*))]));
                    let min = opt_expr(arg.attr.min_length.as_ref());
                    let max = opt_expr(arg.attr.max_length.as_ref());
                    // Spanned at the type, so a type without a length is
                    // reported there.
                    let check = quote_spanned! {ty.span()=>
                        ::mcp_server::__private::check_length(#name, #wire_name, __value, #min, #max)
                    };
                    checks.push(arg_check(ident, ty, &check));
                }
                asserts.push(quote_spanned! {ty.span()=>
                    ::mcp_server::__private::assert_tool_arg::<#ty>();
                });
                fields.push(quote!(#(#docs)* #(#attrs)* #ident: #ty));
                bindings.push(quote!(#ident: #binding));
                call_args.push(quote!(#binding));
            }
            Param::Context(_) => call_args.push(quote!(__mcp_call.context())),
            Param::Receiver(_) | Param::Invalid(_) => {}
        }
    }
    let output_check = match &tool.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let invocation = call(call_args);
    // Spanned at the return type, so a type that is not a tool result is
    // reported there rather than at the attribute.
    let convert = match &tool.sig.output {
        ReturnType::Default => {
            quote!(::mcp_server::__private::IntoToolResult::into_tool_result(#invocation))
        }
        ReturnType::Type(_, ty) => quote_spanned! {ty.span()=>
            ::mcp_server::__private::IntoToolResult::into_tool_result(#invocation)
        },
    };
    quote! {{
        #(#defaults)*

        #[derive(::mcp_server::__private::serde::Deserialize, ::mcp_server::__private::schemars::JsonSchema)]
        #[serde(crate = "::mcp_server::__private::serde")]
        #[schemars(crate = "::mcp_server::__private::schemars")]
        struct __McpArgs { #(#fields),* }

        #(#asserts)*

        let __mcp_tool = ::mcp_server::__private::tool_definition(
            #name,
            #title,
            #description,
            ::mcp_server::__private::input_schema_for::<__McpArgs>(),
            <#output_check as ::mcp_server::__private::IntoToolResult>::output_schema(),
            ::mcp_server::__private::annotations(#title, #read_only, #destructive, #idempotent, #open_world),
            &[#(#icons),*],
        );
        ::mcp_server::__private::ToolDef::new(__mcp_tool, move |mut __mcp_call: ::mcp_server::__private::ToolCall| {
            #[allow(unused_variables)]
            let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
            async move {
                let __mcp_args: __McpArgs = match ::mcp_server::__private::take_arguments(&mut __mcp_call) {
                    ::core::result::Result::Ok(args) => args,
                    ::core::result::Result::Err(invalid) => return invalid,
                };
                #(#checks)*
                let __McpArgs { #(#bindings),* } = __mcp_args;
                #convert
            }
        })
        #with_tasks
        #with_scopes
        #with_timeout
        #with_audited_arguments
        #with_ui
    }}
}

/// Runs `check` on the parsed argument (bound to `__value`), on its
/// value only when it is an `Option` that is present; a failed check
/// answers the call.
fn arg_check(ident: &syn::Ident, ty: &syn::Type, check: &TokenStream) -> TokenStream {
    if is_option(ty) {
        quote! {
            if let ::core::option::Option::Some(__value) = &__mcp_args.#ident {
                if let ::core::result::Result::Err(__invalid) = #check { return __invalid; }
            }
        }
    } else {
        quote! {
            { let __value = &__mcp_args.#ident;
              if let ::core::result::Result::Err(__invalid) = #check { return __invalid; } }
        }
    }
}

fn opt_expr(e: Option<&syn::Expr>) -> TokenStream {
    match e {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    }
}
