//! Tokens on behalf of the user of an incoming request (a web API calling a downstream API):
//! Entra ID's on-behalf-of grant (`jwt-bearer` with `requested_token_use=on_behalf_of`), and
//! RFC 8693 token exchange for other providers. It takes the incoming access token as a string,
//! so whatever validated it (the web-API side) can hand it over.

use std::sync::Arc;

use serde::Deserialize;
use sha2::Digest as _;

use crate::core::clock::Clock;
use crate::core::error::{Error, Flow};
use crate::oidc::authority::AuthorityKind;
use crate::oidc::client::{
    Client, application_token, error_answer, parse_token_response, with_answer,
};
use crate::oidc::provider::Provider;
use crate::services::app_tokens::{AppTokens, ClientToken, scope_set};
use crate::store::session::CachedToken;

/// Entra ID's on-behalf-of grant.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §2.1.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A token for `scopes` on behalf of the user whose access token is `incoming`, cached per
/// incoming token and scope set (the callers of one request, or of many requests with the same
/// token, share one grant); a cached token that is `refused` is exchanged again.
pub(crate) async fn token_on_behalf_of(
    cache: &AppTokens,
    client: &Client,
    provider: &Provider,
    clock: &Clock,
    incoming: &str,
    scopes: &[&str],
    refused: Option<&str>,
) -> Result<ClientToken, Arc<Error>> {
    let scopes = scope_set(scopes)?;
    if incoming.trim().is_empty() {
        return Err(Arc::new(Error::InvalidToken(
            "there is no incoming access token to exchange".into(),
        )));
    }
    // The key names the incoming token by its digest: no bearer token is kept as a map key.
    let digest = sha2::Sha256::digest(incoming.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("obo\n{hex}\n{}", scopes.join(" "));
    cache
        .cached(
            key,
            clock,
            refused,
            exchange(client, provider, clock, incoming, &scopes),
        )
        .await
}

/// The provider's error answer, with what Entra ID adds for a conditional-access or consent
/// requirement.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    claims: Option<String>,
    #[serde(default)]
    suberror: Option<String>,
}

#[tracing::instrument(name = "on_behalf_of", level = "debug", skip_all, fields(flow = "on_behalf_of", ?scopes))]
async fn exchange(
    client: &Client,
    provider: &Provider,
    clock: &Clock,
    incoming: &str,
    scopes: &[String],
) -> Result<CachedToken, Error> {
    let meta = provider.metadata().await?;
    let token_url = meta.token_endpoint()?.as_str().to_owned();
    let microsoft = !matches!(provider.authority().kind, AuthorityKind::Oidc);
    let mut form: Vec<(String, String)> = if microsoft {
        vec![
            ("grant_type".into(), JWT_BEARER.into()),
            ("assertion".into(), incoming.into()),
            ("requested_token_use".into(), "on_behalf_of".into()),
        ]
    } else {
        vec![
            ("grant_type".into(), TOKEN_EXCHANGE.into()),
            ("subject_token".into(), incoming.into()),
            ("subject_token_type".into(), ACCESS_TOKEN_TYPE.into()),
            ("requested_token_type".into(), ACCESS_TOKEN_TYPE.into()),
        ]
    };
    form.push(("scope".into(), scopes.join(" ")));
    if let Some(claims) = client.claims_param(None) {
        form.push(("claims".into(), claims));
    }
    tracing::debug!("exchanging the incoming token");
    let (status, body, summary) = client
        .post_form(provider, &meta, &token_url, form, Flow::AppToken)
        .await?;
    if !status.is_success() {
        let answer: ErrorAnswer = serde_json::from_slice(&body).map_err(|_| {
            Error::token_endpoint(format!(
                "{}: the token endpoint's error answer is unreadable ({summary})",
                Flow::AppToken
            ))
        })?;
        let description = answer.error_description.unwrap_or_default();
        // Conditional access (MFA) or consent the user must give: the API's client can act on
        // it, so it becomes a 403 with the claims challenge, not a failure of ours.
        if answer.claims.is_some()
            || answer.suberror.as_deref() == Some("consent_required")
            || matches!(
                answer.error.as_str(),
                "interaction_required" | "consent_required"
            )
        {
            return Err(Error::InteractionRequired {
                detail: format!("{}: {description}", answer.error),
                claims: answer.claims,
            });
        }
        return Err(with_answer(
            error_answer(&answer.error, Some(&description), Flow::AppToken),
            Some(&summary),
        ));
    }
    let response = parse_token_response(&body, Flow::AppToken)?;
    let keep_oidc = !provider.authority().is_microsoft();
    application_token(&response, scopes, keep_oidc, clock.now(), "on-behalf-of")
}
