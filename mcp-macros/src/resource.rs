//! `#[mcp_resource]`: the URI (or template) and its keys, the function's
//! parameters checked against the template's variables, MCP Apps views.

use mcp_core::uri_template::{UriTemplate, UriTemplateError};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{LitStr, Signature, Token};

use crate::attr::ToolAttr;
use crate::features::{common, complete_call, key_values_or, once};
use crate::model::{Param, ToolFn, is_option};
use crate::ui::{UI_MIME_TYPE, UI_SCHEME, UiAttr};
use crate::validate::{Errors, Place};

/// `#[mcp_resource("uri", name = "..", title = "..", description = "..", mime = "..")]`.
pub(crate) struct ResourceAttr {
    pub(crate) uri: LitStr,
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) mime: Option<LitStr>,
    /// `ui(..)`: an MCP Apps view's CSP, permissions, domain, border.
    pub(crate) ui: Option<UiAttr>,
}

impl ResourceAttr {
    pub(crate) fn parse(tokens: TokenStream, span: Span) -> syn::Result<Self> {
        let mut name = None;
        let mut title = None;
        let mut description = None;
        let mut mime = None;
        let mut ui: Option<UiAttr> = None;
        let parser = |input: ParseStream<'_>| -> syn::Result<LitStr> {
            if input.is_empty() {
                return Err(syn::Error::new(
                    span,
                    "`#[mcp_resource]` needs the resource's URI first, such as `#[mcp_resource(\"notes://{id}\", mime = \"text/plain\")]`",
                ));
            }
            // `uri = ".."` reads as well as the bare URI.
            if input.peek(syn::Ident) && input.peek2(Token![=]) {
                let key: syn::Ident = input.fork().parse()?;
                if key == "uri" {
                    input.parse::<syn::Ident>()?;
                    input.parse::<Token![=]>()?;
                }
            }
            let uri: LitStr = input.parse()?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            key_values_or(
                input,
                "#[mcp_resource]",
                &["name", "title", "description", "mime", "ui"],
                |key, input| {
                    if key != "ui" {
                        return Ok(false);
                    }
                    if ui.is_some() {
                        return Err(syn::Error::new(
                            key.span(),
                            "duplicate key `ui`; give it once",
                        ));
                    }
                    ui = Some(UiAttr::parse(key, input)?);
                    Ok(true)
                },
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
            ui,
        })
    }

    /// Whether the resource is an MCP Apps view: a `ui://` URI.
    pub(crate) fn is_view(&self) -> bool {
        self.uri.value().starts_with(UI_SCHEME)
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
        view_checks(&attr, &variables, errors);
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
        let mime = match (&self.attr.mime, self.attr.is_view()) {
            (None, true) => quote!(::core::option::Option::Some(#UI_MIME_TYPE)),
            (mime, _) => opt(mime),
        };
        let with_ui = match (&self.attr.ui, self.attr.is_view()) {
            (Some(ui), _) => ui.expand(),
            (None, true) => UiAttr::default().expand(),
            (None, false) => quote!(),
        };
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
                #with_ui
            }
        }
    }
}
/// A view (`ui://` URI or `ui(..)`) is one HTML document at a fixed URI.
fn view_checks(attr: &ResourceAttr, variables: &[String], errors: &mut Errors) {
    let uri = attr.uri.value();
    if let Some(ui) = &attr.ui
        && !attr.is_view()
    {
        errors.push(syn::Error::new(
            ui.span.unwrap_or_else(|| attr.uri.span()),
            format!(
                "`ui` makes this resource an MCP Apps view, whose URI must start with `ui://`; `{uri}` does not: write `\"ui://{}\"`",
                uri.split_once("://").map_or(uri.as_str(), |(_, rest)| rest)
            ),
        ));
    }
    if attr.is_view() && !variables.is_empty() {
        errors.push(syn::Error::new(
            attr.uri.span(),
            format!(
                "an MCP Apps view has one fixed `ui://` URI, not a template; drop the variables from `{uri}` and pass data through the tool's result"
            ),
        ));
    }
    if attr.is_view()
        && let Some(mime) = &attr.mime
        && mime.value().replace(' ', "").to_ascii_lowercase() != UI_MIME_TYPE
    {
        errors.push(syn::Error::new(
            mime.span(),
            format!(
                "an MCP Apps view is served as `{UI_MIME_TYPE}`; drop `mime`, it is set for you"
            ),
        ));
    }
}
