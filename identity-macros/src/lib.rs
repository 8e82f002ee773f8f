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
mod openapi;
mod spec;

/// Signs the visitor in before an `async fn` handler runs, and hands it the signed-in user.
///
/// The equivalent of Python `identity`'s `@auth.login_required`: a signed-out visitor is sent to
/// the login page (requests that are not page loads get a 401 naming the login URL instead), and
/// comes back to this page once signed in.
///
/// ```
/// use axum::{Router, response::Html, routing::get};
/// use axum_identity::{Context, escape_html, login_required};
///
/// #[login_required]
/// async fn index(context: Context) -> Html<String> {
///     Html(format!("Welcome {}", escape_html(context.user.display_name())))
/// }
///
/// let app: Router = Router::new().route("/", get(index));
/// ```
///
/// The app also needs the sign-in routes and the session layer of an `axum_identity::Auth`:
/// see the `axum_identity` crate's example.
///
/// # Scopes
///
/// With `scopes`, the handler also gets an access token for those scopes in
/// `context.access_token`: the user is asked to consent first if needed, and the token is
/// refreshed when it is about to expire.
///
/// ```
/// use axum::{Router, extract::Path, routing::get};
/// use axum_identity::{Context, login_required};
///
/// #[login_required(scopes = ["User.Read"])]
/// async fn call_api(context: Context, Path(id): Path<u32>) -> String {
///     format!("{id}: a {} token valid for {} s", context.token_type, context.expires_in)
/// }
///
/// let app: Router = Router::new().route("/items/{id}", get(call_api));
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
/// ```
/// use axum_identity::{Context, login_required};
///
/// #[login_required(roles = ["Admin"])]
/// async fn admin(context: Context) -> String {
///     format!("{} may administer", context.user.display_name())
/// }
/// # let _: axum::Router = axum::Router::new().route("/admin", axum::routing::get(admin));
/// ```
///
/// # Step-up: `max_age` and `acr`
///
/// With `max_age = <seconds>`, the user must have authenticated at the provider at most that
/// long ago (the ID token's `auth_time`); with `acr = "<class>"`, the ID token's `acr` must be
/// that authentication context class. A session that does not satisfy them is sent through
/// sign-in again with `max_age` / `acr_values`, and the handler runs once the new ID token
/// does. A provider that answers without satisfying them gets a 403 page, not another round.
/// `max_age = 0` means "authenticate again on every visit": the page is served only within 3
/// seconds of a new authentication (a `max_age` under 3 counts as 3), the time the redirect
/// back from the provider takes. Both are checked at compile time (a whole number of
/// seconds up to a year; one class of printable ASCII).
///
/// ```
/// use axum_identity::{Context, login_required};
///
/// /// Changing the payout account needs a sign-in of the last five minutes.
/// #[login_required(max_age = 300)]
/// async fn payout(context: Context) -> String {
///     format!("{} may change the payout account", context.user.display_name())
/// }
/// # let _: axum::Router = axum::Router::new().route("/payout", axum::routing::get(payout));
/// ```
///
/// # `provider`
///
/// In an application with several providers (`AuthBuilder::provider`), `provider = "work"`
/// admits only users who signed in with that one: a visitor who is not signed in goes straight
/// to its sign-in, and a user of another provider gets a 403 page, not a sign-in loop.
///
/// ```
/// use axum_identity::{Context, login_required};
///
/// #[login_required(provider = "work")]
/// async fn staff(context: Context) -> String {
///     format!("{} works here", context.user.display_name())
/// }
/// # let _: axum::Router = axum::Router::new().route("/staff", axum::routing::get(staff));
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
/// ```
/// use axum::extract::{Query, State};
/// use axum::routing::{get, post};
/// use axum::{Form, Json, Router};
/// use axum_identity::{Context, login_required};
/// use serde::Deserialize;
///
/// /// Protected without taking the user.
/// #[login_required]
/// async fn members_only() -> &'static str {
///     "only signed-in users see this"
/// }
///
/// #[derive(Clone)]
/// struct Db;
///
/// #[derive(Deserialize)]
/// struct Note {
///     text: String,
/// }
///
/// /// State first, any name for the `Context`, the body-reading extractor last.
/// #[login_required(scopes = ["api://my-api/Notes.Write"])]
/// async fn add_note(State(_db): State<Db>, ctx: Context, Json(note): Json<Note>) -> String {
///     format!("{} wrote {}", ctx.user.subject(), note.text)
/// }
///
/// #[login_required]
/// async fn add_note_from_form(ctx: Context, Form(note): Form<Note>) -> String {
///     format!("{} wrote {}", ctx.user.subject(), note.text)
/// }
///
/// /// Generic handlers work too.
/// #[login_required]
/// async fn search<Q>(context: Context, Query(query): Query<Q>) -> String
/// where
///     Q: serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
/// {
///     format!("{} searched {query:?}", context.user.subject())
/// }
///
/// #[derive(Debug, Deserialize)]
/// struct Search {
///     q: String,
/// }
///
/// let app: Router = Router::new()
///     .route("/members", get(members_only))
///     .route("/notes", post(add_note))
///     .route("/notes/form", post(add_note_from_form))
///     .route("/search", get(search::<Search>))
///     .with_state(Db);
/// ```
///
/// Only the signature changes: the body, the return type, generics, `where` clauses,
/// visibility and other attributes stay as written. To use `#[axum::debug_handler]`, put it
/// below `#[login_required]`, so that it checks the handler as rewritten:
///
/// ```
/// use axum_identity::{Context, login_required};
///
/// #[login_required(scopes = ["User.Read"])]
/// #[axum::debug_handler]
/// async fn profile(context: Context) -> String {
///     context.user.subject().to_owned()
/// }
/// # let _: axum::Router = axum::Router::new().route("/profile", axum::routing::get(profile));
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
/// re-exports `axum_identity` elsewhere says where, like serde's `crate` (a path, or the path
/// in a string); items are then named `<path>::__private::..`:
///
/// ```
/// mod my_facade {
///     pub mod auth {
///         pub use axum_identity::*;
///     }
/// }
///
/// use my_facade::auth::{Context, login_required};
///
/// #[login_required(crate = my_facade::auth, scopes = ["User.Read"])]
/// async fn index(context: Context) -> String {
///     context.user.subject().to_owned()
/// }
///
/// # fn main() {
/// let app: axum::Router = axum::Router::new().route("/", axum::routing::get(index));
/// # }
/// ```
///
/// # What it expands to
///
/// ```
/// # use axum_identity::{Context, login_required};
/// #[login_required(scopes = ["User.Read", "Mail.Read"])]
/// async fn call_api(context: Context) -> String {
///     context.user.subject().to_owned()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(call_api));
/// ```
///
/// becomes
///
/// ```
/// # use axum_identity::Context;
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
/// ) -> String {
///     context.user.subject().to_owned()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(call_api));
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
/// ```
/// use axum::routing::get;
/// use axum::{Json, Router};
/// use axum_identity::{ApiAuth, ApiContext, authorization_required};
/// use serde_json::{Value, json};
///
/// /// A valid token with the delegated scope `api.read`.
/// #[authorization_required(scopes = ["api.read"])]
/// async fn resource(context: ApiContext) -> Json<Value> {
///     Json(json!({
///         "sub": context.claims.subject(),
///         "scopes": context.claims.scopes(),
///         "app_only": context.claims.is_app_only(),
///     }))
/// }
///
/// /// Daemons (app-only tokens) with the app permission `Reports.Read.All`.
/// #[authorization_required(roles = ["Reports.Read.All"])]
/// async fn reports() -> &'static str {
///     "reports"
/// }
///
/// /// Any valid token; `Option<ApiContext>` would also let anonymous callers in.
/// async fn whoami(context: ApiContext) -> String {
///     context.claims.subject().to_owned()
/// }
///
/// let api = ApiAuth::builder()
///     .client_id("my-api-client-id")
///     .authority("https://login.microsoftonline.com/organizations")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/resource", get(resource))
///     .route("/reports", get(reports))
///     .route("/whoami", get(whoami))
///     .layer(api.layer());
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
/// ```
/// # use axum_identity::{ApiContext, authorization_required};
/// #[authorization_required(scopes = ["api.read"], roles = ["Reader"])]
/// async fn resource(context: ApiContext) -> String {
///     context.claims.subject().to_owned()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(resource));
/// ```
///
/// becomes
///
/// ```
/// # use axum_identity::ApiContext;
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
/// ) -> String {
///     context.claims.subject().to_owned()
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(resource));
/// ```
///
/// # OpenAPI
///
/// Above a `#[utoipa::path(..)]`, it adds the handler's scopes and roles to that operation's
/// `security`, under the scheme `"bearerAuth"` (`axum_identity::OPENAPI_SECURITY_SCHEME`,
/// which the facade's feature `openapi` describes with `BearerSecurity`, or with the API's own
/// provider through `ApiAuth`'s `utoipa::Modify`): the document then says what the handler
/// requires, from the one list. A `security(..)` written by hand is kept as it is.
///
/// ```text
/// #[authorization_required(scopes = ["notes.read"])]
/// #[utoipa::path(get, path = "/notes", responses((status = 200)))]
/// async fn notes(context: ApiContext) -> String { .. }
///
/// // the operation:  "security": [{ "bearerAuth": ["notes.read"] }]
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
