//! One token request to a managed-identity endpoint, as Microsoft documents each: the query
//! and header of App Service's and IMDS's protocols, the retries with exponential back-off,
//! and the answer's checks (JSON, a token, an expiry in the future) before anything is cached.

use std::time::Duration;

use serde_json::Value;

use super::{Endpoint, Inner, ManagedIdentityId, Retry};
use crate::core::error::Error;
use crate::core::http::{AnswerSummary, MAX_RESPONSE_BYTES, read_limited};
use crate::store::session::CachedToken;

/// App Service's protocol version: the one whose `expires_on` is in Unix seconds.
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// IMDS's protocol version.
const IMDS_API_VERSION: &str = "2018-02-01";

/// A token for `resource`, tried again on the answers Microsoft says to retry.
pub(super) async fn fetch(inner: &Inner, resource: &str) -> Result<CachedToken, Error> {
    let (url, what) = request_url(inner, resource);
    let mut attempt = 0;
    loop {
        let mut request = inner
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        request = match &inner.endpoint {
            Endpoint::AppService { header, .. } => {
                let mut value =
                    reqwest::header::HeaderValue::from_str(&header.0).map_err(|_| {
                        Error::unavailable(
                            "managed identity: IDENTITY_HEADER is not a header value",
                        )
                    })?;
                // Kept out of any debug output of the request.
                value.set_sensitive(true);
                request.header("X-IDENTITY-HEADER", value)
            }
            Endpoint::Imds { .. } => request.header("Metadata", "true"),
        };
        tracing::debug!(endpoint = %what, resource, attempt, "asking the managed identity for a token");
        let response = request
            .send()
            .await
            .map_err(|e| Error::unavailable_because(format!("managed identity: {what}"), e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| Error::unavailable_because(format!("managed identity: {what}"), e))?;
        if status.is_success() {
            return token(&body, resource, inner.clock.now()).map_err(|reason| {
                let summary = AnswerSummary::new(status, &headers, &body);
                Error::token_endpoint(format!("managed identity: {what}: {reason} ({summary})"))
            });
        }
        let summary = AnswerSummary::new(status, &headers, &body);
        if attempt < inner.retry.max_retries && retried(&inner.endpoint, status) {
            let wait = delay(inner.retry, attempt, retry_after(&headers));
            tracing::warn!(
                endpoint = %what,
                status = status.as_u16(),
                wait_ms = wait.as_millis() as u64,
                "the managed identity endpoint refused a token request; trying again"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
            continue;
        }
        let detail = format!("managed identity: {what}: {summary}");
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            Error::unavailable(detail)
        } else {
            Error::token_endpoint(detail)
        });
    }
}

/// The request's URL, and how a log line names it (without the query).
fn request_url(inner: &Inner, resource: &str) -> (url::Url, String) {
    let (mut url, version, names) = match &inner.endpoint {
        Endpoint::AppService { url, .. } => (
            url.clone(),
            APP_SERVICE_API_VERSION,
            ["client_id", "mi_res_id", "principal_id"],
        ),
        Endpoint::Imds { url } => (
            url.clone(),
            IMDS_API_VERSION,
            ["client_id", "msi_res_id", "object_id"],
        ),
    };
    let what = format!("GET {}", url.as_str());
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("api-version", version)
            .append_pair("resource", resource);
        let [client_id, resource_id, object_id] = names;
        match &inner.id {
            ManagedIdentityId::SystemAssigned => {}
            ManagedIdentityId::ClientId(id) => {
                query.append_pair(client_id, id);
            }
            ManagedIdentityId::ResourceId(id) => {
                query.append_pair(resource_id, id);
            }
            ManagedIdentityId::ObjectId(id) => {
                query.append_pair(object_id, id);
            }
        }
    }
    (url, what)
}

/// Whether Microsoft says to try `status` again: IMDS's 404 and 410 (it is starting or
/// updating), 408, 429 and 5xx; App Service's 429 and 5xx.
fn retried(endpoint: &Endpoint, status: reqwest::StatusCode) -> bool {
    let code = status.as_u16();
    match endpoint {
        Endpoint::Imds { .. } => matches!(code, 404 | 408 | 410 | 429) || status.is_server_error(),
        Endpoint::AppService { .. } => code == 429 || status.is_server_error(),
    }
}

/// The wait before retry `attempt` (from 0): the first delay doubled each time, or the
/// answer's `Retry-After` when it asks for longer, never past the longest back-off step, so
/// the total wait stays bounded.
pub(super) fn delay(retry: Retry, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let backoff = retry.first_delay.saturating_mul(1 << attempt.min(16));
    let longest = retry
        .first_delay
        .saturating_mul(1 << retry.max_retries.saturating_sub(1).min(16));
    retry_after.map_or(backoff, |asked| asked.clamp(backoff, longest.max(backoff)))
}

/// A `Retry-After` in seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The token of a successful answer, checked: JSON with a non-empty `access_token` and an
/// `expires_on` (Unix seconds, a string in both protocols) in the future. Anything else is an
/// error, so nothing unusable is cached.
pub(super) fn token(body: &[u8], resource: &str, now: i64) -> Result<CachedToken, String> {
    let answer: Value = serde_json::from_slice(body)
        .map_err(|_| "the answer is not JSON (an error page of a proxy or a gateway?)")?;
    let access_token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if access_token.is_empty() {
        return Err("the answer has no access token".into());
    }
    let seconds = |name: &str| match answer.get(name)? {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    let expires_on = seconds("expires_on")
        .or_else(|| seconds("expires_in").map(|lifetime| now + lifetime))
        .ok_or("the answer has no `expires_on` in Unix seconds")?;
    if expires_on <= now {
        return Err(format!(
            "the token it answered expired {} seconds ago (`expires_on` {expires_on}); is the \
             machine's clock right?",
            now - expires_on
        ));
    }
    let token_type = answer
        .get("token_type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("Bearer")
        .to_owned();
    Ok(CachedToken {
        scopes: vec![format!("{resource}/.default")],
        access_token: access_token.to_owned(),
        token_type,
        expires_at: expires_on,
        obtained_at: now,
    })
}
