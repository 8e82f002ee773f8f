//! The Device Code flow (RFC 8628), used when no redirect URI is configured: the login page
//! shows a code to enter at the provider on any device, and completes by itself once the user
//! has signed in there.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use openidconnect::core::{CoreIdToken, CoreTokenResponse};
use openidconnect::{AuthType, TokenResponse};
use serde::Deserialize;
use tower_sessions::Session;

use crate::Error;
use crate::config::{Auth, encode};
use crate::flow::{
    NoNonce, complete_sign_in, merge_userinfo, needs_userinfo, no_store, sign_in_scopes,
    verify_id_token,
};
use crate::pages::DeviceCodePage;
use crate::provider::{MAX_RESPONSE_BYTES, Metadata, read_limited};
use crate::record::{self, PendingDevice};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The path of the Device Code page.
pub(crate) fn page_path(auth: &Auth) -> String {
    format!("{}/device", auth.inner.login_path.trim_end_matches('/'))
}

#[derive(Deserialize)]
struct Authorization {
    device_code: String,
    user_code: String,
    // Some providers (Google) still send the draft's name.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: i64,
    interval: Option<i64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    error_description: Option<String>,
}

/// Asks the provider for a device code and shows it.
pub(crate) async fn start(
    auth: &Auth,
    session: &Session,
    next: &str,
    scopes: Vec<String>,
) -> Result<Response, Error> {
    let inner = &auth.inner;
    let meta = inner.provider.metadata().await?;
    let endpoint = meta.extra.device_authorization_endpoint.clone().ok_or_else(|| {
        Error::Config(crate::ConfigError::Provider(
            "the provider has no device_authorization_endpoint, so the Device Code flow cannot work: configure REDIRECT_URI".into(),
        ))
    })?;
    let mut form = vec![(
        "scope".to_owned(),
        sign_in_scopes(auth, &meta, &scopes).join(" "),
    )];
    let response = post(auth, &meta, &endpoint, &mut form).await?;
    let status = response.status();
    let body = read_limited(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(Error::ProviderUnavailable)?;
    if !status.is_success() {
        return Err(match serde_json::from_slice::<TokenError>(&body) {
            Ok(e) => Error::TokenEndpoint(format!(
                "{}: {}",
                e.error,
                e.error_description.unwrap_or_default()
            )),
            Err(_) => Error::TokenEndpoint(format!(
                "the device authorization endpoint answered {status}"
            )),
        });
    }
    let authorization: Authorization = serde_json::from_slice(&body)
        .map_err(|e| Error::TokenEndpoint(format!("unreadable device authorization: {e}")))?;
    let now = record::now();
    let interval = authorization.interval.unwrap_or(5).clamp(1, 60);
    let mut record = record::load(session).await?;
    record.device = Some(PendingDevice {
        device_code: authorization.device_code,
        user_code: authorization.user_code,
        verification_uri: authorization.verification_uri,
        verification_uri_complete: authorization.verification_uri_complete,
        expires_at: now + authorization.expires_in.clamp(1, 3600),
        interval,
        next_poll: now + interval,
        scopes,
        next: crate::return_path::safe_return_path(next),
    });
    record::store(session, &record).await?;
    Ok(no_store(Redirect::to(&page_path(auth)).into_response()))
}

/// The Device Code page: shows the code, and each time it (re)loads, asks the provider at most
/// once per interval whether the user has signed in.
pub(crate) async fn poll(auth: &Auth, session: &Session) -> Result<Response, Error> {
    let inner = &auth.inner;
    let mut record = record::load_full(session).await?;
    let Some(device) = record.device.clone() else {
        if record.user.is_some() {
            return Ok(no_store(Redirect::to("/").into_response()));
        }
        return Err(Error::UnknownState);
    };
    let now = record::now();
    if now >= device.expires_at {
        record.device = None;
        record::store(session, &record).await?;
        return Err(Error::Provider {
            error: "expired_token".into(),
            description: "The code expired before it was used.".into(),
        });
    }
    if now < device.next_poll {
        return Ok(page(auth, &device, device.next_poll - now));
    }
    let meta = inner.provider.metadata().await?;
    let token_url = meta
        .provider
        .token_endpoint()
        .map(|u| u.as_str().to_owned())
        .ok_or_else(|| {
            Error::Config(crate::ConfigError::Provider(
                "the discovery document has no token_endpoint".into(),
            ))
        })?;
    let mut form = vec![
        ("grant_type".to_owned(), DEVICE_GRANT.to_owned()),
        ("device_code".to_owned(), device.device_code.clone()),
    ];
    let response = post(auth, &meta, &token_url, &mut form).await?;
    let status = response.status();
    let body = read_limited(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(Error::ProviderUnavailable)?;
    if !status.is_success() {
        let error: TokenError = serde_json::from_slice(&body)
            .map_err(|_| Error::TokenEndpoint(format!("the token endpoint answered {status}")))?;
        let mut pending = device.clone();
        match error.error.as_str() {
            "authorization_pending" => {}
            // RFC 8628 §3.5: every slow_down adds five seconds to the interval, for good.
            "slow_down" => pending.interval += 5,
            _ => {
                record.device = None;
                record::store(session, &record).await?;
                return Err(Error::Provider {
                    error: error.error,
                    description: error.error_description.unwrap_or_default(),
                });
            }
        }
        pending.next_poll = now + pending.interval;
        let wait = pending.interval;
        record.device = Some(pending.clone());
        record::store(session, &record).await?;
        return Ok(page(auth, &pending, wait));
    }
    let response: CoreTokenResponse = serde_json::from_slice(&body).map_err(|e| {
        if e.to_string().contains("payload JSON") {
            Error::InvalidToken(format!("the ID token is malformed: {e}"))
        } else {
            Error::TokenEndpoint(format!("unreadable token response: {e}"))
        }
    })?;
    let id_token: &CoreIdToken = response
        .id_token()
        .ok_or_else(|| Error::InvalidToken("the provider sent no ID token".into()))?;
    // The Device Code flow has no nonce to compare: the device code itself, sent only from
    // this server to the token endpoint, binds the answer to this sign-in.
    let (meta, mut claims) =
        verify_id_token(auth, &inner.provider, meta, id_token, &NoNonce).await?;
    if needs_userinfo(&claims) {
        merge_userinfo(
            auth,
            &meta,
            openidconnect::OAuth2TokenResponse::access_token(&response).secret(),
            &mut claims,
        )
        .await?;
    }
    complete_sign_in(
        auth,
        session,
        record,
        &response,
        claims,
        &device.scopes,
        &device.next,
    )
    .await
}

fn page(auth: &Auth, device: &PendingDevice, refresh: i64) -> Response {
    let refresh = refresh.clamp(1, 60);
    let html = auth.inner.pages.device_code(&DeviceCodePage {
        app_name: &auth.inner.app_name,
        user_code: &device.user_code,
        verification_uri: &device.verification_uri,
        verification_uri_complete: device.verification_uri_complete.as_deref(),
        expires_in: (device.expires_at - record::now()).max(0) as u64,
        refresh_seconds: refresh as u64,
    });
    let mut response = Html(html).into_response();
    // Besides the page's own meta refresh: a browser reloads the page by itself until the
    // sign-in completes, with no JavaScript.
    if let Ok(value) = HeaderValue::from_str(&refresh.to_string()) {
        response.headers_mut().insert("refresh", value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// POSTs a form to a provider endpoint with this client's authentication.
async fn post(
    auth: &Auth,
    meta: &Metadata,
    url: &str,
    form: &mut Vec<(String, String)>,
) -> Result<reqwest::Response, Error> {
    let inner = &auth.inner;
    let mut request = inner
        .provider
        .http
        .post(url)
        .header(header::ACCEPT, "application/json");
    match (&inner.client_secret, meta.auth_type()) {
        (Some(secret), AuthType::BasicAuth) => {
            // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
            request = request.basic_auth(encode(&inner.client_id), Some(encode(secret)));
        }
        (Some(secret), _) => {
            form.push(("client_id".into(), inner.client_id.clone()));
            form.push(("client_secret".into(), secret.clone()));
        }
        (None, _) => form.push(("client_id".into(), inner.client_id.clone())),
    }
    request
        .form(&form)
        .send()
        .await
        .map_err(|e| Error::ProviderUnavailable(format!("POST {url}: {e}")))
}
