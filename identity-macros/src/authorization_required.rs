//! `#[authorization_required]`: the web-API counterpart of `#[login_required]`, rewriting the
//! signature of an `async fn` handler so that it extracts `AuthorizationRequired<Marker>` (which
//! refuses requests without a valid bearer token with the scopes and roles) instead of plain
//! `ApiContext`:
//!
//! ```text
//! #[authorization_required(scopes = ["a"])]      struct __axum_identity_scopes_h;  // + impl Scopes
//! async fn h(ctx: ApiContext, ..)          =>    async fn h(
//!                                                    AuthorizationRequired { 0: ctx @ ApiContext { .. }, .. }:
//!                                                        AuthorizationRequired<__axum_identity_scopes_h>, ..)
//! ```
//!
//! Everything but the names is `#[login_required]`'s: same options, same checks, same errors.

use proc_macro2::TokenStream;

use crate::login_required::{Spec, expand_with};

/// `#[authorization_required]`.
pub(crate) const AUTHORIZATION_REQUIRED: Spec = Spec {
    name: "authorization_required",
    extractor: "AuthorizationRequired",
    guard: "AuthorizationRequired",
    context: "ApiContext",
    context_is: "the caller's verified `axum_identity::ApiContext`",
    turned_away: "requests without a valid access token",
    without_options: "only require a valid access token",
};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    expand_with(&AUTHORIZATION_REQUIRED, attr, item)
}

#[cfg(test)]
mod tests;
