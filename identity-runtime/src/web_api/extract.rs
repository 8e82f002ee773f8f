//! What a web-API handler gets: [`ApiContext`] (the caller's verified access token claims),
//! the extractors that require a valid bearer token with scopes or app roles, and the RFC 6750
//! answers when one is missing.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::core::claim_set::ClaimSet;
use crate::core::error::Error;
use crate::core::grants::{self, GroupsOverage};
use crate::oidc::access_token::Rejected;
use crate::services::app_tokens::ClientToken;
use crate::store::claims::{ClaimsError, typed};
use crate::web_api::auth::ApiAuth;
use crate::web_api::challenge::Realm;
use crate::web_app::auth::Auth;
use crate::web_app::extract::{NoScopes, Scopes};

/// The longest bearer token accepted (Entra tokens with many claims are a few kilobytes).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The verified claims of the request's access token — Python `identity`'s
/// `context["claims"]` — with accessors for the ones an API decides with.
#[derive(Clone, Debug)]
pub struct ApiClaims {
    claims: ClaimSet,
    /// The name of the authority that issued the token (`""` with one).
    authority: Arc<str>,
}

impl ApiClaims {
    /// Wraps claims (for tests of your own handlers).
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        ApiClaims {
            claims: claims.into(),
            authority: Arc::from(""),
        }
    }

    /// The name of the authority that issued the token, in an API that accepts several
    /// ([`ApiAuthBuilder::provider`](crate::ApiAuthBuilder::provider)); `""` in an API with
    /// one it did not name.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `sub`: the caller (a user, or for app-only tokens the application).
    pub fn subject(&self) -> &str {
        self.claims.subject()
    }

    /// `oid`: the Entra object id of the user or of the calling application's service principal.
    pub fn object_id(&self) -> Option<&str> {
        self.claims.object_id()
    }

    /// `tid`: the Entra tenant the token was issued in.
    pub fn tenant_id(&self) -> Option<&str> {
        self.claims.tenant_id()
    }

    /// The application that asked for the token: `azp` (Entra v2), `appid` (v1) or
    /// `client_id` (RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.claims
            .str_claim("azp")
            .or_else(|| self.claims.str_claim("appid"))
            .or_else(|| self.claims.str_claim("client_id"))
    }

    /// The delegated scopes (`scp`, or RFC 9068's `scope`): what the user let the client do.
    pub fn scopes(&self) -> Vec<&str> {
        self.claims.scopes()
    }

    /// The app roles (`roles`): app permissions of a daemon, or app roles given to a user.
    pub fn roles(&self) -> Vec<&str> {
        self.claims.roles()
    }

    /// The `groups` claim, or [`GroupsOverage`] when the provider left them out for being too
    /// many (never an empty list in that case).
    pub fn groups(&self) -> Result<Vec<&str>, GroupsOverage> {
        self.claims.groups()
    }

    /// Whether the token was issued to an application acting as itself (client credentials),
    /// not on behalf of a user: Entra's `idtyp` is `app`; without `idtyp`, an Entra token
    /// without `scp` whose `oid` is its `sub`, or an RFC 9068 token whose `sub` is its
    /// `client_id`.
    pub fn is_app_only(&self) -> bool {
        if let Some(idtyp) = self.claims.str_claim("idtyp") {
            return idtyp == "app";
        }
        let sub = self.claims.str_claim("sub");
        if sub.is_some() && self.claims.str_claim("client_id") == sub {
            return true;
        }
        self.scopes().is_empty() && sub.is_some() && self.object_id() == sub
    }

    /// `exp`, in Unix seconds.
    pub fn expires_at(&self) -> i64 {
        self.claim("exp").and_then(Value::as_i64).unwrap_or(0)
    }

    /// Any claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.claim(name)
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.claims()
    }

    /// The claims as your own type: any `T: Deserialize`, read once per token (a repeated
    /// token's claims come from the cache of verified tokens, and so does each typed view of
    /// them).
    ///
    /// ```
    /// use axum_identity_runtime::ApiClaims;
    /// use serde::Deserialize;
    /// use serde_json::json;
    ///
    /// #[derive(Deserialize)]
    /// struct Caller {
    ///     azp: String,
    ///     #[serde(default)]
    ///     roles: Vec<String>,
    /// }
    ///
    /// let claims = ApiClaims::from_claims(json!({"azp": "app", "roles": ["Orders.Read"]})
    ///     .as_object().unwrap().clone());
    /// let caller = claims.claims_as::<Caller>()?;
    /// assert_eq!((caller.azp.as_str(), caller.roles.len()), ("app", 1));
    /// # Ok::<(), axum_identity_runtime::ClaimsError>(())
    /// ```
    pub fn claims_as<T>(&self) -> Result<Arc<T>, ClaimsError>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        typed(self.claims.shared())
    }
}

