//! The runtime of [axum-identity](https://docs.rs/axum-identity): configuration, the OpenID
//! Connect flows, the token cache, session storage on tower-sessions, the routes and pages.
//!
//! The code lives in six folders, one floor each; a folder imports only from the folders below
//! it (a unit test, `import_rules`, keeps it so), and `ARCHITECTURE.md` in the repository maps
//! them:
//! 1. `core`: errors and settings, the clock, scope and role rules, parameters, return paths;
//! 2. `store`: the session record and its lifetime, claims, sealing, locks, single use;
//! 3. `oidc`: authorities and issuer rules, discovery and keys, the client and its
//!    credential, ID-token and access-token verification;
//! 4. `services`: the user's token cache, back-channel logout markers, app-only and
//!    on-behalf-of tokens, the downstream-API client, the groups of an overage from Graph;
//! 5. `web_app`: `Auth` (the composition root), its builder, the flows, extractors, layer,
//!    routes and pages;
//! 6. `web_api`: `ApiAuth`, the bearer extractors, the cache of verified tokens.
//!
//! Applications use it through the `axum-identity` facade, which adds the `#[login_required]`
//! and `identity_routes!` macros:
//!
//! ```
//! use axum::{Router, response::Html, routing::get};
//! use axum_identity_runtime::{Auth, Context, escape_html};
//! use tower_sessions::MemoryStore;
//!
//! async fn index(context: Context) -> Html<String> {
//!     Html(format!("Welcome {}", escape_html(context.user.display_name())))
//! }
//!
//! let auth = Auth::builder()
//!     .client_id("my-client")
//!     .client_secret("my-secret")
//!     .redirect_uri("http://localhost:5000/redirect")
//!     .oidc_authority("http://127.0.0.1:3000")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(index))
//!     .merge(auth.routes())
//!     .layer(auth.layer(MemoryStore::default()));
//! # Ok::<(), axum_identity_runtime::ConfigError>(())
//! ```
//!
//! # Features
//!
//! The facade's, which forwards them here: `rustls-tls-native-roots` (default),
//! `rustls-tls-webpki-roots` and `native-tls` choose how providers are reached over HTTPS
//! (reqwest's features of the same names); `redis`, `postgres`, `openapi` and `test-util` add
//! the refresh locks, the OpenAPI security scheme and the test helper. The facade's crate
//! documentation describes each, and the version policy.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod core;
mod oidc;
mod services;
mod store;
mod web_api;
mod web_app;

pub use core::clock::Clock;
pub use core::error::{BoxError, Error};
pub use core::grants::GroupsOverage;
pub use core::params::{Prompt, TokenEndpointAuthMethod};
pub use core::return_path::safe_return_path;
pub use core::setting::{ConfigError, Flow, Setting};
pub use oidc::managed_identity::{
    ManagedIdentity, ManagedIdentityBuilder, ManagedIdentityId, ManagedIdentitySource,
};
pub use services::app_tokens::ClientToken;
pub use services::downstream::{DownstreamApi, DownstreamRequest, TokenSource};
pub use services::downstream_error::{ClaimsChallenge, DownstreamError};
pub use store::claims::ClaimsError;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use store::lock::PostgresRefreshLock;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::lock::RedisRefreshLock;
pub use store::lock::{LockError, LockFuture, RefreshLock};
pub use web_api::auth::{ApiAuth, ApiAuthBuilder};
pub use web_api::challenge::Realm;
pub use web_api::extract::{
    ApiClaims, ApiContext, ApiRejection, AuthorizationRequired, require_authorization,
};
pub use web_api::layer::{Bearer, BearerLayer};
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use web_api::openapi::{BearerSecurity, OPENAPI_SECURITY_SCHEME};
pub use web_app::admission::{SignInDecision, SignInEvent, SignInMethod};
pub use web_app::auth::Auth;
pub use web_app::config::AuthBuilder;
pub use web_app::context::{Context, User};
pub use web_app::downstream::AppOnly;
pub use web_app::extract::{
    LoginGuard, LoginRequired, NoScopes, Scopes, require_access, require_sign_in,
};
pub use web_app::layer::AuthLayer;
pub use web_app::pages::{
    DefaultPages, DeviceCodePage, DeviceCodeStartPage, ErrorPage, Pages, ProviderChoicePage,
    SignOutPage, SignedOutPage, escape_html, is_safe_link,
};
pub use web_app::rejection::LoginRejection;
#[doc(hidden)]
pub use web_app::routes::routes;
pub use web_app::sign_in_params::LoginUrl;

