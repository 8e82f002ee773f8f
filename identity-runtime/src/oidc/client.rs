//! This application's registration at the provider: its client id, its credential and its
//! redirect URI, and what it takes to talk to the token endpoint as that client.

use axum::http::header;
use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreTokenResponse, CoreTokenType};
use openidconnect::{
    AuthType, ClientId, ClientSecret, EmptyExtraTokenFields, EndpointNotSet, EndpointSet,
    IssuerUrl, OAuth2TokenResponse, RedirectUrl, RequestTokenError, StandardErrorResponse,
    StandardTokenResponse,
};
use url::Url;

use crate::core::error::{ConfigError, Error};
use crate::core::http::{MAX_RESPONSE_BYTES, read_limited};
use crate::core::params::{OIDC_SCOPES, encode};
use crate::oidc::credential::{Credential, JWT_BEARER};
use crate::oidc::jws;
use crate::oidc::provider::{Metadata, Provider};
use crate::store::session::CachedToken;

/// The OpenID client with the endpoints every flow needs.
pub(crate) type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// A token response with the ID token left unparsed: what tells a malformed ID token from a
/// malformed answer.
type PlainTokenResponse = StandardTokenResponse<EmptyExtraTokenFields, CoreTokenType>;

/// The application as the provider knows it.
pub(crate) struct Client {
    id: String,
    credential: Credential,
    /// `None`: the Device Code flow signs users in.
    redirect_uri: Option<Url>,
}

impl Client {
    pub(crate) fn new(id: String, credential: Credential, redirect_uri: Option<Url>) -> Self {
        Client {
            id,
            credential,
            redirect_uri,
        }
    }

    /// The client assertion parameters (RFC 7523 §2.2) of a request to the token endpoint, when
    /// the client authenticates with one: every token request adds them.
    pub(crate) fn assertion_params(
        &self,
        meta: &Metadata,
    ) -> Result<Vec<(&'static str, String)>, Error> {
        let audience = meta.token_endpoint()?;
        Ok(
            match self.credential.assertion(&self.id, audience.as_str())? {
                Some(assertion) => vec![
                    ("client_assertion_type", JWT_BEARER.to_owned()),
                    ("client_assertion", assertion),
                ],
                None => Vec::new(),
            },
        )
    }

    /// The client id (the `aud` of its ID tokens).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn redirect_uri(&self) -> Option<&Url> {
        self.redirect_uri.as_ref()
    }

    /// The openidconnect client for these endpoints and keys.
    pub(crate) fn oidc(&self, meta: &Metadata) -> Result<OidcClient, Error> {
        let token_url = meta.token_endpoint()?.clone();
        // The verifier compares `iss` itself where the rule is exact; the tenant-template rule
        // is checked by us after verification.
        let issuer = IssuerUrl::new(meta.issuer.clone())
            .map_err(|e| Error::Config(ConfigError::Provider(e.to_string())))?;
        let mut client = CoreClient::new(ClientId::new(self.id.clone()), issuer, meta.jwks.clone())
            .set_auth_uri(meta.provider.authorization_endpoint().clone())
            .set_token_uri(token_url)
            .set_auth_type(auth_type(meta));
        if let Some(redirect_uri) = &self.redirect_uri {
            client = client.set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        }
        match &self.credential {
            Credential::Secret(secret) => {
                client = client.set_client_secret(ClientSecret::new(secret.clone()));
            }
            // The client id goes in the body, next to the assertion the request adds.
            Credential::Key(_) | Credential::AssertionFile(_) => {
                client = client.set_auth_type(AuthType::RequestBody);
            }
            Credential::None => {}
        }
        Ok(client)
    }

    /// POSTs a form to a provider endpoint, authenticated as this client, for the grants
    /// openidconnect does not make the way we need (it only polls a device code in a loop);
    /// the answer's status and its body, read up to [`MAX_RESPONSE_BYTES`].
    pub(crate) async fn post_form(
        &self,
        provider: &Provider,
        meta: &Metadata,
        url: &str,
        mut form: Vec<(String, String)>,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), Error> {
        let mut request = provider
            .http()
            .post(url)
            .header(header::ACCEPT, "application/json");
        match (self.credential.secret(), auth_type(meta)) {
            (Some(secret), AuthType::BasicAuth) => {
                // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
                request = request.basic_auth(encode(&self.id), Some(encode(secret)));
            }
            (Some(secret), _) => {
                form.push(("client_id".into(), self.id.clone()));
                form.push(("client_secret".into(), secret.to_owned()));
            }
            (None, _) => {
                form.push(("client_id".into(), self.id.clone()));
                // Revocation and device endpoints take the same assertion as the token
                // endpoint, whose URL is its audience (RFC 7523 §3).
                for (name, value) in self.assertion_params(meta)? {
                    form.push((name.into(), value));
                }
            }
        }
        let unavailable =
            |e: crate::core::error::BoxError| Error::unavailable_because(format!("POST {url}"), e);
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(e.into()))?;
        let status = response.status();
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| unavailable(e.into()))?;
        Ok((status, body))
    }
}