/// What a protected web-API handler gets: the claims of the request's valid bearer token.
///
/// As an extractor it requires a valid token (without particular scopes); `Option<ApiContext>`
/// lets requests without an `Authorization` header through as `None` (a bad token is still
/// refused). With `#[authorization_required(scopes = [..], roles = [..])]` the scopes and roles
/// are required too.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiContext {
    /// The token's verified claims.
    pub claims: ApiClaims,
    realm: Realm,
    /// The incoming token and the client that exchanges it, when the API has a
    /// [downstream client](crate::ApiAuthBuilder::downstream_client); kept only then, so an
    /// API without one copies nothing per request.
    downstream: Option<(Arc<str>, Auth)>,
}

impl std::fmt::Debug for ApiContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The incoming token never reaches a log line.
        f.debug_struct("ApiContext")
            .field("claims", &self.claims)
            .field("downstream", &self.downstream.is_some())
            .finish_non_exhaustive()
    }
}

impl ApiContext {
    /// A context for `claims`, for tests of your own handlers.
    pub fn new(claims: ApiClaims) -> Self {
        ApiContext {
            claims,
            realm: Realm::from(""),
            downstream: None,
        }
    }

    /// A token for a downstream API's `scopes` on behalf of the caller, in exchange for the
    /// token this request came with ([`Auth::token_on_behalf_of`]): Entra ID's on-behalf-of
    /// grant at Microsoft authorities, RFC 8693 token exchange elsewhere; cached per incoming
    /// token and scope set. Needs the API's
    /// [downstream client](crate::ApiAuthBuilder::downstream_client).
    ///
    /// When the provider wants the user's interaction first (multi-factor authentication,
    /// consent), the rejection is [`ApiRejection::InteractionRequired`]: a 403 whose
    /// `WWW-Authenticate` carries the claims challenge, so returning it with `?` tells the
    /// API's client what to ask the user for.
    ///
    /// ```
    /// use axum::Json;
    /// use axum_identity_runtime::{ApiContext, ApiRejection};
    ///
    /// async fn calendar(context: ApiContext) -> Result<Json<serde_json::Value>, ApiRejection> {
    ///     let token = context
    ///         .token_on_behalf_of(&["https://graph.microsoft.com/Calendars.Read"])
    ///         .await?;
    ///     // reqwest::Client::new().get(..).bearer_auth(&token.access_token)...
    ///     Ok(Json(serde_json::json!({ "scopes": token.scopes })))
    /// }
    /// ```
    pub async fn token_on_behalf_of(&self, scopes: &[&str]) -> Result<ClientToken, ApiRejection> {
        let Some((incoming, client)) = &self.downstream else {
            return Err(ApiRejection::Failed(Error::Setup(
                "no downstream client for on-behalf-of tokens: add `.downstream_client(auth)` to the `ApiAuth` builder",
            )));
        };
        client
            .token_on_behalf_of(incoming, scopes)
            .await
            .map_err(|error| match error.www_authenticate() {
                Some(challenge) => ApiRejection::InteractionRequired { challenge, error },
                None => ApiRejection::Failed(error),
            })
    }

