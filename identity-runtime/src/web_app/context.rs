//! What a handler gets: [`Context`], the signed-in user and, with scopes, a fresh access
//! token; and [`User`], the user's claims with typed accessors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::Uri;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tower_sessions::Session;

use crate::core::claim_set::ClaimSet;
use crate::core::grants::GroupsOverage;
use crate::services::tokens::Failure;
use crate::store::claims::{ClaimsError, typed};

/// The signed-in user and, when the handler declared scopes, a fresh access token for them —
/// what Python `identity` passes to a view as `context`.
///
/// `Context` is an extractor: a handler that takes it requires sign-in (a page load is sent to
/// the provider, an API request gets `401`). `Option<Context>` serves pages that work signed in
/// or not. With `#[login_required(scopes = [...])]` the token fields are filled.
///
/// ```
/// use axum::response::Html;
/// use axum_identity_runtime::{Context, escape_html};
///
/// async fn index(context: Context) -> Html<String> {
///     Html(format!("Welcome {}", escape_html(context.user.display_name())))
/// }
///
/// async fn home(context: Option<Context>) -> Html<String> {
///     Html(match context {
///         Some(context) => format!("Hello {}", escape_html(context.user.display_name())),
///         None => "<a href=\"/login\">Sign in</a>".to_owned(),
///     })
/// }
/// # let _: axum::Router = axum::Router::new()
/// #     .route("/", axum::routing::get(index))
/// #     .route("/home", axum::routing::get(home));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Context {
    /// The signed-in user's claims.
    pub user: User,
    /// An access token for the handler's scopes; empty when the handler declared none (as in
    /// Python, where `context` carries a token only for `scopes=[...]`).
    pub access_token: String,
    /// The token's type, normally `Bearer`; empty without scopes.
    pub token_type: String,
    /// Seconds until the token expires; 0 without scopes.
    pub expires_in: u64,
    /// The scopes the token was granted; empty without scopes.
    pub scopes: Vec<String>,
    pub(crate) links: Arc<Links>,
    /// The page asked for, where a claims challenge returns to.
    pub(crate) page: Option<Uri>,
    /// The session the context came from, for tokens the handler did not declare.
    pub(crate) origin: Option<Origin>,
}

/// Where a request's context came from: its session, and the `Auth` that keeps the session's
/// tokens (behind [`SessionTokens`], which `Auth` implements: this file cannot name it). A
/// downstream call gets a token for other scopes, or a fresh one, through it.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) tokens: Arc<dyn SessionTokens>,
    pub(crate) session: Session,
}

/// The future of [`SessionTokens::token`].
pub(crate) type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, Failure>> + Send + 'a>>;

/// The token cache of a session's `Auth`, as a context reaches it.
pub(crate) trait SessionTokens: Send + Sync {
    /// A token for `scopes` from `session`'s cache, or one refresh; `refused` counts as expired.
    fn token<'a>(
        &'a self,
        session: &'a Session,
        scopes: &'a [&'a str],
        refused: Option<&'a str>,
    ) -> TokenFuture<'a>;
}

/// The library's paths a handler's context links to: shared by every request's `Context`.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    /// The login path, with the application root.
    pub(crate) login: String,
    /// The logout path, with the application root.
    pub(crate) logout: String,
    /// The application root, `""` for none.
    pub(crate) root: String,
    /// The name of the provider the user signed in with (`""`: the one unnamed provider).
    pub(crate) provider: String,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            login: "/login".into(),
            logout: "/logout".into(),
            root: String::new(),
            provider: String::new(),
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach a log line.
        f.debug_struct("Context")
            .field("user", &self.user)
            .field(
                "access_token",
                &if self.access_token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Context {
    /// A context for `user` without a token, as a handler declaring no scopes gets it: for
    /// tests of your own handlers.
    ///
    /// ```
    /// use axum_identity_runtime::{Context, User};
    /// use serde_json::json;
    ///
    /// async fn greet(context: Context) -> String {
    ///     format!("Hello {}", context.user.display_name())
    /// }
    ///
    /// # tokio_test(async {
    /// let user = User::from_claims(json!({"sub": "1", "name": "Ada"}).as_object().unwrap().clone());
    /// assert_eq!(greet(Context::new(user)).await, "Hello Ada");
    /// # });
    /// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn new(user: User) -> Self {
        Context {
            user,
            access_token: String::new(),
            token_type: String::new(),
            expires_in: 0,
            scopes: Vec::new(),
            links: Arc::default(),
            page: None,
            origin: None,
        }
    }

    /// A context for `user` with an access token, as a handler declaring scopes gets it: for
    /// tests of your own handlers.
    ///
    /// ```
    /// use axum_identity_runtime::{Context, User};
    ///
    /// let context = Context::with_token(
    ///     User::from_claims(Default::default()),
    ///     "eyJ0eXAi...",
    ///     "Bearer",
    ///     3600,
    ///     vec!["User.Read".to_owned()],
    /// );
    /// assert_eq!(context.expires_in, 3600);
    /// ```
    pub fn with_token(
        user: User,
        access_token: impl Into<String>,
        token_type: impl Into<String>,
        expires_in: u64,
        scopes: Vec<String>,
    ) -> Self {
        Context {
            access_token: access_token.into(),
            token_type: token_type.into(),
            expires_in,
            scopes,
            ..Context::new(user)
        }
    }

    /// The name of the provider the user signed in with, as the application named it
    /// ([`AuthBuilder::provider`](crate::AuthBuilder::provider), `IDENTITY_PROVIDERS`); `""`
    /// for an application with one provider it did not name.
    pub fn provider(&self) -> &str {
        &self.links.provider
    }

    /// The URL that signs the user out, for templates (Python's `url_for("identity.logout")`).
    pub fn logout_url(&self) -> &str {
        &self.links.logout
    }
}

