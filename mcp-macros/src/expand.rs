//! Code generation. Everything here has been validated.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemFn, ItemImpl, ReturnType};

use crate::attr::{ServerAttr, ToolAttr};
use crate::features::{PromptAttr, PromptFn, ResourceAttr, ResourceFn};
use crate::model::{Param, ToolFn, is_option};
use crate::validate::{self, Errors, Place};

/// `#[mcp_server]`: the impl block, cleaned, plus its `ServerDefinition`.
pub(crate) fn server(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let e = syn::Error::new(
                item.span(),
                "`#[mcp_server]` goes on an inherent `impl` block whose `async fn`s are marked `#[mcp_tool]`",
            );
            return with_item(e, item);
        }
    };
    let mut errors = Errors::default();
    let attr = ServerAttr::parse(attr).unwrap_or_else(|e| {
        errors.push(e);
        ServerAttr::default()
    });
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[mcp_server]` goes on an inherent `impl` block (`impl MyServer { .. }`), not on a trait implementation",
        ));
    }
    let mut tools = Vec::new();
    let mut prompts: Vec<PromptFn> = Vec::new();
    let mut resources: Vec<ResourceFn> = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        if let Some(position) = method
            .attrs
            .iter()
            .position(|a| last_is(a.path(), "mcp_prompt"))
        {
            let attr = method.attrs.remove(position);
            method.attrs.push(many_arguments_allowed());
            let parsed = PromptAttr::parse(attr_tokens(&attr)).unwrap_or_else(|e| {
                errors.push(e);
                PromptAttr::default()
            });
            prompts.push(PromptFn::lift(
                parsed,
                &method.attrs,
                &mut method.sig,
                Place::Method,
                &mut errors,
            ));
            continue;
        }
        if let Some(position) = method
            .attrs
            .iter()
            .position(|a| last_is(a.path(), "mcp_resource"))
        {
            let attr = method.attrs.remove(position);
            method.attrs.push(many_arguments_allowed());
            match ResourceAttr::parse(attr_tokens(&attr), attr.span()) {
                Ok(parsed) => resources.push(ResourceFn::lift(
                    parsed,
                    &method.attrs,
                    &mut method.sig,
                    Place::Method,
                    &mut errors,
                )),
                Err(e) => errors.push(e),
            }
            continue;
        }
        let Some(position) = method.attrs.iter().position(|a| is_tool_attr(a.path())) else {
            continue;
        };
        let tool_attr = method.attrs.remove(position);
        method.attrs.push(many_arguments_allowed());
        let args = match &tool_attr.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens.clone(),
            syn::Meta::NameValue(nv) => {
                errors.push(syn::Error::new_spanned(
                    nv,
                    "write `#[mcp_tool]` or `#[mcp_tool(key = value, ..)]`",
                ));
                continue;
            }
        };
        let parsed = ToolAttr::parse(args).unwrap_or_else(|e| {
            errors.push(e);
            ToolAttr::default()
        });
        let tool = ToolFn::lift(parsed, &method.attrs, &mut method.sig);
        validate::tool(&tool, Place::Method, &mut errors);
        tools.push(tool);
    }
    for (i, tool) in tools.iter().enumerate() {
        let name = tool.name();
        if let Some(first) = tools[..i].iter().find(|t| t.name() == name) {
            let span_of = |t: &ToolFn| {
                t.attr
                    .name
                    .as_ref()
                    .map_or(t.sig.ident.span(), syn::LitStr::span)
            };
            let mut e = syn::Error::new(
                span_of(tool),
                format!(
                    "duplicate tool name `{name}`: tool names must be unique within a server; rename one or set `name = \"...\"`"
                ),
            );
            e.combine(syn::Error::new(
                span_of(first),
                format!("the first tool named `{name}` is here"),
            ));
            errors.push(e);
        }
    }
    for (i, prompt) in prompts.iter().enumerate() {
        let name = prompt.name();
        if let Some(first) = prompts[..i].iter().find(|p| p.name() == name) {
            let mut e = syn::Error::new(
                prompt.name_span(),
                format!(
                    "duplicate prompt name `{name}`: prompt names must be unique within a server; rename one or set `name = \"...\"`"
                ),
            );
            e.combine(syn::Error::new(
                first.name_span(),
                format!("the first prompt named `{name}` is here"),
            ));
            errors.push(e);
        }
    }
    for (i, resource) in resources.iter().enumerate() {
        let uri = resource.attr.uri.value();
        if let Some(first) = resources[..i].iter().find(|r| r.attr.uri.value() == uri) {
            let mut e = syn::Error::new(
                resource.attr.uri.span(),
                format!(
                    "duplicate resource URI `{uri}`: each resource or template needs its own URI"
                ),
            );
            e.combine(syn::Error::new(
                first.attr.uri.span(),
                format!("`{uri}` is first declared here"),
            ));
            errors.push(e);
        }
    }
    if let Err(e) = errors.into_result() {
        let mut out = e.to_compile_error();
        out.extend(quote!(#item));
        return out;
    }

    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let mut predicates = where_clause
        .map(|w| w.predicates.clone())
        .unwrap_or_default();
    predicates.push(syn::parse_quote!(Self: ::core::marker::Send + ::core::marker::Sync + 'static));
    let opt = |s: &Option<syn::LitStr>| match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let name = attr
        .name
        .as_ref()
        .map_or_else(|| quote!(env!("CARGO_PKG_NAME")), |n| quote!(#n));
    let version = attr
        .version
        .as_ref()
        .map_or_else(|| quote!(env!("CARGO_PKG_VERSION")), |v| quote!(#v));
    let title = opt(&attr.title);
    let instructions = opt(&attr.instructions);
    let tool_defs = tools.iter().map(|tool| {
        let method = &tool.sig.ident;
        let handler = handler(tool, |args| quote!(__mcp_this.#method(#(#args),*).await));
        quote! {{
            let __mcp_this = ::std::sync::Arc::clone(this);
            #handler
        }}
    });
    let method_completer = |path: &syn::Path| quote!(__mcp_this.#path(__mcp_request).await);
    let prompt_defs = prompts.iter().map(|prompt| {
        let method = &prompt.f.sig.ident;
        let def = prompt.expand(
            |args| quote!(__mcp_this.#method(#(#args),*).await),
            method_completer,
        );
        quote! {{
            let __mcp_this = ::std::sync::Arc::clone(this);
            #def
        }}
    });
    let resource_def = |resource: &ResourceFn| {
        let method = &resource.f.sig.ident;
        let def = resource.expand(
            |args| quote!(__mcp_this.#method(#(#args),*).await),
            method_completer,
        );
        quote! {{
            let __mcp_this = ::std::sync::Arc::clone(this);
            #def
        }}
    };
    let resource_defs: Vec<_> = resources
        .iter()
        .filter(|r| !r.is_template())
        .map(resource_def)
        .collect();
    let template_defs: Vec<_> = resources
        .iter()
        .filter(|r| r.is_template())
        .map(resource_def)
        .collect();
    quote! {
        #item
        const _: () = {
            impl #impl_generics ::mcp_server::__private::ServerDefinition for #self_ty where #predicates {
                fn info() -> ::mcp_server::__private::ServerInfo {
                    ::mcp_server::__private::server_info(#name, #version, #title, #instructions)
                }

                fn tools(this: &::std::sync::Arc<Self>) -> ::std::vec::Vec<::mcp_server::__private::ToolDef> {
                    ::std::vec![#(#tool_defs),*]
                }

                fn prompts(this: &::std::sync::Arc<Self>) -> ::std::vec::Vec<::mcp_server::__private::PromptDef> {
                    ::std::vec![#(#prompt_defs),*]
                }

                fn resources(this: &::std::sync::Arc<Self>) -> ::std::vec::Vec<::mcp_server::__private::ResourceDef> {
                    ::std::vec![#(#resource_defs),*]
                }

                fn resource_templates(this: &::std::sync::Arc<Self>) -> ::std::vec::Vec<::mcp_server::__private::ResourceTemplateDef> {
                    let mut templates = ::std::vec::Vec::new();
                    #(templates.extend(#template_defs);)*
                    templates
                }
            }
        };
    }
}

fn is_tool_attr(path: &syn::Path) -> bool {
    last_is(path, "mcp_tool")
}

/// A handler's parameters are its MCP arguments, so a long list is the
/// tool's interface, not a smell.
fn many_arguments_allowed() -> syn::Attribute {
    syn::parse_quote!(#[allow(clippy::too_many_arguments)])
}

fn last_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

fn attr_tokens(attr: &syn::Attribute) -> TokenStream {
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

fn with_item(e: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = e.to_compile_error();
    out.extend(item);
    out
}

/// The `ToolDef` expression for a tool; `call` builds the call of the user's
/// function from the argument expressions, in parameter order.
fn handler(tool: &ToolFn, call: impl FnOnce(Vec<TokenStream>) -> TokenStream) -> TokenStream {
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
        ::mcp_server::__private::ToolDef::new(__mcp_tool, move |__mcp_call: ::mcp_server::__private::ToolCall| {
            #[allow(unused_variables)]
            let __mcp_this = ::core::clone::Clone::clone(&__mcp_this);
            async move {
                let __mcp_args: __McpArgs = match ::mcp_server::__private::parse_arguments(
                    __mcp_call.name(),
                    __mcp_call.raw_arguments(),
                ) {
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
