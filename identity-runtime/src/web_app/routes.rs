//! The routes [`Auth::routes`] (and `identity_routes!`) add: login, the redirect URI, logout,
//! the signed-out page, and the Device Code and back-channel logout endpoints when enabled.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::core::error::Error;
use crate::core::params::{encode, parse_params, parse_scopes};
use crate::core::response::redirect;
use crate::oidc::jws;
use crate::services::backchannel::Receiver;
use crate::store::session::UserFlow;
use crate::web_app::auth::Auth;
use crate::web_app::device;
use crate::web_app::login;
use crate::web_app::logout;
use crate::web_app::pages::{ProviderChoicePage, SignedOutPage, escape_html, page};
use crate::web_app::rejection::is_prefetch;
use crate::web_app::sign_in_params::SignInParams;

impl Auth {
    /// The router of sign-in: `GET <login_path>` (with `?next=/page` and optionally
    /// `&scope=a b`, and the sign-in parameters of [`LoginUrl`](crate::LoginUrl):
    /// `login_hint`, `domain_hint`, `prompt`, `ui_locales`), `GET|POST <redirect path>` (the callback, query or `form_post`),
    /// `GET|POST <logout_path>`, and `GET <logout_path>/done` (the signed-out page). Without a
    /// redirect URI, `GET <login_path>/device` shows the Device Code page instead of a callback;
    /// with back-channel logout, `POST <logout_path>/backchannel` receives logout tokens.
    ///
    /// Under an [application root](Auth::application_root) the routes are *without* it
    /// (`/login`, not `/app/login`): nest the router under the root, or serve it behind a
    /// reverse proxy that strips the root.
    ///
    /// ```
    /// use axum::Router;
    /// use axum_identity_runtime::Auth;
    /// use tower_sessions::MemoryStore;
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .oidc_authority("http://127.0.0.1:3000")
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .merge(auth.routes())
    ///     .layer(auth.layer(MemoryStore::default()));
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let router = Router::new()
            .route(self.route(self.login_path()), get(login))
            .route(self.route(self.logout_path()), get(logout).post(logout))
            .route(self.route(self.signed_out_path()), get(signed_out));
        let router = match self.redirect_path() {
            Some(path) => router.route(self.route(path), get(callback_query).post(callback_form)),
            None => router.route(self.route(&self.device_code_path()), get(device_page)),
        };
        match self.backchannel_logout_path() {
            Some(path) => router.route(self.route(&path), post(backchannel)),
            None => router,
        }
    }
}

/// The router behind `identity_routes!(auth)`; the same as [`Auth::routes`].
#[doc(hidden)]
pub fn routes<S: Clone + Send + Sync + 'static>(auth: &Auth) -> Router<S> {
    auth.routes()
}

/// The `Auth` that [`Auth::layer`] put on the request.
struct Installed(Auth);

impl<S: Send + Sync> FromRequestParts<S> for Installed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Auth>()
            .cloned()
            .map(Installed)
            .ok_or_else(|| {
                Error::Setup(
                    "no `Auth` on the request: add `.layer(auth.layer(store))` to the router",
                )
                .into_response()
            })
    }
}

async fn backchannel(Installed(auth): Installed, body: Bytes) -> Response {
    // With several providers, the logout token is checked by the provider its `iss` names
    // (its keys, its client id); an issuer none of them has is checked, and refused, by the
    // default one.
    let named = match logout_token_issuer(&body) {
        Some(issuer) if auth.has_several_providers() => {
            auth.by_issuer(&issuer).await.map(Cow::into_owned)
        }
        _ => None,
    };
    let auth = named.unwrap_or(auth);
    let Some(store) = auth.store() else {
        return auth.render_error(&Error::Setup(
            "back-channel logout needs the session store: add `.layer(auth.layer(store))`",
        ));
    };
    let receiver = Receiver {
        store,
        provider: auth.provider(),
        client_id: auth.client().id(),
        lifetime: auth.settings().session.lifetime,
        once: auth.once(),
        now: auth.clock().now(),
    };
    auth.markers().receive(receiver, &body).await
}

