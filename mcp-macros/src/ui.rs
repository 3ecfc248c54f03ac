//! MCP Apps in the macros: `ui(..)` on `#[mcp_resource]` (a view's CSP,
//! permissions, domain and border), `ui = ".."` and `visibility = [..]`
//! on `#[mcp_tool]`, and the check that a tool's view is declared.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::{Expr, LitBool, LitStr, Token};

/// The view URI scheme and MIME type (as in `mcp_core::apps`).
pub(crate) const UI_SCHEME: &str = "ui://";
pub(crate) const UI_MIME_TYPE: &str = "text/html;profile=mcp-app";

const UI_KEYS: &[&str] = &["csp", "permissions", "domain", "prefers_border"];
const CSP_KEYS: &[&str] = &[
    "connect_domains",
    "resource_domains",
    "frame_domains",
    "base_uri_domains",
];
const PERMISSIONS: &[&str] = &["camera", "microphone", "geolocation", "clipboard_write"];

/// `ui(..)` on a resource.
#[derive(Default)]
pub(crate) struct UiAttr {
    /// Where `ui` was written, for errors about the resource.
    pub(crate) span: Option<Span>,
    /// The four CSP lists, in [`CSP_KEYS`] order.
    csp: [Vec<LitStr>; 4],
    /// The permissions, in [`PERMISSIONS`] order.
    permissions: [bool; 4],
    domain: Option<LitStr>,
    prefers_border: Option<bool>,
}

fn error_keys(key: &syn::Ident, what: &str, keys: &[&str]) -> syn::Error {
    let valid: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    let hint = crate::attr::suggest(&key.to_string(), keys)
        .map(|best| format!("did you mean `{best}`? "))
        .unwrap_or_default();
    syn::Error::new(
        key.span(),
        format!(
            "unknown key `{key}` in `{what}`; {hint}valid keys: {}",
            valid.join(", ")
        ),
    )
}

/// Comma-separated `key ..` items inside parentheses, each parsed by `item`.
fn items(
    input: ParseStream<'_>,
    mut item: impl FnMut(&syn::Ident, ParseStream<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    while !input.is_empty() {
        let key: syn::Ident = input.parse()?;
        item(&key, input)?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// A CSP source: a scheme and a host (wildcards allowed), nothing that
/// could end the directive or add another.
fn check_origin(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    let scheme_ok = value.split_once("://").is_some_and(|(scheme, host)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'+' || b == b'-')
            && !host.is_empty()
    });
    let clean = !value
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, ';' | ',' | '\'' | '"'));
    if scheme_ok && clean {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!(
                "`{value}` is not an origin; write a scheme and host such as \"https://api.example.com\" or \"https://*.example.com\""
            ),
        ))
    }
}

fn origins(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    input.parse::<Token![=]>()?;
    let array: syn::ExprArray = input.parse()?;
    let mut list = Vec::new();
    for element in array.elems {
        match element {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => {
                check_origin(&s)?;
                list.push(s);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "origins are string literals, such as \"https://api.example.com\"",
                ));
            }
        }
    }
    Ok(list)
}