    /// The incoming token and the downstream client that exchanges it, when the API has one.
    pub(crate) fn downstream(&self) -> Option<(&str, &Auth)> {
        self.downstream
            .as_ref()
            .map(|(incoming, client)| (&**incoming, client))
    }

    /// Requires scopes known only at run time (from configuration), e.g. `SCOPE`: all of
    /// them, delegated. `#[authorization_required(scopes = [..])]` when they are known at
    /// compile time.
    pub fn require_scopes(&self, scopes: &[&str]) -> Result<(), ApiRejection> {
        check(&self.claims, &self.realm, scopes, &[])
    }

    /// Requires app roles known only at run time: all of them.
    pub fn require_roles(&self, roles: &[&str]) -> Result<(), ApiRejection> {
        check(&self.claims, &self.realm, &[], roles)
    }
}

/// The extractor `#[authorization_required]` puts in place of `context: ApiContext`; public
/// so the generated code can name it.
pub struct AuthorizationRequired<S: Scopes = NoScopes>(pub ApiContext, pub PhantomData<S>);

impl<S: Scopes> std::fmt::Debug for AuthorizationRequired<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthorizationRequired")
            .field(&self.0)
            .finish()
    }
}

/// Why a web-API request did not reach its handler, answered as RFC 6750 says: `401` with a
/// `WWW-Authenticate: Bearer` challenge (and `error="invalid_token"` for a bad token), `400`
/// `invalid_request` for a malformed `Authorization` header, `403` `insufficient_scope` for a
/// missing scope or role; `503` when the provider's keys cannot be had. JSON bodies, never a
/// redirect.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiRejection {
    /// No bearer token.
    MissingToken {
        /// The challenge's realm.
        realm: Realm,
    },
    /// The `Authorization` header is malformed.
    InvalidRequest {
        /// The challenge's realm.
        realm: Realm,
        /// What is wrong.
        reason: &'static str,
    },
    /// The token is not acceptable: bad signature, expired, for another audience or issuer...
    InvalidToken {
        /// The challenge's realm.
        realm: Realm,
        /// Why.
        reason: String,
    },
    /// The token lacks delegated scopes the handler requires.
    InsufficientScope {
        /// The challenge's realm.
        realm: Realm,
        /// Every scope the handler requires.
        required: Vec<String>,
        /// Those the token lacks.
        missing: Vec<String>,
    },
    /// The token lacks app roles the handler requires.
    MissingRoles {
        /// The challenge's realm.
        realm: Realm,
        /// Those the token lacks.
        missing: Vec<String>,
    },
    /// A token on behalf of the caller needs the user's interaction first (multi-factor
    /// authentication, consent): a `403` whose `WWW-Authenticate` is the provider's claims
    /// challenge, for the API's client to take the user through sign-in with.
    InteractionRequired {
        /// The `WWW-Authenticate` value ([`Error::www_authenticate`]).
        challenge: String,
        /// The provider's answer.
        error: Error,
    },
    /// The provider's keys could not be fetched, or the API is not set up.
    Failed(Error),
}

impl ApiRejection {
    /// The status of the response it becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiRejection::MissingToken { .. } | ApiRejection::InvalidToken { .. } => {
                StatusCode::UNAUTHORIZED
            }
            ApiRejection::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            ApiRejection::InsufficientScope { .. }
            | ApiRejection::MissingRoles { .. }
            | ApiRejection::InteractionRequired { .. } => StatusCode::FORBIDDEN,
            ApiRejection::Failed(error) => error.status(),
        }
    }
}

impl<St: Send + Sync, S: Scopes> FromRequestParts<St> for AuthorizationRequired<S> {
    type Rejection = ApiRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiRejection> {
        require_authorization(parts, S::SCOPES, S::ROLES)
            .await
            .map(|context| AuthorizationRequired(context, PhantomData))
    }
}

impl<St: Send + Sync> FromRequestParts<St> for ApiContext {
    type Rejection = ApiRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiRejection> {
        require_authorization(parts, &[], &[]).await
    }
}