/// The signed-in user: the verified ID token's claims, with typed accessors for the common ones
/// and every raw claim at hand.
#[derive(Clone, Debug)]
pub struct User {
    /// Shared with the session cache: a protected request copies no claim.
    pub(crate) claims: ClaimSet,
    /// What the application's sign-in hook added to the session (empty without a hook).
    pub(crate) data: ClaimSet,
}

impl User {
    /// Wraps claims (for tests of your own handlers).
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        User {
            claims: claims.into(),
            data: ClaimSet::default(),
        }
    }

    /// The same user with the data a sign-in hook would have added (for tests of your own
    /// handlers).
    pub fn with_app_data(mut self, data: Map<String, Value>) -> Self {
        self.data = data.into();
        self
    }

    /// The claims as your own type: any `T: Deserialize`, read once per session (the claims
    /// of a session are parsed once and shared by its requests, and so is each typed view of
    /// them), so reading it on every request costs a lookup.
    ///
    /// ```
    /// use axum_identity_runtime::{Context, User};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Claims {
    ///     sub: String,
    ///     #[serde(default)]
    ///     department: Option<String>,
    /// }
    ///
    /// async fn page(context: Context) -> String {
    ///     match context.user.claims_as::<Claims>() {
    ///         Ok(claims) => format!("{} in {:?}", claims.sub, claims.department),
    ///         Err(error) => format!("unexpected claims: {error}"),
    ///     }
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(page));
    /// ```
    pub fn claims_as<T>(&self) -> Result<Arc<T>, ClaimsError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        typed(self.claims.shared())
    }

    /// What the application's [sign-in hook](crate::AuthBuilder::on_sign_in) added to the
    /// session at sign-in (a local user id, roles from the application's database); empty
    /// without a hook. It is kept with the session, so every instance sharing the store sees
    /// it.
    pub fn app_data(&self) -> &Map<String, Value> {
        self.data.claims()
    }

    /// The hook's data as your own type, read once per session like
    /// [`claims_as`](User::claims_as).
    pub fn app_data_as<T>(&self) -> Result<Arc<T>, ClaimsError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        typed(self.data.shared())
    }

    /// `sub`: the user's stable identifier at the provider.
    pub fn subject(&self) -> &str {
        self.claims.subject()
    }

    /// `name`.
    pub fn name(&self) -> Option<&str> {
        self.claims.str_claim("name")
    }

    /// `preferred_username`.
    pub fn preferred_username(&self) -> Option<&str> {
        self.claims.str_claim("preferred_username")
    }

    /// `email`.
    pub fn email(&self) -> Option<&str> {
        self.claims.str_claim("email")
    }

    /// A user name to show: `preferred_username`, else `email`.
    pub fn username(&self) -> Option<&str> {
        self.preferred_username().or_else(|| self.email())
    }

    /// Something to greet the user with: `name`, else the user name, else `sub`.
    pub fn display_name(&self) -> &str {
        self.name()
            .or_else(|| self.username())
            .unwrap_or_else(|| self.subject())
    }

    /// `tid`: the Entra tenant the user signed in from.
    pub fn tenant_id(&self) -> Option<&str> {
        self.claims.tenant_id()
    }

    /// `oid`: the user's object id in Entra.
    pub fn object_id(&self) -> Option<&str> {
        self.claims.object_id()
    }

    /// Any claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.claim(name)
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.claims()
    }

    /// The user's app roles (`roles`, as Entra ID puts them in the ID token).
    pub fn roles(&self) -> Vec<&str> {
        self.claims.roles()
    }

    /// The `groups` claim, or [`GroupsOverage`] when the provider left the groups out for
    /// being too many (never an empty list in that case).
    pub fn groups(&self) -> Result<Vec<&str>, GroupsOverage> {
        self.claims.groups()
    }
}