/// The session layer this crate builds on (tower-sessions 0.14), re-exported so an application
/// names the same version.
pub use tower_sessions;

/// The HTTP client this crate reaches providers with (reqwest 0.12), re-exported for
/// `AuthBuilder::http_client` and `ApiAuthBuilder::http_client`.
pub use reqwest;

/// sqlx 0.8 (with PostgreSQL), re-exported for the pool [`PostgresRefreshLock`] takes.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sqlx;

/// fred 10 (the Redis client), re-exported for the client or pool [`RedisRefreshLock`] wraps.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use fred;

/// Signed-in sessions for an application's own tests (feature `test-util`): call its protected
/// routes with `tower::ServiceExt::oneshot`, no provider needed. See [`test_util::signed_in`].
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util {
    pub use crate::web_app::test_util::{TestUser, signed_in};
}

/// Entry points for the fuzz targets in `fuzz/`. Not a public API.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses callback or login parameters the way the routes do, including the scope list.
    pub fn callback_params(input: &[u8]) {
        if let Ok(params) = crate::core::params::parse_params(input) {
            let _ = crate::core::params::parse_scopes(params.get("scope").map(String::as_str));
            if let Some(next) = params.get("next") {
                let _ = crate::safe_return_path(next);
            }
        }
    }

    /// Whatever a return path looks like, the result is either the input unchanged or `/`, and
    /// it always resolves to a page of this origin (panics otherwise).
    pub fn return_path(input: &[u8]) {
        let Ok(candidate) = std::str::from_utf8(input) else {
            return;
        };
        let result = crate::safe_return_path(candidate);
        assert!(result == "/" || result == candidate, "{candidate:?}");
        let base = url::Url::parse("http://app.test/").expect("a base URL");
        let joined = base.join(&result).expect("a kept path parses");
        assert_eq!(
            joined.origin(),
            base.origin(),
            "{candidate:?} escaped to {joined}"
        );
        assert!(!joined.path().starts_with("//"), "{candidate:?}");
    }

    /// What a web API does with an `Authorization` header before any key is at hand: reads the
    /// bearer token out of the header (when the bytes are a header value), then the token's
    /// JOSE header and payload and the checks of both (type, issuer, audience, times, kind),
    /// for the input as a token too. Bearer tokens are unauthenticated input on every request.
    pub fn bearer_token(input: &[u8]) {
        let realm = crate::web_api::challenge::Realm::from("fuzz");
        let mut tokens = Vec::new();
        if let Ok(value) = axum::http::HeaderValue::from_bytes(input) {
            let (mut parts, ()) = axum::http::Request::new(()).into_parts();
            parts
                .headers
                .insert(axum::http::header::AUTHORIZATION, value);
            if let Ok(token) = crate::web_api::extract::bearer_token(&parts, &realm) {
                tokens.push(token.to_owned());
            }
        }
        if let Ok(text) = std::str::from_utf8(input) {
            tokens.push(text.to_owned());
        }
        let policy = crate::oidc::access_token::Policy {
            audiences: vec!["api".into(), "api://api".into()],
            tenants: Some(vec!["t1".into()]),
            leeway: 30,
            require_at_jwt: false,
        };
        let issuers = [
            crate::oidc::authority::IssuerRule::Exact("https://idp.example".into()),
            crate::oidc::authority::IssuerRule::TenantTemplate(
                "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
            ),
        ];
        for token in &tokens {
            let _ = crate::oidc::access_token::check_header(token, false);
            let _ = crate::oidc::access_token::check_header(token, true);
            let _ = crate::oidc::jws::header(token);
            if let Ok(claims) = crate::oidc::jws::payload(token) {
                let _ = crate::oidc::access_token::check_claims(
                    &issuers,
                    &policy,
                    &claims,
                    1_800_000_000,
                );
                let claims = crate::ApiClaims::from_claims(claims);
                let _ = (
                    claims.scopes(),
                    claims.roles(),
                    claims.groups(),
                    claims.is_app_only(),
                );
            }
        }
    }

    /// Runs `target` on `rounds` inputs derived from `seeds` by a small deterministic mutator
    /// (bit flips, byte insertions and deletions, splices of the seeds): a bounded run of a
    /// fuzz target on the stable toolchain, for the test suite. libFuzzer, which needs a
    /// nightly toolchain, explores further with `cargo +nightly fuzz run <target>`.
    pub fn run_bounded(target: fn(&[u8]), seeds: &[&[u8]], rounds: usize) {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in seeds {
            target(seed);
        }
        for round in 0..rounds {
            let mut input = seeds[round % seeds.len()].to_vec();
            for _ in 0..=(next() % 8) {
                let at = if input.is_empty() {
                    0
                } else {
                    next() as usize % input.len()
                };
                match next() % 5 {
                    0 if !input.is_empty() => input[at] ^= 1 << (next() % 8),
                    1 => input.insert(at, next() as u8),
                    2 if !input.is_empty() => {
                        input.remove(at);
                    }
                    3 => {
                        let other = seeds[next() as usize % seeds.len()];
                        let from = next() as usize % (other.len() + 1);
                        input.splice(at..at, other[from..].iter().copied());
                    }
                    _ => {
                        let bytes = b".-_=/ +\"\\{}[]:,\0\xff";
                        input.insert(at, bytes[next() as usize % bytes.len()]);
                    }
                }
            }
            target(&input);
        }
    }

    /// Every fuzz target, for a bounded run in the test suite (the targets of `fuzz/` call the
    /// same functions without a bound).
    #[cfg(test)]
    mod tests {
        use base64::Engine as _;

        fn b64(json: &str) -> String {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        }

        #[test]
        fn the_bearer_token_target_survives_a_bounded_run() {
            let token = format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","kid":"k","typ":"at+jwt"}"#),
                b64(
                    r#"{"iss":"https://idp.example","aud":["api"],"sub":"u","exp":1800000600,"iat":1800000000,"tid":"t1","scp":"a b","roles":["r"],"groups":["g"],"_claim_names":{"groups":"s"}}"#
                )
            );
            let header = format!("Bearer {token}");
            let seeds: [&[u8]; 5] = [
                header.as_bytes(),
                token.as_bytes(),
                b"bearer  a.b.c",
                b"Basic dXNlcjpwYXNz",
                b"Bearer eyJhbGciOiJub25lIn0.e30.",
            ];
            super::run_bounded(super::bearer_token, &seeds, 200_000);
        }

        #[test]
        fn the_callback_target_survives_a_bounded_run() {
            let seeds: [&[u8]; 3] = [
                b"code=c&state=s&iss=https%3A%2F%2Fidp.example",
                b"next=%2Fa%3Fb%3Dc&scope=User.Read%20api.read",
                b"error=access_denied&error_description=no%0d%0a&state=",
            ];
            super::run_bounded(super::callback_params, &seeds, 200_000);
        }

        #[test]
        fn the_return_path_target_survives_a_bounded_run() {
            let seeds: [&[u8]; 4] = [b"/a/b?c=d#e", b"//evil.example", b"/\\evil", b"/%2F%2Fx"];
            super::run_bounded(super::return_path, &seeds, 200_000);
        }
    }
}

#[cfg(test)]
mod import_rules;
