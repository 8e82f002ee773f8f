//! Signed-in sessions for an application's own tests (feature `test-util`): a session in the
//! application's store, as a completed sign-in leaves it, and the cookie that names it, so the
//! application's protected routes can be called with `tower::ServiceExt::oneshot` and no
//! provider at all.

use std::sync::Arc;

use axum::http::HeaderValue;
use serde::Serialize;
use serde_json::{Map, Value};
use tower_sessions::{Session, SessionStore};

use crate::core::error::Error;
use crate::services::tokens;
use crate::store::session::{self, CachedToken, Record, SignedIn};
use crate::web_app::auth::Auth;

/// A user for [`signed_in`]: their claims, app roles, the scopes of the access token a handler
/// will get, the data a sign-in hook would have added, and their provider.
///
/// ```
/// use axum_identity_runtime::test_util::TestUser;
///
/// let user = TestUser::new("alice")
///     .claim("name", "Alice")
///     .roles(["Admin"])
///     .scopes(["User.Read"]);
/// # let _ = user;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct TestUser {
    claims: Map<String, Value>,
    scopes: Vec<String>,
    data: Map<String, Value>,
    provider: Option<String>,
}

impl TestUser {
    /// A user whose `sub` is `subject`, with `iss` `https://test.invalid` and no other claim.
    pub fn new(subject: impl Into<String>) -> Self {
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(subject.into()));
        claims.insert("iss".into(), Value::String("https://test.invalid".into()));
        TestUser {
            claims,
            scopes: Vec::new(),
            data: Map::new(),
            provider: None,
        }
    }

    /// One more claim (`name`, `email`, `tid`, `groups`...).
    pub fn claim(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        self.claims.insert(
            name.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// The app roles (`roles` claim) that `#[login_required(roles = [..])]` checks.
    pub fn roles<I, S>(self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.claim("roles", roles)
    }

    /// Scopes the session holds an access token for (valid for an hour): a handler with
    /// `#[login_required(scopes = [..])]` of these gets it, with no token request.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Data a sign-in hook would have kept ([`User::app_data`](crate::User::app_data)).
    pub fn app_data(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.data.insert(
            key.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// The provider the user signed in with, in an application with several.
    pub fn provider(mut self, name: impl Into<String>) -> Self {
        self.provider = Some(name.into());
        self
    }
}

/// Stores a signed-in session for `user` in `store` (the store the application's router was
/// given with [`Auth::layer`]), and returns the `Cookie` header that names it.
///
/// ```
/// use axum::body::Body;
/// use axum::http::{Request, StatusCode, header};
/// use axum::{Router, routing::get};
/// use axum_identity_runtime::test_util::{TestUser, signed_in};
/// use axum_identity_runtime::{Auth, Context};
/// use tower::ServiceExt as _;
/// use tower_sessions::MemoryStore;
///
/// async fn home(context: Context) -> String {
///     format!("Hello {}", context.user.subject())
/// }
///
/// # tokio_test(async {
/// let auth = Auth::builder()
///     .client_id("app")
///     .client_secret("secret")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("https://idp.example") // never contacted
///     .build()?;
/// let store = MemoryStore::default();
/// let app = Router::new()
///     .route("/", get(home))
///     .layer(auth.layer(store.clone()));
///
/// let cookie = signed_in(&auth, &store, TestUser::new("alice")).await?;
/// let response = app
///     .oneshot(Request::get("/").header(header::COOKIE, cookie).body(Body::empty())?)
///     .await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn signed_in<S>(auth: &Auth, store: &S, user: TestUser) -> Result<HeaderValue, Error>
where
    S: SessionStore + Clone,
{
    let now = auth.clock().now();
    let mut signed_in = SignedIn::new(user.claims, now);
    signed_in.data = user.data.into();
    signed_in.authenticated = Some(now);
    signed_in.provider = user.provider;
    if !user.scopes.is_empty() {
        let mut scopes = user.scopes;
        scopes.sort();
        let token = CachedToken {
            scopes,
            access_token: format!("test-access-token-{now}"),
            token_type: "Bearer".into(),
            expires_at: now + 3600,
            obtained_at: now,
        };
        tokens::keep(&mut signed_in, token, now);
    }
    let record = Record {
        user: Some(signed_in),
        ..Record::default()
    };
    let session = Session::new(None, Arc::new(store.clone()), None);
    session::store_with_tokens(&session, &record, auth.sealer(), auth.expiring()).await?;
    session.save().await?;
    let id = session.id().ok_or(Error::Setup(
        "the session store gave the test session no id",
    ))?;
    HeaderValue::from_str(&format!("{}={id}", auth.cookie_name()))
        .map_err(|_| Error::Setup("the cookie name is not a valid header value"))
}
