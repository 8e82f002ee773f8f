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

use crate::login_required::expand_with;
use crate::spec::AUTHORIZATION_REQUIRED;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    expand_with(&AUTHORIZATION_REQUIRED, attr, item)
}

#[cfg(test)]
mod tests;
