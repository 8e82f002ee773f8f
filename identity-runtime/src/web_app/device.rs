//! The Device Code flow (RFC 8628), used when no redirect URI is configured: the login page
//! shows a code to enter at the provider on any device, and completes by itself once the user
//! has signed in there.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

use crate::core::error::{ConfigError, Error, Flow};
use crate::core::response::redirect;
use crate::oidc::client::{
    device_authorization_refused, error_answer, parse_token_response, refusal_fix, with_answer,
};
use crate::oidc::id_token::{self, NoNonce};
use crate::store::session::{self, PendingDevice};
use crate::web_app::admission::SignInMethod;
use crate::web_app::auth::Auth;
use crate::web_app::complete::{Completed, complete_sign_in};
use crate::web_app::login::sign_in_scopes;
use crate::web_app::pages::{DeviceCodePage, DeviceCodeStartPage, page as library_page};
use crate::web_app::step_up;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

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

/// Asks the provider for a device code and shows it; `can_keep` is false for a request whose
/// answer no person sees (a `HEAD`, a prefetch).
#[tracing::instrument(name = "device", level = "debug", skip_all, fields(flow = "device_start", ?scopes))]
pub(crate) async fn start(
    auth: &Auth,
    session: &Session,
    next: &str,
    scopes: Vec<String>,
    can_keep: bool,
) -> Result<Response, Error> {
    // A code already shown and not expired is shown again (a reload, a second tab): a new one
    // would throw away the one the user may have entered already, and let one visitor make
    // the application call the provider in a loop.
    let record = session::load(session).await?;
    if record
        .device
        .as_ref()
        .is_some_and(|device| device.expires_at > auth.clock().now())
    {
        return Ok(redirect(&auth.device_code_path()));
    }
    // A request without a session (no cookie yet: a first visit, a script, a crawler) could not
    // keep the code it would start, and each one would cost a request to the provider: it gets
    // a button instead. Its session starts now, so the click carries the cookie.
    if !can_keep || session.id().is_none() {
        if can_keep {
            session::store(session, &record, auth.expiring()).await?;
        }
        return Ok(start_page(auth, next, &scopes));
    }
    if !auth.device_starts().take(auth.clock().now()) {
        tracing::warn!("a Device Code sign-in was refused: too many started in the last minute");
        return Err(Error::TooManySignIns);
    }
    let meta = auth.provider().metadata().await?;
    let endpoint = meta.extra.device_authorization_endpoint.clone().ok_or_else(|| {
        Error::Config(ConfigError::Provider(
            "the provider has no device_authorization_endpoint, so the Device Code flow cannot work: configure REDIRECT_URI".into(),
        ))
    })?;
    let form = vec![(
        "scope".to_owned(),
        sign_in_scopes(auth, &meta, &scopes).join(" "),
    )];
    let (status, body, summary) = auth
        .client()
        .post_form(auth.provider(), &meta, &endpoint, form, Flow::DeviceCode)
        .await?;
    if !status.is_success() {
        let error = match serde_json::from_slice::<TokenError>(&body) {
            Ok(e) => device_authorization_refused(status, &e.error, e.error_description.as_deref()),
            Err(_) => Error::token_endpoint(format!(
                "{}: the device authorization endpoint's answer is unreadable",
                Flow::DeviceCode
            )),
        };
        return Err(with_answer(error, Some(&summary)));
    }
    let authorization: Authorization =
        serde_json::from_slice(&body).map_err(|e| Error::TokenEndpoint {
            detail: "the device authorization is unreadable".into(),
            source: Some(Box::new(e)),
        })?;
    let now = auth.clock().now();
    let interval = authorization.interval.unwrap_or(5).clamp(1, 60);
    let mut record = record;
    let sealed = auth.sealer().is_on();
    let device_code = if sealed {
        auth.sealer()
            .seal(
                authorization.device_code.as_bytes(),
                &seal_context(&authorization.user_code),
            )
            .ok_or_else(|| Error::Setup("the device code could not be sealed"))?
    } else {
        authorization.device_code
    };
    record.device = Some(PendingDevice {
        device_code,
        sealed,
        user_code: authorization.user_code,
        verification_uri: authorization.verification_uri,
        verification_uri_complete: authorization.verification_uri_complete,
        expires_at: now + authorization.expires_in.clamp(1, 3600),
        interval,
        next_poll: now + interval,
        scopes,
        next: auth.return_path(next),
    });
    session::store(session, &record, auth.expiring()).await?;
    Ok(redirect(&auth.device_code_path()))
}

