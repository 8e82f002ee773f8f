//! The extractors that make a handler require sign-in, scopes and roles, and
//! [`require_access`], the one function that decides for all of them; what they hand the
//! handler is in `context`, why they turn a request away in `rejection`.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::core::grants;
use crate::web_app::context::Context;
use crate::web_app::rejection::{LoginRejection, auth_of, sign_in_needed};
use crate::web_app::sign_in::current_context;
use crate::web_app::step_up::Needs;

/// The scopes (and app roles) a handler needs, as a type: what `#[login_required(scopes =
/// [...])]` and `#[authorization_required(..)]` generate.
pub trait Scopes: Send + Sync + 'static {
    /// The scopes.
    const SCOPES: &'static [&'static str];
    /// The app roles the user (or, for a web API, the token) must have: all of them.
    const ROLES: &'static [&'static str] = &[];
    /// At most this many seconds since the user last authenticated
    /// (`#[login_required(max_age = ..)]`); `0`: re-authenticate on every visit.
    const MAX_AGE: Option<u64> = None;
    /// The authentication context class the user's ID token must name
    /// (`#[login_required(acr = "..")]`).
    const ACR: Option<&'static str> = None;
    /// The provider the user must have signed in with (`#[login_required(provider = "..")]`),
    /// in an application with several.
    const PROVIDER: Option<&'static str> = None;
}

/// What `S` requires of the authentication.
fn needs<S: Scopes>() -> Needs {
    Needs {
        max_age: S::MAX_AGE,
        acr: S::ACR,
        provider: S::PROVIDER,
    }
}

/// No scopes: sign-in only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScopes;

impl Scopes for NoScopes {
    const SCOPES: &'static [&'static str] = &[];
}

/// The extractor `#[login_required]` puts in place of `context: Context`. Prefer the attribute;
/// this type is public so the generated code can name it.
pub struct LoginRequired<S: Scopes = NoScopes>(pub Context, pub PhantomData<S>);

impl<S: Scopes> std::fmt::Debug for LoginRequired<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LoginRequired").field(&self.0).finish()
    }
}

/// The guard `#[login_required]` adds to a handler whose `Context` argument it cannot see (none,
/// or one under an alias). Prefer the attribute; this type is public so the generated code can
/// name it.
pub struct LoginGuard<S: Scopes = NoScopes>(PhantomData<S>);

impl<S: Scopes> std::fmt::Debug for LoginGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginGuard")
    }
}

/// The context a [`LoginGuard`] extracted, waiting on the request for a `Context` argument.
#[derive(Clone)]
struct Guarded(Context);

impl<St: Send + Sync, S: Scopes> FromRequestParts<St> for LoginGuard<S> {
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let context = require(parts, S::SCOPES, S::ROLES, needs::<S>()).await?;
        parts.extensions.insert(Guarded(context));
        Ok(LoginGuard(PhantomData))
    }
}

impl<St: Send + Sync, S: Scopes> FromRequestParts<St> for LoginRequired<S> {
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let context = require(parts, S::SCOPES, S::ROLES, needs::<S>()).await?;
        Ok(LoginRequired(context, PhantomData))
    }
}

impl<St: Send + Sync> FromRequestParts<St> for Context {
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        // After the guard of `#[login_required(scopes = ..)]`: its context, with the token.
        if let Some(Guarded(context)) = parts.extensions.remove::<Guarded>() {
            return Ok(context);
        }
        require_access(parts, &[], &[]).await
    }
}

impl<St: Send + Sync> OptionalFromRequestParts<St> for Context {
    type Rejection = LoginRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &St,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(Guarded(context)) = parts.extensions.remove::<Guarded>() {
            return Ok(Some(context));
        }
        current_context(parts, &[], Needs::default()).await
    }
}

/// Requires sign-in with scopes known only at run time (from configuration, say), for a custom
/// extractor. `#[login_required(scopes = [...])]` is the way when they are known at compile time.
///
/// ```
/// use axum::extract::FromRequestParts;
/// use axum::http::request::Parts;
/// use axum_identity_runtime::{Context, LoginRejection, require_sign_in};
///
/// /// A `Context` with a token for the scopes in the application's state.
/// struct ApiContext(Context);
///
/// #[derive(Clone)]
/// struct AppState { scopes: Vec<String> }
///
/// impl FromRequestParts<AppState> for ApiContext {
///     type Rejection = LoginRejection;
///
///     async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, LoginRejection> {
///         let scopes: Vec<&str> = state.scopes.iter().map(String::as_str).collect();
///         require_sign_in(parts, &scopes).await.map(ApiContext)
///     }
/// }
/// ```
pub async fn require_sign_in(parts: &Parts, scopes: &[&str]) -> Result<Context, LoginRejection> {
    require_access(parts, scopes, &[]).await
}

/// Requires sign-in, the scopes' token and every one of `roles` (the app roles of the signed-in
/// user's `roles` claim): what `#[login_required(scopes = [..], roles = [..])]` checks, for a
/// custom extractor whose requirements are known only at run time.
///
/// This is the one function that decides "signed in, scopes, roles" for the web app: the
/// extractor and the guard the attribute generates both call it, so a rule cannot be checked on
/// one path and forgotten on another.
///
/// ```
/// use axum::http::Request;
/// use axum_identity_runtime::{LoginRejection, require_access};
///
/// # tokio_test(async {
/// let (parts, ()) = Request::new(()).into_parts();
/// // Without `auth.layer(store)` on the router there is nothing to check against.
/// let refused = require_access(&parts, &[], &["Admin"]).await.unwrap_err();
/// assert!(matches!(refused, LoginRejection::Failed { .. }));
/// # });
/// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn require_access(
    parts: &Parts,
    scopes: &[&str],
    roles: &[&str],
) -> Result<Context, LoginRejection> {
    require(parts, scopes, roles, Needs::default()).await
}

/// [`require_access`], and the authentication's needs the attribute may require.
async fn require(
    parts: &Parts,
    scopes: &[&str],
    roles: &[&str],
    needs: Needs,
) -> Result<Context, LoginRejection> {
    let Some(context) = current_context(parts, scopes, needs).await? else {
        return Err(sign_in_needed(parts, scopes, needs));
    };
    // Most handlers require no role: they read no roles claim (a protected hit allocates
    // nothing it does not hand on).
    if roles.is_empty() {
        return Ok(context);
    }
    let missing = grants::missing(&context.user.roles(), roles);
    if !missing.is_empty() {
        return Err(LoginRejection::RolesMissing {
            roles: missing,
            auth: auth_of(parts)?,
        });
    }
    Ok(context)
}

#[cfg(test)]
mod tests;
