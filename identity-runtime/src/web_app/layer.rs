//! The one layer an application adds: sessions with the cookie settings sign-in needs, and
//! [`Auth`] for the extractors and routes.

use std::sync::Arc;

use axum::middleware::AddExtension;
use tower_layer::Layer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::web_app::auth::Auth;

impl Auth {
    /// The layer that makes sign-in work: a tower-sessions session layer over `store` with the
    /// cookie settings sign-in needs (`HttpOnly`; `SameSite=Lax`, since `Strict` would drop the
    /// cookie on the provider's redirect back and break every sign-in; `Secure` when the
    /// redirect URI is https, under a `__Host-` name then; records that expire in the store after the idle timeout), and this
    /// `Auth` for the extractors and the routes. Add it last, so it wraps every route.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use axum_identity_runtime::{Auth, Context};
    /// use tower_sessions::MemoryStore;
    ///
    /// async fn index(context: Context) -> String {
    ///     context.user.display_name().to_owned()
    /// }
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .oidc_authority("http://127.0.0.1:3000")
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/", get(index))
    ///     .merge(auth.routes())
    ///     .layer(auth.layer(MemoryStore::default()));  // any tower-sessions store
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn layer<Store: SessionStore + Clone>(&self, store: Store) -> AuthLayer<Store> {
        self.layer_with(store, |sessions| sessions)
    }

    /// Like [`Auth::layer`], with the session layer adjusted by `configure`: a `Domain`, a
    /// `Path`, a shorter expiry. It starts from the recommended settings and the cookie's name
    /// (set that with [`AuthBuilder::cookie_name`](crate::AuthBuilder::cookie_name), the one
    /// place for it: the library needs to know it); loosening them (`SameSite=None` without
    /// `Secure`, no `HttpOnly`) is the application's responsibility.
    ///
    /// ```
    /// use axum::Router;
    /// use axum_identity_runtime::Auth;
    /// use tower_sessions::MemoryStore;
    ///
    /// // Two apps on one host (cookies ignore ports) keep their sessions apart by name ...
    /// let auth = Auth::builder()
    ///     .client_id("billing")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .oidc_authority("http://127.0.0.1:3000")
    ///     .cookie_name("billing.sid")
    ///     .build()?;
    /// // ... and this one keeps its cookie to a path of its own.
    /// let app: Router = Router::new()
    ///     .merge(auth.routes())
    ///     .layer(auth.layer_with(MemoryStore::default(), |sessions| sessions.with_path("/")));
    /// assert_eq!(auth.cookie_name(), "billing.sid");
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn layer_with<Store: SessionStore + Clone>(
        &self,
        store: Store,
        configure: impl FnOnce(SessionManagerLayer<Store>) -> SessionManagerLayer<Store>,
    ) -> AuthLayer<Store> {
        let idle = time::Duration::try_from(self.settings().session.idle_timeout)
            .unwrap_or(time::Duration::hours(8));
        let sessions = SessionManagerLayer::new(store.clone())
            .with_name(self.cookie_name().to_owned())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(self.requires_secure_cookies())
            .with_expiry(Expiry::OnInactivity(idle));
        AuthLayer {
            // The store enters here, once: back-channel logout keeps its markers in it.
            auth: self.with_store(Arc::new(store)),
            sessions: configure(sessions),
        }
    }
}

/// The layer [`Auth::layer`] returns: sessions, and [`Auth`] on every request.
#[derive(Clone)]
pub struct AuthLayer<Store: SessionStore + Clone> {
    auth: Auth,
    sessions: SessionManagerLayer<Store>,
}

impl<Store: SessionStore + Clone> std::fmt::Debug for AuthLayer<Store> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl<S, Store: SessionStore + Clone> Layer<S> for AuthLayer<Store> {
    type Service = <SessionManagerLayer<Store> as Layer<AddExtension<S, Auth>>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.sessions
            .layer(axum::Extension(self.auth.clone()).layer(inner))
    }
}
