//! The procedural macros of [`axum-identity`]: [`#[login_required]`](macro@login_required) for
//! web apps and [`#[authorization_required]`](macro@authorization_required) for web APIs.
//!
//! Use it through the `axum_identity` crate, which re-exports them; the code it generates
//! names the runtime through `::axum_identity::__private` (see the `crate` option to change
//! that).
//!
//! [`axum-identity`]: https://docs.rs/axum-identity

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

mod attr;
mod authorization_required;
mod login_required;
mod spec;

/// Signs the visitor in before an `async fn` handler runs, and hands it the signed-in user.
///
/// The equivalent of Python `identity`'s `@auth.login_required`: a signed-out visitor is sent to
/// the login page (requests that are not page loads get a 401 naming the login URL instead), and
/// comes back to this page once signed in.
///
/// ```ignore
/// use axum::response::Html;
/// use axum_identity::{escape_html, login_required, Context};
///
/// #[login_required]
/// async fn index(context: Context) -> Html<String> {
///     Html(format!("Welcome {}", escape_html(context.user.display_name())))
/// }
/// ```
///
/// # Scopes
///
/// With `scopes`, the handler also gets an access token for those scopes in
/// `context.access_token`: the user is asked to consent first if needed, and the token is
/// refreshed when it is about to expire.
///
/// ```ignore
/// use axum::extract::Path;
/// use axum_identity::{login_required, Context};
///
/// #[login_required(scopes = ["User.Read"])]
/// async fn call_api(context: Context, Path(id): Path<u32>) -> String {
///     format!("{id}: a {} token valid for {} s", context.token_type, context.expires_in)
/// }
/// ```
///
/// The scopes are checked when the program is compiled: a bracketed list of distinct,
/// non-empty string literals without whitespace (`["User.Read", "Mail.Read"]`, not
/// `"User.Read Mail.Read"`), in the characters OAuth 2.0 allows. They become part of the
/// handler's type, so they have to be written out: constants are not accepted.
///
/// # Roles
///
/// With `roles`, the signed-in user must also have all of these app roles (the ID token's
/// `roles` claim, as Entra ID issues it); a user without them gets a 403 page, not another
/// sign-in. Role values are checked at compile time like scopes.
///
/// ```ignore
/// #[login_required(roles = ["Admin"])]
/// async fn admin(context: Context) -> String { /* .. */ }
/// ```
///
/// # The `Context` argument
///
/// The argument of type `Context` may have any name or pattern (`context`, `ctx`, `mut c`, `_`)
/// and any position; other extractors keep working, and an extractor that reads the body
/// (`Json`, `Form`, ...) stays last. A handler without a `Context` argument is protected all the
/// same. `Option<Context>` is for pages open to everyone, so it cannot be combined with this
/// attribute; neither can `&Context`. An argument named `context` must be a `Context`.
///
/// The argument is recognized by the last segment of its type's path (`Context`,
/// `axum_identity::Context`): a `Context` imported under another name is not recognized (the
/// handler is still protected, by an extractor added in front).
///
/// ```ignore
/// use axum::{extract::State, Json};
/// use axum_identity::{login_required, Context};
///
/// #[login_required]
/// async fn members_only() -> &'static str {
///     "only signed-in users see this"
/// }
///
/// #[login_required(scopes = ["api://my-api/Notes.Write"])]
/// async fn add_note(State(db): State<Db>, ctx: Context, Json(note): Json<Note>) { /* .. */ }
/// ```
///
/// Only the signature changes: the body, the return type, generics, `where` clauses,
/// visibility and other attributes stay as written. To use `#[axum::debug_handler]`, put it
/// below `#[login_required]`, so that it checks the handler as rewritten:
///
/// ```ignore
/// #[login_required(scopes = ["User.Read"])]
/// #[axum::debug_handler]
/// async fn profile(context: Context) -> String { /* .. */ }
/// ```
///
/// # Where it applies
///
/// On free-standing `async fn`s (at module level or inside a function). Methods with a `self`
/// receiver are rejected. With `scopes`, the attribute defines a hidden marker type next to the
/// function, which Rust does not allow inside an `impl` block: keep handlers with scopes out of
/// `impl` blocks (associated functions without scopes work).
///
/// # `crate`
///
/// Generated code names the runtime through `::axum_identity::__private`. A crate that
/// re-exports `axum_identity` elsewhere says where, like serde's `crate`; items are then named
/// `<path>::__private::..`:
///
/// ```ignore
/// #[login_required(crate = "my_facade::auth", scopes = ["User.Read"])]
/// async fn index(context: my_facade::auth::Context) { /* .. */ }
/// ```
///
/// # What it expands to
///
/// ```ignore
/// #[login_required(scopes = ["User.Read", "Mail.Read"])]
/// async fn call_api(context: Context) -> Response { .. }
/// ```
///
/// becomes
///
/// ```ignore
/// #[doc(hidden)]
/// #[allow(non_camel_case_types, dead_code)]
/// struct __axum_identity_scopes_call_api;
/// impl ::axum_identity::__private::Scopes for __axum_identity_scopes_call_api {
///     const SCOPES: &'static [&'static str] = &["User.Read", "Mail.Read"];
/// }
/// async fn call_api(
///     ::axum_identity::__private::LoginRequired {
///         0: context @ Context { .. },
///         ..
///     }: ::axum_identity::__private::LoginRequired<__axum_identity_scopes_call_api>,
/// ) -> Response { .. }
/// ```
///
/// The pattern `context @ Context { .. }` keeps naming your `Context`, so its `use` stays used,
/// and a `Context` that is not axum-identity's is reported right there ("expected
/// `axum_identity::Context`, found `Context`"). The marker type has the function's visibility.
#[proc_macro_attribute]
pub fn login_required(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_attribute(attr.into(), item.into(), login_required::expand).into()
}