impl UiAttr {
    /// Parses what follows `ui`: nothing, or `(..)`.
    pub(crate) fn parse(key: &syn::Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let mut ui = Self {
            span: Some(key.span()),
            ..Self::default()
        };
        if !input.peek(syn::token::Paren) {
            return Ok(ui);
        }
        let content;
        syn::parenthesized!(content in input);
        let mut seen: Vec<String> = Vec::new();
        items(&content, |key, input| {
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("duplicate key `{name}`; give it once"),
                ));
            }
            seen.push(name.clone());
            match name.as_str() {
                "csp" => {
                    let inner;
                    syn::parenthesized!(inner in input);
                    items(&inner, |key, input| {
                        let Some(i) = CSP_KEYS.iter().position(|k| key == k) else {
                            return Err(error_keys(key, "csp(..)", CSP_KEYS));
                        };
                        if !ui.csp[i].is_empty() {
                            return Err(syn::Error::new(
                                key.span(),
                                format!("duplicate key `{key}`; give it once"),
                            ));
                        }
                        ui.csp[i] = origins(input)?;
                        Ok(())
                    })
                }
                "permissions" => {
                    let inner;
                    syn::parenthesized!(inner in input);
                    items(&inner, |key, _| {
                        let Some(i) = PERMISSIONS.iter().position(|k| key == k) else {
                            return Err(error_keys(key, "permissions(..)", PERMISSIONS));
                        };
                        ui.permissions[i] = true;
                        Ok(())
                    })
                }
                "domain" => {
                    input.parse::<Token![=]>()?;
                    ui.domain = Some(input.parse()?);
                    Ok(())
                }
                "prefers_border" => {
                    ui.prefers_border = Some(if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        input.parse::<LitBool>()?.value
                    } else {
                        true
                    });
                    Ok(())
                }
                _ => Err(error_keys(key, "ui(..)", UI_KEYS)),
            }
        })?;
        Ok(ui)
    }

    /// `.with_ui(..)` on the `ResourceDef` expression.
    pub(crate) fn expand(&self) -> TokenStream {
        let [connect, resource, frame, base] = &self.csp;
        let [camera, microphone, geolocation, clipboard] = self.permissions;
        let domain = match &self.domain {
            Some(d) => quote!(::core::option::Option::Some(#d)),
            None => quote!(::core::option::Option::None),
        };
        let border = match self.prefers_border {
            Some(b) => quote!(::core::option::Option::Some(#b)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            .with_ui(::mcp_server::__private::ui_resource_meta(
                &[#(#connect),*],
                &[#(#resource),*],
                &[#(#frame),*],
                &[#(#base),*],
                [#camera, #microphone, #geolocation, #clipboard],
                #domain,
                #border,
            ))
        }
    }
}

/// `ui = "ui://.."` on a tool: a view URI.
pub(crate) fn tool_view(lit: LitStr) -> syn::Result<LitStr> {
    let value = lit.value();
    if value.starts_with(UI_SCHEME) && value.len() > UI_SCHEME.len() {
        Ok(lit)
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!(
                "`ui` names an MCP Apps view, whose URI starts with `ui://`, such as \"ui://crm/contact\"; `{value}` does not"
            ),
        ))
    }
}

/// `visibility = ["model", "app"]` on a tool.
pub(crate) fn visibility(array: &syn::ExprArray) -> syn::Result<Vec<LitStr>> {
    let mut list: Vec<LitStr> = Vec::new();
    for element in &array.elems {
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = element
        else {
            return Err(syn::Error::new_spanned(
                element,
                "`visibility` takes \"model\" and/or \"app\", such as `visibility = [\"app\"]`",
            ));
        };
        let value = s.value();
        if value != "model" && value != "app" {
            return Err(syn::Error::new(
                s.span(),
                format!(
                    "unknown visibility `{value}`: \"model\" (the model sees and calls the tool) or \"app\" (the tool's views call it)"
                ),
            ));
        }
        if list.iter().any(|v| v.value() == value) {
            return Err(syn::Error::new(
                s.span(),
                format!("duplicate visibility `{value}`; give it once"),
            ));
        }
        list.push(s.clone());
    }
    if list.is_empty() {
        return Err(syn::Error::new_spanned(
            array,
            "`visibility` needs \"model\", \"app\" or both: a tool nobody may call is useless",
        ));
    }
    Ok(list)
}

/// `.with_ui(..)` and `.with_visibility(..)` on a tool's `ToolDef`.
pub(crate) fn tool_expand(view: Option<&LitStr>, visibility: Option<&[LitStr]>) -> TokenStream {
    let with_ui = view.map(|uri| quote!(.with_ui(#uri)));
    let with_visibility = visibility.map(|list| {
        let variants = list.iter().map(|v| {
            if v.value() == "app" {
                quote!(::mcp_server::__private::Visibility::App)
            } else {
                quote!(::mcp_server::__private::Visibility::Model)
            }
        });
        quote!(.with_visibility([#(#variants),*]))
    });
    quote!(#with_ui #with_visibility)
}

/// A tool's `ui = ".."` must name a view declared in the same
/// `#[mcp_server]` impl; `views` are the `ui://` resources there.
pub(crate) fn check_tool_view(view: &LitStr, views: &[String]) -> Option<syn::Error> {
    let uri = view.value();
    if views.contains(&uri) {
        return None;
    }
    let declared = if views.is_empty() {
        "this server declares no view".to_owned()
    } else {
        format!(
            "this server's views are {}",
            views
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(syn::Error::new(
        view.span(),
        format!(
            "`{uri}` names no view of this server ({declared}); declare one in this impl block with `#[mcp_resource(\"{uri}\")]` on an `async fn` that returns the HTML"
        ),
    ))
}
