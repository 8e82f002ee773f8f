//! `#[authorization_required]` on a handler documented with `#[utoipa::path(..)]` below it:
//! the handler's scopes and roles become the operation's `security` requirement, under the
//! scheme `axum_identity::OPENAPI_SECURITY_SCHEME`, so that the OpenAPI document says what the
//! handler requires without the list being written twice (and drifting apart).
//!
//! ```text
//! #[authorization_required(scopes = ["a"])]        #[utoipa::path(get, path = "/x",
//! #[utoipa::path(get, path = "/x")]          =>        security(("bearerAuth" = ["a"])))]
//! ```
//!
//! Attributes expand from the outside in, so this works when `#[authorization_required]` is
//! above `#[utoipa::path]`; a `security(..)` written by hand is left as it is.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::{ItemFn, LitStr, Meta, Path};

/// The name of the security scheme, the runtime's `OPENAPI_SECURITY_SCHEME`.
pub(crate) const SECURITY_SCHEME: &str = "bearerAuth";

/// Adds `security((SECURITY_SCHEME = [scopes.., roles..]))` to the handler's
/// `#[utoipa::path(..)]`, when it has one without a `security` of its own.
pub(crate) fn add_security(handler: &mut ItemFn, scopes: &[LitStr], roles: &[LitStr]) {
    for attr in &mut handler.attrs {
        if !is_utoipa_path(attr.path()) {
            continue;
        }
        let Meta::List(list) = &mut attr.meta else {
            continue;
        };
        if names_security(&list.tokens) {
            continue;
        }
        // OpenAPI lists the scopes an OAuth scheme needs, and for other schemes "role names
        // which are required for the execution": both are what the handler requires.
        let required = scopes.iter().chain(roles);
        let security = quote!(security((#SECURITY_SCHEME = [#(#required),*])));
        let tokens = std::mem::take(&mut list.tokens);
        let ends_with_comma = matches!(
            tokens.clone().into_iter().last(),
            Some(TokenTree::Punct(p)) if p.as_char() == ','
        );
        list.tokens = if tokens.is_empty() || ends_with_comma {
            quote!(#tokens #security)
        } else {
            quote!(#tokens, #security)
        };
    }
}

/// `utoipa::path` (or `::utoipa::path`).
fn is_utoipa_path(path: &Path) -> bool {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments == ["utoipa", "path"]
}

/// Whether the attribute's arguments have a `security` of their own, at the top level.
fn names_security(tokens: &TokenStream) -> bool {
    let mut previous_is_separator = true;
    for token in tokens.clone() {
        match &token {
            TokenTree::Ident(ident) if previous_is_separator && ident == "security" => {
                return true;
            }
            TokenTree::Punct(p) => previous_is_separator = p.as_char() == ',',
            _ => previous_is_separator = false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(attrs: TokenStream, scopes: &[&str], roles: &[&str]) -> String {
        let mut handler: ItemFn = syn::parse2(quote! {
            #attrs
            async fn h() {}
        })
        .unwrap();
        let lits = |list: &[&str]| -> Vec<LitStr> {
            list.iter()
                .map(|s| LitStr::new(s, proc_macro2::Span::call_site()))
                .collect()
        };
        add_security(&mut handler, &lits(scopes), &lits(roles));
        let attr = &handler.attrs[0];
        quote!(#attr).to_string()
    }

    #[test]
    fn the_scopes_and_roles_become_the_operations_security() {
        assert_eq!(
            expanded(
                quote!(#[utoipa::path(get, path = "/x")]),
                &["a", "b"],
                &["R"]
            ),
            quote!(#[utoipa::path(get, path = "/x", security(("bearerAuth" = ["a", "b", "R"])))])
                .to_string()
        );
        assert_eq!(
            expanded(quote!(#[utoipa::path(get, path = "/x",)]), &[], &[]),
            quote!(#[utoipa::path(get, path = "/x", security(("bearerAuth" = [])))]).to_string()
        );
    }

    #[test]
    fn a_security_written_by_hand_and_other_attributes_are_left_alone() {
        let own = quote!(#[utoipa::path(get, path = "/x", security(("other" = [])))]);
        assert_eq!(expanded(own.clone(), &["a"], &[]), own.to_string());
        let doc = quote!(#[doc = "security"]);
        assert_eq!(expanded(doc.clone(), &["a"], &[]), doc.to_string());
        // `security` as a value is no argument of its own.
        let tagged = quote!(#[utoipa::path(get, path = "/x", tag = security)]);
        assert!(expanded(tagged, &["a"], &[]).contains("bearerAuth"));
    }
}