/// Requires a valid bearer access token before an `async fn` web-API handler runs, and hands it
/// the token's claims — Python `identity`'s `@auth.authorization_required(expected_scopes=..)`.
///
/// The token is verified locally against the provider's keys (`ApiAuth`, installed with
/// `.layer(api.layer())`). A request without one gets `401` with `WWW-Authenticate: Bearer`, a
/// bad one `401` with `error="invalid_token"`, a token without the scopes or roles `403` with
/// `error="insufficient_scope"`: JSON answers, never a redirect.
///
/// ```ignore
/// use axum::Json;
/// use axum_identity::{authorization_required, ApiContext};
///
/// #[authorization_required(scopes = ["api.read"])]
/// async fn resource(context: ApiContext) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "sub": context.claims.subject() }))
/// }
///
/// /// Daemons (app-only tokens) with the app permission `Reports.Read.All`.
/// #[authorization_required(roles = ["Reports.Read.All"])]
/// async fn reports(context: ApiContext) -> String { /* .. */ }
/// ```
///
/// `scopes` are delegated scopes (`scp`, or RFC 9068's `scope`): all are required. `roles` are
/// app roles (`roles`): all are required. Both given: both are required. Lists are checked at
/// compile time as for `#[login_required]`, and everything said there about the argument (any
/// name, pattern and position; no `Option<ApiContext>`; handlers without one are protected all
/// the same), `#[axum::debug_handler]`, `impl` blocks and `crate = path` holds here with
/// `ApiContext` in place of `Context`.
///
/// # What it expands to
///
/// ```ignore
/// #[authorization_required(scopes = ["api.read"], roles = ["Reader"])]
/// async fn resource(context: ApiContext) -> Response { .. }
/// ```
///
/// becomes
///
/// ```ignore
/// #[doc(hidden)]
/// #[allow(non_camel_case_types, dead_code)]
/// struct __axum_identity_scopes_resource;
/// impl ::axum_identity::__private::Scopes for __axum_identity_scopes_resource {
///     const SCOPES: &'static [&'static str] = &["api.read"];
///     const ROLES: &'static [&'static str] = &["Reader"];
/// }
/// async fn resource(
///     ::axum_identity::__private::AuthorizationRequired {
///         0: context @ ApiContext { .. },
///         ..
///     }: ::axum_identity::__private::AuthorizationRequired<__axum_identity_scopes_resource>,
/// ) -> Response { .. }
/// ```
#[proc_macro_attribute]
pub fn authorization_required(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_attribute(attr.into(), item.into(), authorization_required::expand).into()
}

/// Runs an attribute macro; on error, emits the item unchanged next to the errors, so that the
/// rest of the file does not fail in cascade (the error still stops the build, so an item left
/// unprotected never compiles).
fn expand_attribute(
    attr: TokenStream2,
    item: TokenStream2,
    expand: fn(TokenStream2, TokenStream2) -> syn::Result<TokenStream2>,
) -> TokenStream2 {
    match expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err(err) => {
            let mut tokens = item;
            tokens.extend(err.into_compile_error());
            tokens
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn an_error_keeps_the_original_item() {
        let item = quote!(
            fn handler(context: Context) {}
        );
        let out = super::expand_attribute(quote!(), item, crate::login_required::expand);
        let out = out.to_string();
        assert!(
            out.starts_with("fn handler (context : Context) { }"),
            "{out}"
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("must be `async`"), "{out}");
    }
}
