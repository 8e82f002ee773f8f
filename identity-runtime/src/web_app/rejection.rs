//! Why a protected request did not reach its handler ([`LoginRejection`]) and the answer it
//! becomes: a redirect into sign-in for a page load, `401` with a `Cookie` challenge for
//! anything else, `403` or the application's error page.

use axum::extract::OriginalUri;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::core::error::Error;
use crate::core::response::{NO_STORE, Quoting, quoted, set_challenge};
use crate::web_app::auth::Auth;
use crate::web_app::step_up::Needs;

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

/// Whether a browser fetches the page ahead of a user's click (`Sec-Purpose: prefetch`, or the
/// older `Purpose: prefetch`): nobody asked for it yet, so it may neither sign out nor start a
/// sign-in that costs the provider a request.
pub(crate) fn is_prefetch(headers: &HeaderMap) -> bool {
    ["sec-purpose", "purpose"].iter().any(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("prefetch"))
    })
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

pub(crate) fn sign_in_needed(parts: &Parts, scopes: &[&str], needs: Needs) -> LoginRejection {
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
        login_url: auth.login_url_with_scopes(next, scopes, needs),
        page_load: is_page_load(parts),
        realm: auth.settings().app_name.clone(),
    }
}

/// The request's `Auth`, or the rejection that says the layer is missing.
pub(crate) fn auth_of(parts: &Parts) -> Result<Auth, LoginRejection> {
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