impl<St: Send + Sync> OptionalFromRequestParts<St> for ApiContext {
    type Rejection = ApiRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Option<Self>, ApiRejection> {
        match require_authorization(parts, &[], &[]).await {
            Ok(context) => Ok(Some(context)),
            // No bearer token at all (no header, or another scheme): anonymous.
            Err(ApiRejection::MissingToken { .. }) => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}

/// Requires a valid bearer token with all of `scopes` (delegated) and all of `roles` (app
/// roles), for a custom extractor; `#[authorization_required]` when they are known at compile
/// time.
pub async fn require_authorization(
    parts: &Parts,
    scopes: &[&str],
    roles: &[&str],
) -> Result<ApiContext, ApiRejection> {
    // Behind `ApiAuth`'s tower layer the token was verified once already, by the layer.
    if let Some(context) = parts.extensions.get::<ApiContext>() {
        check(&context.claims, &context.realm, scopes, roles)?;
        return Ok(context.clone());
    }
    let api = parts
        .extensions
        .get::<ApiAuth>()
        .ok_or(ApiRejection::Failed(Error::Setup(
            "no `ApiAuth` on the request: add `.layer(api.layer())` to the router",
        )))?;
    verify(api, parts, scopes, roles).await
}

/// The context of the request's bearer token, verified by `api`, with `scopes` and `roles`.
pub(crate) async fn verify(
    api: &ApiAuth,
    parts: &Parts,
    scopes: &[&str],
    roles: &[&str],
) -> Result<ApiContext, ApiRejection> {
    let realm = api.challenge_realm();
    let token = bearer_token(parts, &realm)?;
    let (claims, api) = match api.authorize(token).await {
        Ok((claims, issuer)) => (
            ApiClaims {
                claims: claims.into(),
                authority: issuer.name().clone(),
            },
            issuer,
        ),
        Err(Rejected::Invalid(reason)) => {
            tracing::debug!(?reason, "bearer token refused");
            return Err(ApiRejection::InvalidToken {
                realm,
                reason: reason.into_owned(),
            });
        }
        Err(Rejected::Unavailable(error)) => return Err(ApiRejection::Failed(error)),
    };
    check(&claims, &realm, scopes, roles)?;
    let downstream = api
        .downstream()
        .map(|client| (Arc::from(token), client.clone()));
    Ok(ApiContext {
        claims,
        realm,
        downstream,
    })
}

fn check(
    claims: &ApiClaims,
    realm: &Realm,
    scopes: &[&str],
    roles: &[&str],
) -> Result<(), ApiRejection> {
    if !scopes.is_empty() {
        let missing = grants::missing(&claims.scopes(), scopes);
        if !missing.is_empty() {
            return Err(ApiRejection::InsufficientScope {
                realm: realm.clone(),
                required: scopes.iter().map(|s| (*s).to_owned()).collect(),
                missing,
            });
        }
    }
    if !roles.is_empty() {
        let missing = grants::missing(&claims.roles(), roles);
        if !missing.is_empty() {
            return Err(ApiRejection::MissingRoles {
                realm: realm.clone(),
                missing,
            });
        }
    }
    Ok(())
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub(crate) fn bearer_token<'a>(parts: &'a Parts, realm: &Realm) -> Result<&'a str, ApiRejection> {
    let malformed = |reason| ApiRejection::InvalidRequest {
        realm: realm.clone(),
        reason,
    };
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(ApiRejection::MissingToken {
            realm: realm.clone(),
        });
    };
    if values.next().is_some() {
        return Err(malformed("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| malformed("the Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...) is no bearer token at all (§3.1).
        return Err(ApiRejection::MissingToken {
            realm: realm.clone(),
        });
    }
    let token = token.trim_matches(' ');
    let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if token.is_empty() || !token.bytes().all(token68) {
        return Err(malformed(
            "the Authorization header is not `Bearer <token>`",
        ));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("the bearer token is too long"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests;
