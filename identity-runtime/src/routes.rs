//! The routes `identity_routes!` adds: login, the redirect URI, logout, and the signed-out page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::config::Auth;
use crate::device;
use crate::flow::{self, parse_params, parse_scopes};
use crate::pages::SignedOutPage;
use crate::record::Flow;

/// The router behind `identity_routes!(auth)`: `GET <login_path>` (with `?next=/page` and
/// optionally `&scope=a b`), `GET|POST <redirect path>` (the callback, query or `form_post`),
/// `GET|POST <logout_path>`, and `GET <logout_path>/done` (the signed-out page). Without a
/// redirect URI, `GET <login_path>/device` shows the Device Code page instead of a callback.
///
/// ```
/// use axum::Router;
/// use axum_identity_runtime::{Auth, routes};
///
/// let auth = Auth::builder()
///     .client_id("id")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("http://127.0.0.1:3000")
///     .build()
///     .unwrap();
/// let app: Router = Router::new().merge(routes(&auth)).layer(auth.layer());
/// ```
pub fn routes<S: Clone + Send + Sync + 'static>(auth: &Auth) -> Router<S> {
    let router = Router::new()
        .route(&auth.inner.login_path, get(login))
        .route(&auth.inner.logout_path, get(logout).post(logout))
        .route(&auth.inner.signed_out_path, get(signed_out));
    let router = match auth.redirect_path() {
        Some(path) => router.route(path, get(callback_query).post(callback_form)),
        None => router.route(&device::page_path(auth), get(device_page)),
    };
    let router = match auth.backchannel_logout_path() {
        Some(path) => router.route(&path, post(backchannel)),
        None => router,
    };
    router.with_state(auth.clone())
}

async fn backchannel(State(auth): State<Auth>, body: Bytes) -> Response {
    crate::backchannel::receive(&auth, &body).await
}

async fn device_page(State(auth): State<Auth>, session: Session) -> Response {
    device::poll(&auth, &session)
        .await
        .unwrap_or_else(|e| auth.render_error(&e))
}

async fn login(State(auth): State<Auth>, session: Session, RawQuery(query): RawQuery) -> Response {
    let result = async {
        let params = parse_params(query.unwrap_or_default().as_bytes())?;
        let next = params.get("next").map(String::as_str).unwrap_or("/");
        let scopes = parse_scopes(params.get("scope").map(String::as_str))?;
        let user_flow = match params.get("flow").map(String::as_str) {
            None | Some("sign_in") => Flow::SignIn,
            Some("edit_profile") => Flow::EditProfile,
            Some("reset_password") => Flow::ResetPassword,
            Some(other) => return Err(crate::Error::Malformed(format!("unknown flow `{other}`"))),
        };
        if auth.uses_device_code() {
            return device::start(&auth, &session, next, scopes).await;
        }
        flow::start_login(&auth, &session, next, scopes, user_flow).await
    }
    .await;
    result.unwrap_or_else(|e| auth.render_error(&e))
}

async fn callback_query(
    State(auth): State<Auth>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    callback(&auth, &session, query.unwrap_or_default().as_bytes()).await
}

async fn callback_form(State(auth): State<Auth>, session: Session, body: Bytes) -> Response {
    callback(&auth, &session, &body).await
}

async fn callback(auth: &Auth, session: &Session, input: &[u8]) -> Response {
    let result = async { flow::callback(auth, session, parse_params(input)?).await }.await;
    match result {
        Ok(response) => response,
        Err(error) => flow::no_store(auth.render_error(&error)),
    }
}

async fn logout(State(auth): State<Auth>, session: Session) -> Response {
    flow::logout(&auth, &session)
        .await
        .unwrap_or_else(|e| auth.render_error(&e))
}

async fn signed_out(State(auth): State<Auth>) -> Response {
    let page = SignedOutPage {
        app_name: &auth.inner.app_name,
        login_url: &auth.inner.login_path,
    };
    Html(auth.inner.pages.signed_out(&page)).into_response()
}

impl Auth {
    /// The layer that lets the extractors ([`Context`](crate::Context), `#[login_required]`)
    /// reach this `Auth`. Add it to the router after the protected routes.
    pub fn layer(&self) -> axum::Extension<Auth> {
        axum::Extension(self.clone())
    }

    /// A tower-sessions layer over `store` with the cookie settings sign-in needs: `HttpOnly`,
    /// `SameSite=Lax` (`Strict` would drop the cookie on the provider's redirect back and
    /// break every sign-in), `Secure` when the redirect URI is https, and records that expire
    /// in the store after the idle timeout.
    pub fn session_layer<Store: tower_sessions::SessionStore + Clone>(
        &self,
        store: Store,
    ) -> tower_sessions::SessionManagerLayer<Store> {
        // Back-channel logout records its markers in the same store.
        let _ = self
            .inner
            .marks
            .store
            .set(std::sync::Arc::new(store.clone()));
        tower_sessions::SessionManagerLayer::new(store)
            .with_name("identity.sid")
            .with_http_only(true)
            .with_same_site(tower_sessions::cookie::SameSite::Lax)
            .with_secure(self.requires_secure_cookies())
            .with_expiry(tower_sessions::Expiry::OnInactivity(
                time::Duration::try_from(self.inner.idle_timeout)
                    .unwrap_or(time::Duration::hours(8)),
            ))
    }
}