/// The Device Code page: shows the code, and each time it (re)loads, asks the provider at most
/// once per interval whether the user has signed in.
#[tracing::instrument(
    name = "device",
    level = "debug",
    skip_all,
    fields(flow = "device_poll")
)]
pub(crate) async fn poll(auth: &Auth, session: &Session) -> Result<Response, Error> {
    let mut record = session::load_with_tokens(session, auth.sealer()).await?;
    let Some(device) = record.device.clone() else {
        if record.user.is_some() {
            return Ok(redirect(&auth.home()));
        }
        return Err(Error::UnknownState);
    };
    let now = auth.clock().now();
    if now >= device.expires_at {
        record.device = None;
        session::store(session, &record, auth.expiring()).await?;
        return Err(Error::Provider {
            error: "expired_token".into(),
            description: "The code expired before it was used.".into(),
        });
    }
    if now < device.next_poll {
        return Ok(page(auth, &device, device.next_poll - now));
    }
    let Some(device_code) = open_code(auth, &device) else {
        // Sealed under a key no longer configured (or plain where one is now): start over.
        record.device = None;
        session::store(session, &record, auth.expiring()).await?;
        return Err(Error::Expired);
    };
    let meta = auth.provider().metadata().await?;
    let token_url = meta.token_endpoint()?.as_str().to_owned();
    let mut form = vec![
        ("grant_type".to_owned(), DEVICE_GRANT.to_owned()),
        ("device_code".to_owned(), device_code),
    ];
    if let Some(claims) = auth.client().claims_param(None) {
        form.push(("claims".to_owned(), claims));
    }
    let (status, body, summary) = auth
        .client()
        .post_form(auth.provider(), &meta, &token_url, form, Flow::DeviceCode)
        .await?;
    if !status.is_success() {
        let error: TokenError = serde_json::from_slice(&body).map_err(|_| {
            Error::token_endpoint(format!(
                "{}: the token endpoint's error answer is unreadable ({summary})",
                Flow::DeviceCode
            ))
        })?;
        let mut pending = device.clone();
        match error.error.as_str() {
            "authorization_pending" => {}
            // RFC 8628 §3.5: every slow_down adds five seconds to the interval, for good.
            "slow_down" => pending.interval += 5,
            code => {
                record.device = None;
                session::store(session, &record, auth.expiring()).await?;
                if refusal_fix(code, Flow::DeviceCode).is_some() {
                    return Err(error_answer(
                        code,
                        error.error_description.as_deref(),
                        Flow::DeviceCode,
                    ));
                }
                return Err(Error::Provider {
                    error: error.error,
                    description: error.error_description.unwrap_or_default(),
                });
            }
        }
        pending.next_poll = now + pending.interval;
        let wait = pending.interval;
        record.device = Some(pending.clone());
        session::store(session, &record, auth.expiring()).await?;
        return Ok(page(auth, &pending, wait));
    }
    let response = parse_token_response(&body, Flow::DeviceCode)?;
    // The Device Code flow has no nonce to compare: the device code itself, sent only from
    // this server to the token endpoint, binds the answer to this sign-in.
    let claims = id_token::claims_from(
        auth.client(),
        auth.provider(),
        meta,
        &response,
        &NoNonce,
        auth.time_rules(),
    )
    .await?;
    let authenticated =
        step_up::check_new_token(None, &claims, auth.clock().now(), 0).unwrap_or_default();
    complete_sign_in(
        auth,
        session,
        record,
        Completed {
            response: &response,
            claims,
            asked: &device.scopes,
            next: &device.next,
            method: SignInMethod::DeviceCode,
            authenticated,
        },
    )
    .await
}

/// What a sealed device code is bound to: its sign-in, by the code the user sees.
fn seal_context(user_code: &str) -> Vec<u8> {
    format!("axum-identity device code\n{user_code}").into_bytes()
}

/// The device code of a pending sign-in, opened when it was sealed.
fn open_code(auth: &Auth, device: &PendingDevice) -> Option<String> {
    match (device.sealed, auth.sealer().is_on()) {
        (false, false) => Some(device.device_code.clone()),
        (true, true) => auth
            .sealer()
            .open(&device.device_code, &seal_context(&device.user_code))
            .and_then(|plain| String::from_utf8(plain).ok()),
        _ => None,
    }
}

/// The page with the button that starts a Device Code sign-in, with the same `next` and
/// scopes as the request.
fn start_page(auth: &Auth, next: &str, scopes: &[String]) -> Response {
    let next = auth.return_path(next);
    let scope = scopes.join(" ");
    let mut fields = vec![("next", next.as_str())];
    if !scope.is_empty() {
        fields.push(("scope", scope.as_str()));
    }
    let html = auth.pages().device_code_start(&DeviceCodeStartPage {
        app_name: &auth.settings().app_name,
        action: auth.login_path(),
        fields: &fields,
    });
    library_page(axum::http::StatusCode::OK, html)
}

fn page(auth: &Auth, device: &PendingDevice, refresh: i64) -> Response {
    let refresh = refresh.clamp(1, 60);
    let html = auth.pages().device_code(&DeviceCodePage {
        app_name: &auth.settings().app_name,
        user_code: &device.user_code,
        verification_uri: &device.verification_uri,
        verification_uri_complete: device.verification_uri_complete.as_deref(),
        expires_in: (device.expires_at - auth.clock().now()).max(0) as u64,
        refresh_seconds: refresh as u64,
    });
    let mut response = library_page(axum::http::StatusCode::OK, html);
    // Besides the page's own meta refresh: a browser reloads the page by itself until the
    // sign-in completes, with no JavaScript.
    if let Ok(value) = HeaderValue::from_str(&refresh.to_string()) {
        response.headers_mut().insert(header::REFRESH, value);
    }
    response
}
