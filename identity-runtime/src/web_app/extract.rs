//! The extractors that make a handler require sign-in, scopes and roles, and why a request
//! is turned away ([`LoginRejection`]); what they hand the handler is in `context`.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use tower_sessions::Session;

use crate::core::error::Error;
use crate::core::grants;
use crate::core::params::api_scopes;
use crate::core::response::{NO_STORE, Quoting, quoted, set_challenge};
use crate::services::tokens::Failure;
use crate::store::session::{self, Record};
use crate::web_app::auth::Auth;
use crate::web_app::context::{Context, User};

/// The scopes (and app roles) a handler needs, as a type: what `#[login_required(scopes =
/// [...])]` and `#[authorization_required(..)]` generate.
pub trait Scopes: Send + Sync + 'static {
    /// The scopes.
    const SCOPES: &'static [&'static str];
    /// The app roles the user (or, for a web API, the token) must have: all of them.
    const ROLES: &'static [&'static str] = &[];
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

/// Why a protected request did not reach its handler. Match on it in a custom extractor, or
/// return it: as a response it is a redirect into sign-in for a page load, `401` with JSON for
/// an API request, `403` for scopes the user declined, or the application's error page.
///
/// ```
/// use axum::extract::FromRequestParts;
/// use axum::http::request::Parts;
/// use axum::response::{IntoResponse, Response};
/// use axum_identity_runtime::{Context, LoginRejection, require_sign_in};
///
/// /// A signed-in user, or a plain 401 for anyone else: this API never redirects.
/// struct ApiUser(Context);
///
/// impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
///     type Rejection = Response;
///
///     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
///         match require_sign_in(parts, &[]).await {
///             Ok(context) => Ok(ApiUser(context)),
///             Err(LoginRejection::SignInRequired { .. }) => {
///                 Err((axum::http::StatusCode::UNAUTHORIZED, "sign in first").into_response())
///             }
///             Err(other) => Err(other.into_response()),
///         }
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginRejection {
    /// Not signed in, or the grant is gone: a page load is redirected (303) to `login_url`,
    /// anything else gets `401` with JSON naming it and a
    /// `WWW-Authenticate: Cookie realm="<app name>", form-action="<login_url>"` challenge.
    SignInRequired {
        /// The login URL that returns to the page asked for, with the scopes needed.
        login_url: String,
        /// Whether the request is a browser's page load.
        page_load: bool,
        /// The `realm` of the `401`'s challenge: the application's name (none when empty).
        realm: String,
    },
    /// The user or the provider declined these scopes before; asking again would loop (403).
    ScopesNotGranted {
        /// The scopes missing.
        scopes: Vec<String>,
        /// For the application's error page.
        auth: Auth,
    },
    /// The signed-in user lacks app roles the handler requires (403 page, no sign-in loop).
    RolesMissing {
        /// The roles missing.
        roles: Vec<String>,
        /// For the application's error page.
        auth: Auth,
    },
    /// The provider, the session store or the setup failed.
    Failed {
        /// What failed.
        error: Error,
        /// For the application's error page, when the request reached `Auth`.
        auth: Option<Auth>,
    },
}

impl LoginRejection {
    /// The status of the response it becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            LoginRejection::SignInRequired {
                page_load: true, ..
            } => StatusCode::SEE_OTHER,
            LoginRejection::SignInRequired { .. } => StatusCode::UNAUTHORIZED,
            LoginRejection::ScopesNotGranted { .. } | LoginRejection::RolesMissing { .. } => {
                StatusCode::FORBIDDEN
            }
            LoginRejection::Failed { error, .. } => error.status(),
        }
    }
}

