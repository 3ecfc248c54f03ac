//! `#[mcp_server]`: collects the tools, prompts and resources of an impl
//! block, checks them together (unique names and URIs, every tool's view
//! declared), and implements `ServerDefinition`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl};

use crate::attr::{ServerAttr, ToolAttr};
use crate::expand::{
    attr_tokens, handler, is_tool_attr, last_is, many_arguments_allowed, with_item,
};
use crate::features::{PromptAttr, PromptFn};
use crate::model::ToolFn;
use crate::resource::{ResourceAttr, ResourceFn};
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
    let views: Vec<String> = resources
        .iter()
        .filter(|r| r.attr.is_view() && !r.is_template())
        .map(|r| r.attr.uri.value())
        .collect();
    for tool in &tools {
        if let Some(view) = &tool.attr.ui
            && let Some(e) = crate::ui::check_tool_view(view, &views)
        {
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
