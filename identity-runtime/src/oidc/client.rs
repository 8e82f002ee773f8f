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

use crate::core::error::{ConfigError, Error, Flow};
use crate::core::http::{AnswerSummary, MAX_RESPONSE_BYTES, read_limited, untrusted_certificate};
use crate::core::params::{OIDC_SCOPES, TokenEndpointAuthMethod, encode};
use crate::oidc::claims_request::claims_request;
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
    /// The configured method; `None`: chosen from discovery.
    auth_method: Option<TokenEndpointAuthMethod>,
    /// RFC 8707 resource indicators sent with every authorization and token request.
    resources: Vec<String>,
    /// Client capabilities (`cp1`: the client handles claims challenges), sent as the
    /// `xms_cc` claims request of every request, as MSAL does.
    capabilities: Vec<String>,
}

impl Client {
    pub(crate) fn new(id: String, credential: Credential, redirect_uri: Option<Url>) -> Self {
        Client {
            id,
            credential,
            redirect_uri,
            auth_method: None,
            resources: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// The configured token endpoint authentication method and resource indicators.
    pub(crate) fn with_options(
        mut self,
        auth_method: Option<TokenEndpointAuthMethod>,
        resources: Vec<String>,
    ) -> Self {
        self.auth_method = auth_method;
        self.resources = resources;
        self
    }

    /// The client capabilities announced to the provider (Entra's `cp1`: this client handles
    /// claims challenges, so Entra may issue it long-lived CAE tokens it can revoke).
    pub(crate) fn with_capabilities(mut self, capabilities: Vec<String>) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// The `claims` parameter of a request: a claims challenge's claims request (for an
    /// authorization request) merged with the client capabilities, `None` when there is
    /// neither.
    pub(crate) fn claims_param(&self, challenge: Option<&str>) -> Option<String> {
        claims_request(challenge, &self.capabilities)
    }

    /// The parameters every token request carries: the `resource` indicators (RFC 8707) and,
    /// with client capabilities, their `claims` request. (The authorization request adds its
    /// `claims` itself, merged with a claims challenge's: see [`Client::claims_param`].)
    pub(crate) fn token_params(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        self.resource_params()
            .chain(self.claims_param(None).map(|claims| ("claims", claims)))
    }

    /// The `resource` parameters (RFC 8707) of an authorization or token request.
    pub(crate) fn resource_params(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        self.resources.iter().map(|r| ("resource", r.clone()))
    }

    /// How this client authenticates with a secret: the configured method, else
    /// `client_secret_basic` unless the provider supports only `client_secret_post`.
    fn auth_type(&self, meta: &Metadata) -> AuthType {
        match self.auth_method {
            Some(TokenEndpointAuthMethod::ClientSecretPost) => AuthType::RequestBody,
            Some(TokenEndpointAuthMethod::ClientSecretBasic) => AuthType::BasicAuth,
            _ => auth_type(meta),
        }
    }

    /// The client assertion parameters (RFC 7523 §2.2) of a request to the token endpoint, when
    /// the client authenticates with one: every token request adds them.
    pub(crate) async fn assertion_params(
        &self,
        meta: &Metadata,
    ) -> Result<Vec<(&'static str, String)>, Error> {
        let audience = meta.token_endpoint()?;
        let accepted = meta
            .provider
            .token_endpoint_auth_signing_alg_values_supported()
            .map_or(&[][..], Vec::as_slice);
        Ok(
            match self
                .credential
                .assertion(&self.id, audience.as_str(), accepted)
                .await?
            {
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
            .set_auth_type(self.auth_type(meta));
        if let Some(redirect_uri) = &self.redirect_uri {
            client = client.set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        }
        match &self.credential {
            Credential::Secret(secret) => {
                client = client.set_client_secret(ClientSecret::new(secret.clone()));
            }
            // The client id goes in the body, next to the assertion the request adds.
            Credential::Key(_) | Credential::AssertionFile(_) | Credential::ManagedIdentity(_) => {
                client = client.set_auth_type(AuthType::RequestBody);
            }
            Credential::None => {}
        }
        Ok(client)
    }

    /// POSTs a form to a provider endpoint, authenticated as this client, for the grants
    /// openidconnect does not make the way we need (it only polls a device code in a loop);
    /// the answer's status, its body, read up to [`MAX_RESPONSE_BYTES`], and its summary for a
    /// log line.
    pub(crate) async fn post_form(
        &self,
        provider: &Provider,
        meta: &Metadata,
        url: &str,
        mut form: Vec<(String, String)>,
        flow: Flow,
    ) -> Result<(reqwest::StatusCode, Vec<u8>, AnswerSummary), Error> {
        let mut request = provider
            .http()
            .post(url)
            .header(header::ACCEPT, "application/json");
        match (self.credential.secret(), self.auth_type(meta)) {
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
                for (name, value) in self.assertion_params(meta).await? {
                    form.push((name.into(), value));
                }
            }
        }
        let what = format!("POST {url}");
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(flow, &what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| Error::unavailable_because(format!("{flow}: {what}"), e))?;
        let summary = AnswerSummary::new(status, &headers, &body);
        Ok((status, body, summary))
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

/// What a failed token request of `flow` means for the user. `answer` is what the provider
/// answered, when it answered: the log line gets its status, content type and first characters.
pub(crate) fn token_error<E: std::error::Error + Send + Sync + 'static>(
    error: RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
    flow: Flow,
    answer: Option<AnswerSummary>,
) -> Error {
    match error {
        RequestTokenError::ServerResponse(response) => with_answer(
            error_answer(
                response.error().as_ref(),
                response.error_description().map(String::as_str),
                flow,
            ),
            answer.as_ref(),
        ),
        RequestTokenError::Request(e) => transport_error(flow, "the token request failed", e),
        // openidconnect parses the ID token's claims while reading the response, so a token
        // without `sub` or `iat` surfaces here: that is a rejected token, not a broken provider.
        RequestTokenError::Parse(e, body) => {
            with_answer(unreadable(&body, e, flow), answer.as_ref())
        }
        // An empty error answer, or a success answer that is not JSON.
        RequestTokenError::Other(detail) => with_answer(
            Error::token_endpoint(format!("{flow}: {detail}")),
            answer.as_ref(),
        ),
    }
}

/// `error` with the summary of the provider's answer added to its detail, for the log.
pub(crate) fn with_answer(error: Error, answer: Option<&AnswerSummary>) -> Error {
    match (error, answer) {
        (Error::TokenEndpoint { detail, source }, Some(answer)) => Error::TokenEndpoint {
            detail: format!("{detail} ({answer})"),
            source,
        },
        (other, _) => other,
    }
}

/// A request that got no answer: an untrusted certificate is a configuration mistake (no retry
/// fixes it); anything else is the provider being unreachable.
pub(crate) fn transport_error(
    flow: Flow,
    what: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    match untrusted_certificate(&error) {
        Some(why) => Error::Config(ConfigError::Provider(format!(
            "{flow}: {what}: the provider's TLS certificate is not trusted ({why}); if its CA is a \
             private one, add it to the system's trust store or to the file SSL_CERT_FILE names, \
             or pass a client that trusts it with `http_client`"
        ))),
        None => Error::unavailable_because(format!("{flow}: {what}"), error),
    }
}

/// A token endpoint's error answer (RFC 6749 §5.2) to a request of `flow`.
pub(crate) fn error_answer(code: &str, description: Option<&str>, flow: Flow) -> Error {
    let detail = match description {
        Some(d) if !d.is_empty() => format!("{code}: {d}"),
        _ => code.to_owned(),
    };
    if let Some(fix) = refusal_fix(code, flow) {
        return Error::Config(ConfigError::Refused {
            flow,
            answer: detail.chars().take(300).collect(),
            fix,
        });
    }
    match code {
        "invalid_grant"
        | "invalid_scope"
        | "consent_required"
        | "interaction_required"
        | "login_required" => Error::InvalidGrant(detail),
        _ => Error::token_endpoint(format!("{flow}: {detail}")),
    }
}

/// What to check when the provider refuses a request with `code`: the error codes that only a
/// configuration change (here or in the registration at the provider) can fix.
pub(crate) fn refusal_fix(code: &str, flow: Flow) -> Option<String> {
    let device = if flow == Flow::DeviceCode {
        "; REDIRECT_URI is not set, so users sign in with the Device Code flow: set REDIRECT_URI \
         to sign them in with a browser redirect, or allow the device_code grant for this client"
    } else {
        ""
    };
    let fix = match code {
        "invalid_client" => format!(
            "CLIENT_ID and the client's credential (CLIENT_SECRET or CLIENT_CERTIFICATE; for a \
             federated assertion, the registration's federated credential: its issuer, subject \
             and audience), and \
             TOKEN_ENDPOINT_AUTH_METHOD when the client is registered for another authentication \
             method{device}"
        ),
        "unauthorized_client" => format!(
            "the grant types and the token endpoint authentication method the client is \
             registered for at the provider (TOKEN_ENDPOINT_AUTH_METHOD){device}"
        ),
        "unsupported_grant_type" => {
            format!("the grant types the provider allows for this client{device}")
        }
        "invalid_target" => {
            "RESOURCE: the provider knows no such resource, or does not grant it to this client \
             (RFC 8707)"
                .to_owned()
        }
        "unsupported_response_type" => {
            "the response types the client is registered for: this library uses `code`".to_owned()
        }
        _ => return None,
    };
    Some(fix)
}

/// The device authorization endpoint's refusal (RFC 8628 §3.2): the request is made of the
/// configuration alone (the client, its credential, the scopes), so any 4xx OAuth error but
/// the provider's own trouble is a configuration mistake, most often a web application whose
/// REDIRECT_URI is missing.
pub(crate) fn device_authorization_refused(
    status: reqwest::StatusCode,
    code: &str,
    description: Option<&str>,
) -> Error {
    let transient = matches!(
        code,
        "server_error" | "temporarily_unavailable" | "slow_down"
    );
    if !status.is_client_error() || transient {
        return error_answer(code, description, Flow::DeviceCode);
    }
    let answer = match description {
        Some(d) if !d.is_empty() => format!("{code}: {d}"),
        _ => code.to_owned(),
    };
    let fix = refusal_fix(code, Flow::DeviceCode).unwrap_or_else(|| {
        refusal_fix("unauthorized_client", Flow::DeviceCode).unwrap_or_default()
    });
    Error::Config(ConfigError::Refused {
        flow: Flow::DeviceCode,
        answer: answer.chars().take(300).collect(),
        fix,
    })
}

/// Reads a successful token response.
pub(crate) fn parse_token_response(body: &[u8], flow: Flow) -> Result<CoreTokenResponse, Error> {
    serde_json::from_slice(body).map_err(|e| unreadable(body, e, flow))
}

/// A token response that did not parse: when it parses with the ID token left as a string, the
/// ID token is what is wrong.
fn unreadable(
    body: &[u8],
    cause: impl std::error::Error + Send + Sync + 'static,
    flow: Flow,
) -> Error {
    if serde_json::from_slice::<PlainTokenResponse>(body).is_ok() {
        Error::InvalidToken(format!("the ID token is malformed: {cause}"))
    } else {
        Error::TokenEndpoint {
            detail: format!("{flow}: the token response is unreadable"),
            source: Some(Box::new(cause)),
        }
    }
}

/// The scopes the token response granted, sorted. RFC 6749 §5.1: no `scope` in the response
/// means "what was asked".
///
/// OpenID scopes (`openid`, `profile`, ...) are left out, except, with `keep_asked_oidc`, those
/// asked for explicitly (a handler's or the configured scopes). Microsoft's authorities issue
/// tokens for one resource at a time and add the OpenID scopes to every request themselves, so
/// there they never name a token; at other providers `openid` is a scope of the access token
/// (it opens userinfo), and a token asked for with it must be cached, and refreshed, with it.
pub(crate) fn granted_scopes(
    response: &CoreTokenResponse,
    asked: &[String],
    configured: &[String],
    keep_asked_oidc: bool,
) -> Vec<String> {
    let mut granted: Vec<String> = match response.scopes() {
        Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
        None => asked.iter().chain(configured).cloned().collect(),
    };
    granted.retain(|s| {
        !OIDC_SCOPES.contains(&s.as_str())
            || (keep_asked_oidc && asked.iter().chain(configured).any(|a| a == s))
    });
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
    keep_asked_oidc: bool,
    now: i64,
    answer: &str,
) -> Result<CachedToken, Error> {
    let granted = granted_scopes(response, asked, &[], keep_asked_oidc);
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