impl IntoResponse for LoginRejection {
    fn into_response(self) -> Response {
        match self {
            LoginRejection::SignInRequired {
                login_url,
                page_load: true,
                ..
            } => (NO_STORE, Redirect::to(&login_url)).into_response(),
            LoginRejection::SignInRequired {
                login_url, realm, ..
            } => {
                let challenge = challenge(&realm, &login_url);
                let body = serde_json::json!({
                    "error": "login_required",
                    "message": "Sign-in required.",
                    "login_url": login_url,
                });
                let mut response =
                    (StatusCode::UNAUTHORIZED, NO_STORE, axum::Json(body)).into_response();
                set_challenge(response.headers_mut(), &challenge);
                response
            }
            LoginRejection::ScopesNotGranted { scopes, auth } => {
                auth.render_error(&Error::ScopesNotGranted(scopes))
            }
            LoginRejection::RolesMissing { roles, auth } => {
                auth.render_error(&Error::RolesMissing(roles))
            }
            LoginRejection::Failed {
                error,
                auth: Some(auth),
            } => auth.render_error(&error),
            LoginRejection::Failed { error, auth: None } => error.into_response(),
        }
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
        let context = require_access(parts, S::SCOPES, S::ROLES).await?;
        parts.extensions.insert(Guarded(context));
        Ok(LoginGuard(PhantomData))
    }
}

/// The `WWW-Authenticate` challenge of a `401` (RFC 9110 §11.6.1, §15.5.2). Sign-in here is a
/// session cookie set by a login page, not an `Authorization` header, so the challenge names
/// the `Cookie` scheme with the login page as `form-action` (the parameters of the
/// `draft-broyer-http-cookie-auth` proposal): never `Basic`, which would make browsers prompt
/// for a password, nor `Bearer`, which this endpoint does not accept.
fn challenge(realm: &str, login_url: &str) -> String {
    let mut challenge = String::from("Cookie ");
    if !realm.trim().is_empty() {
        challenge.push_str("realm=");
        challenge.push_str(&quoted(realm, Quoting::Escaped));
        challenge.push_str(", ");
    }
    challenge.push_str("form-action=");
    challenge.push_str(&quoted(login_url, Quoting::Escaped));
    challenge
}

impl<St: Send + Sync, S: Scopes> FromRequestParts<St> for LoginRequired<S> {
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let context = require_access(parts, S::SCOPES, S::ROLES).await?;
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
        extract(parts, &[]).await
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
    let Some(context) = extract(parts, scopes).await? else {
        return Err(sign_in_needed(parts, scopes));
    };
    let missing = grants::missing(&context.user.roles(), roles);
    if !missing.is_empty() {
        return Err(LoginRejection::RolesMissing {
            roles: missing,
            auth: auth_of(parts)?,
        });
    }
    Ok(context)
}

fn auth_of(parts: &Parts) -> Result<Auth, LoginRejection> {
    parts
        .extensions
        .get::<Auth>()
        .cloned()
        .ok_or(LoginRejection::Failed {
            error: Error::Setup(
                "no `Auth` on the request: add `.layer(auth.layer(store))` to the router",
            ),
            auth: None,
        })
}