/// The `iss` a logout token says it has, unverified: only to pick whose keys verify it.
fn logout_token_issuer(body: &[u8]) -> Option<String> {
    let params = parse_params(body).ok()?;
    let claims = jws::payload(params.get("logout_token")?).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

async fn device_page(Installed(auth): Installed, session: Session) -> Response {
    device::poll(&auth, &session)
        .await
        .unwrap_or_else(|e| auth.render_error(&e))
}

async fn login(
    Installed(auth): Installed,
    session: Session,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    let proxied =
        headers.contains_key(header::FORWARDED) || headers.contains_key("x-forwarded-host");
    if let Some(target) = login::on_redirect_origin(&auth, host, proxied, query.as_deref()) {
        tracing::info!(
            to = %target,
            "sign-in moved to the redirect URI's origin, where its cookie will be sent back"
        );
        return redirect(&target);
    }
    let result = async {
        let params = parse_params(query.unwrap_or_default().as_bytes())?;
        // With several providers: the one asked for, or a page to choose one.
        let auth = match params.get("provider") {
            Some(name) => auth
                .named(name)
                .ok_or_else(|| Error::UnknownProvider(name.chars().take(40).collect()))?,
            None if auth.has_several_providers() => {
                return Ok(choose_provider(&auth, query_text(&params)));
            }
            None => Cow::Borrowed(&auth),
        };
        let auth = &*auth;
        let next = auth.return_path(params.get("next").map(String::as_str).unwrap_or("/"));
        let scopes = parse_scopes(params.get("scope").map(String::as_str))?;
        let user_flow = match params.get("flow").map(String::as_str) {
            None | Some("sign_in") => UserFlow::SignIn,
            Some("edit_profile") => UserFlow::EditProfile,
            Some("reset_password") => UserFlow::ResetPassword,
            Some(other) => return Err(Error::Malformed(format!("unknown flow `{other}`"))),
        };
        if auth.uses_device_code() {
            // A `HEAD` or a prefetch is nobody's sign-in: it starts none.
            let can_keep = method != Method::HEAD && !is_prefetch(&headers);
            return device::start(auth, &session, &next, scopes, can_keep).await;
        }
        let sign_in = SignInParams::from_query(&params);
        login::start(auth, &session, &next, scopes, user_flow, sign_in).await
    }
    .await;
    result.unwrap_or_else(|e| auth.render_error(&e))
}

/// The query of a login request, for the chooser's links (each adds its `provider`).
fn query_text(params: &HashMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(name, _)| *name != "provider"))
        .finish()
}

/// The page that lets the user choose a provider: a link to each one's sign-in, with the
/// rest of the request's query (where to return, the scopes, the sign-in parameters).
fn choose_provider(auth: &Auth, query: String) -> Response {
    let separator = if query.is_empty() { "" } else { "&" };
    let providers: Vec<(&str, String)> = auth
        .provider_names()
        .into_iter()
        .map(|name| {
            let url = format!(
                "{}?{query}{separator}provider={}",
                auth.login_path(),
                encode(name)
            );
            (name, url)
        })
        .collect();
    let choice = ProviderChoicePage {
        app_name: &auth.settings().app_name,
        providers: &providers,
    };
    page(StatusCode::OK, auth.pages().choose_provider(&choice))
}

async fn callback_query(
    Installed(auth): Installed,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    callback(&auth, &session, query.unwrap_or_default().as_bytes()).await
}

async fn callback_form(Installed(auth): Installed, session: Session, body: Bytes) -> Response {
    // `response_mode=form_post`: the provider's page posts from its own origin, and a browser
    // does not send a `SameSite=Lax` cookie with a cross-site POST. Without the cookie the state
    // is unknown here; the same parameters, sent again from a page of ours, arrive with it.
    if session.id().is_none()
        && let (Ok(params), Some(path)) = (parse_params(&body), auth.redirect_path())
        && params.contains_key("state")
    {
        return resend_as_get(path, &body);
    }
    callback(&auth, &session, &body).await
}

/// A page that loads `path?<query>` from this origin at once, so the browser sends the session
/// cookie with it.
fn resend_as_get(path: &str, query: &[u8]) -> Response {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query))
        .finish();
    let target = escape_html(&format!("{path}?{query}"));
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url={target}"><title>Signing in</title></head><body><p>Signing in… <a href="{target}">Continue</a></p></body></html>"#
    );
    page(StatusCode::OK, html)
}

async fn callback(auth: &Auth, session: &Session, input: &[u8]) -> Response {
    let result = async { login::callback(auth, session, parse_params(input)?).await }.await;
    result.unwrap_or_else(|error| auth.render_error(&error))
}

async fn logout(
    Installed(auth): Installed,
    session: Session,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    logout::request(&auth, &session, &method, &headers, &body)
        .await
        .unwrap_or_else(|e| auth.render_error(&e))
}

async fn signed_out(Installed(auth): Installed) -> Response {
    let signed_out = SignedOutPage {
        app_name: &auth.settings().app_name,
        login_url: auth.login_path(),
    };
    page(StatusCode::OK, auth.pages().signed_out(&signed_out))
}

#[cfg(test)]
mod tests;