/// `client_secret_basic` unless the provider supports only `client_secret_post`.
fn auth_type(meta: &Metadata) -> AuthType {
    use openidconnect::core::CoreClientAuthMethod as M;
    match meta.provider.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&M::ClientSecretBasic)
                && methods.contains(&M::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

/// What a failed token request means for the user.
pub(crate) fn token_error<E: std::error::Error + Send + Sync + 'static>(
    error: RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
) -> Error {
    match error {
        RequestTokenError::ServerResponse(response) => error_answer(
            response.error().as_ref(),
            response.error_description().map(String::as_str),
        ),
        RequestTokenError::Request(e) => Error::unavailable_because("the token request failed", e),
        // openidconnect parses the ID token's claims while reading the response, so a token
        // without `sub` or `iat` surfaces here: that is a rejected token, not a broken provider.
        RequestTokenError::Parse(e, body) => unreadable(&body, e),
        RequestTokenError::Other(detail) => Error::token_endpoint(detail),
    }
}

/// A token endpoint's error answer (RFC 6749 §5.2).
pub(crate) fn error_answer(code: &str, description: Option<&str>) -> Error {
    let detail = match description {
        Some(d) => format!("{code}: {d}"),
        None => code.to_owned(),
    };
    match code {
        "invalid_grant"
        | "invalid_scope"
        | "consent_required"
        | "interaction_required"
        | "login_required" => Error::InvalidGrant(detail),
        _ => Error::token_endpoint(detail),
    }
}

/// Reads a successful token response.
pub(crate) fn parse_token_response(body: &[u8]) -> Result<CoreTokenResponse, Error> {
    serde_json::from_slice(body).map_err(|e| unreadable(body, e))
}

/// A token response that did not parse: when it parses with the ID token left as a string, the
/// ID token is what is wrong.
fn unreadable(body: &[u8], cause: impl std::error::Error + Send + Sync + 'static) -> Error {
    if serde_json::from_slice::<PlainTokenResponse>(body).is_ok() {
        Error::InvalidToken(format!("the ID token is malformed: {cause}"))
    } else {
        Error::TokenEndpoint {
            detail: "the token response is unreadable".into(),
            source: Some(Box::new(cause)),
        }
    }
}

/// The scopes the token response granted, OpenID scopes left out and sorted. RFC 6749 §5.1:
/// no `scope` in the response means "what was asked".
pub(crate) fn granted_scopes(
    response: &CoreTokenResponse,
    asked: &[String],
    configured: &[String],
) -> Vec<String> {
    let mut granted: Vec<String> = match response.scopes() {
        Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
        None => asked.iter().chain(configured).cloned().collect(),
    };
    granted.retain(|s| !OIDC_SCOPES.contains(&s.as_str()));
    granted.sort();
    granted.dedup();
    granted
}

/// The cache entry of a token the application asked for itself (client credentials,
/// on-behalf-of): for the scopes granted, or for those asked when the answer names none but
/// OpenID scopes. `answer` names the grant in the error when there is no access token.
pub(crate) fn application_token(
    response: &CoreTokenResponse,
    asked: &[String],
    now: i64,
    answer: &str,
) -> Result<CachedToken, Error> {
    let granted = granted_scopes(response, asked, &[]);
    let granted = if granted.is_empty() {
        asked.to_vec()
    } else {
        granted
    };
    cached_token(response, granted, now)
        .ok_or_else(|| Error::token_endpoint(format!("the {answer} answer has no access token")))
}

/// How long an opaque access token answered without `expires_in` is used: five minutes.
const DEFAULT_LIFETIME: i64 = 300;

/// The access token of a token response, for the cache; `None` when there is none worth
/// keeping. B2C answers a sign-in without API scopes with an ID token only (see `http.rs`),
/// and a token for no API scope serves no handler: neither is worth session bytes.
pub(crate) fn cached_token(
    response: &CoreTokenResponse,
    scopes: Vec<String>,
    now: i64,
) -> Option<CachedToken> {
    if response.access_token().secret().is_empty() || scopes.is_empty() {
        return None;
    }
    let access_token = response.access_token().secret();
    // RFC 6749 §5.1 makes `expires_in` optional. Without it, a JWT access token says itself how
    // long it lives (RFC 9068); an opaque one is trusted for a short while only, since a guess of
    // an hour could hand handlers a token the API has stopped accepting.
    let lifetime = match response.expires_in() {
        Some(lifetime) => lifetime.as_secs() as i64,
        None => jws::payload(access_token)
            .ok()
            .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_i64))
            .map(|exp| (exp - now).max(0))
            .unwrap_or(DEFAULT_LIFETIME),
    };
    Some(CachedToken {
        scopes,
        access_token: access_token.clone(),
        token_type: token_type_name(response),
        expires_at: now + lifetime,
        obtained_at: now,
    })
}

fn token_type_name(response: &CoreTokenResponse) -> String {
    match response.token_type() {
        CoreTokenType::Bearer => "Bearer".to_owned(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "Bearer".into()),
    }
}

#[cfg(test)]
mod tests;