/// The context of a signed-in request, `None` for a signed-out one; a rejection for failures.
async fn extract(parts: &Parts, scopes: &[&str]) -> Result<Option<Context>, LoginRejection> {
    // Borrowed, not cloned: a protected hit copies nothing it does not hand to the handler.
    let auth = parts
        .extensions
        .get::<Auth>()
        .ok_or(LoginRejection::Failed {
            error: Error::Setup(
                "no `Auth` on the request: add `.layer(auth.layer(store))` to the router",
            ),
            auth: None,
        })?;
    let fail = |error: Error| LoginRejection::Failed {
        error,
        auth: Some(auth.clone()),
    };
    let session = parts.extensions.get::<Session>().ok_or_else(|| {
        fail(Error::Setup(
            "no session on the request: add `.layer(auth.layer(store))` to the router",
        ))
    })?;
    let mut record: Record = session::load(session).await.map_err(fail)?;
    let Some(user) = record.user.as_mut() else {
        return Ok(None);
    };
    let now = auth.clock().now();
    let settings = auth.settings();
    if !user.is_current(now, &settings.session) {
        return Ok(None);
    }
    // Tokens sealed under a key no longer configured (or stored plain where a key is now
    // required) sign the user out on every kind of request, not only those that read them.
    if !user.tokens_open_with(auth.sealer()) {
        tracing::warn!("the session's tokens do not open with the configured keys; signed out");
        return Ok(None);
    }
    if let (true, Some(store)) = (settings.backchannel, auth.store()) {
        let signed_out = auth
            .markers()
            .signed_out_at(store, user.claim_str("iss"), user.claim_str("sub"))
            .await
            .map_err(fail)?;
        if signed_out.is_some_and(|at| user.since <= at) {
            return Ok(None);
        }
    }
    let dirty = user.touch(now, &settings.session);
    // Microsoft's authorities: the OpenID scopes need no access token. Elsewhere the scopes a
    // handler asks for are the scopes its token is asked, cached and refreshed for.
    let api_scopes = if auth.provider().authority().is_microsoft() {
        api_scopes(scopes)
    } else {
        scopes.to_vec()
    };
    let logout_path = settings.logout_path.clone();
    // The record is ours: move the claims into the context instead of copying them.
    let context = |record: &mut Record| Context {
        user: User {
            claims: record
                .user
                .take()
                .map(|u| u.claims.shared())
                .unwrap_or_default()
                .into(),
        },
        access_token: String::new(),
        token_type: String::new(),
        expires_in: 0,
        scopes: Vec::new(),
        logout_path,
    };
    if api_scopes.is_empty() {
        if dirty {
            session::store(session, &record, settings.session.at(now))
                .await
                .map_err(fail)?;
        }
        return Ok(Some(context(&mut record)));
    }
    // Tokens are needed now: read them (they live apart from the claims).
    session::attach_tokens(session, &mut record, auth.sealer())
        .await
        .map_err(fail)?;
    match auth
        .tokens()
        .acquire(auth.upstream(), session, &mut record, &api_scopes)
        .await
    {
        Ok(acquired) => {
            if acquired.changed || dirty {
                session::store_with_tokens(
                    session,
                    &record,
                    auth.sealer(),
                    settings.session.at(auth.clock().now()),
                )
                .await
                .map_err(fail)?;
            }
            let expires_in = (acquired.token.expires_at - auth.clock().now()).max(0) as u64;
            let mut context = context(&mut record);
            context.expires_in = expires_in;
            context.access_token = acquired.token.access_token;
            context.token_type = acquired.token.token_type;
            context.scopes = acquired.token.scopes;
            Ok(Some(context))
        }
        Err(Failure::SignIn) => Err(sign_in_needed(parts, scopes)),
        Err(Failure::Declined(missing)) => Err(LoginRejection::ScopesNotGranted {
            scopes: missing,
            auth: auth.clone(),
        }),
        Err(Failure::Error(error)) => Err(fail(error)),
    }
}

/// A browser navigating to a page is sent into sign-in; anything else (fetch/XHR, htmx, a form
/// post) gets `401` with the login URL, since a redirect to another origin is useless to a
/// script and would replay a non-GET request.
///
/// Browsers say what a request is for in its Fetch Metadata headers (sent to https and
/// loopback origins): `Sec-Fetch-Mode: navigate` or `Sec-Fetch-Dest: document` is a page load,
/// any other mode or destination (`cors`, `same-origin`, `no-cors`; `empty`, `script`...) is
/// not, whatever it accepts. Without them, `Accept` decides: JSON without HTML is an API call.
pub(crate) fn is_page_load(parts: &Parts) -> bool {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return false;
    }
    if parts.headers.contains_key("hx-request") {
        return false;
    }
    let fetch = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    match (fetch("sec-fetch-mode"), fetch("sec-fetch-dest")) {
        (Some(mode), _) if mode == "navigate" => return true,
        (_, Some(dest)) if dest == "document" => return true,
        (None, None) => {}
        _ => return false,
    }
    let accept = parts
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.is_empty() || accept.contains("text/html") || !accept.contains("json")
}

fn sign_in_needed(parts: &Parts, scopes: &[&str]) -> LoginRejection {
    let auth = match auth_of(parts) {
        Ok(auth) => auth,
        Err(rejection) => return rejection,
    };
    // The page that asked, as the browser named it: under `Router::nest` the original URI has
    // the application root; behind a proxy that stripped the root, `login_url` adds it back.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(&parts.uri);
    let next = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    LoginRejection::SignInRequired {
        login_url: auth.login_url_with_scopes(next, scopes),
        page_load: is_page_load(parts),
        realm: auth.settings().app_name.clone(),
    }
}

#[cfg(test)]
mod tests;
