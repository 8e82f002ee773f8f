use openidconnect::core::CoreTokenResponse;
use serde_json::json;

use super::*;

fn response(value: serde_json::Value) -> CoreTokenResponse {
    serde_json::from_value(value).unwrap()
}

#[test]
fn grant_errors_send_the_user_to_sign_in_and_others_are_the_providers() {
    for code in [
        "invalid_grant",
        "invalid_scope",
        "consent_required",
        "interaction_required",
        "login_required",
    ] {
        assert!(
            matches!(
                error_answer(code, None, Flow::SignIn),
                Error::InvalidGrant(_)
            ),
            "{code}"
        );
    }
    let other = error_answer("server_error", Some("try later"), Flow::Refresh);
    assert!(
        matches!(&other, Error::TokenEndpoint { detail, .. } if detail == "token refresh: server_error: try later"),
        "{other:?}"
    );
    assert_eq!(other.status(), 502);
}

#[test]
fn configuration_refusals_are_configuration_errors_naming_the_setting() {
    for (code, setting) in [
        ("invalid_client", "CLIENT_SECRET"),
        ("unauthorized_client", "TOKEN_ENDPOINT_AUTH_METHOD"),
        ("unsupported_grant_type", "grant types"),
    ] {
        let error = error_answer(code, Some("the provider's words"), Flow::SignIn);
        assert!(
            matches!(error, Error::Config(ConfigError::Refused { .. })),
            "{code}: {error:?}"
        );
        assert_eq!(error.status(), 500, "{code}");
        assert!(!error.can_sign_in_again(), "{code}");
        assert_eq!(
            error.public_message(),
            "The application's sign-in is not configured correctly."
        );
        let logged = error.chain();
        assert!(logged.starts_with("sign-in: "), "{logged}");
        assert!(logged.contains(setting), "{code}: {logged}");
        assert!(
            logged.contains(&format!("{code}: the provider's words")),
            "{logged}"
        );
        assert!(!logged.contains("REDIRECT_URI"), "{logged}");
    }
}

#[test]
fn a_device_code_refusal_names_the_missing_redirect_uri() {
    let error = error_answer("unauthorized_client", None, Flow::DeviceCode);
    let logged = error.chain();
    assert!(logged.contains("REDIRECT_URI is not set"), "{logged}");
    assert_eq!(error.status(), 500);
}

#[test]
fn an_untrusted_certificate_is_a_configuration_error() {
    #[derive(Debug, thiserror::Error)]
    #[error("invalid peer certificate: UnknownIssuer")]
    struct Tls;
    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Send(#[source] Tls);
    let error = transport_error(Flow::SignIn, "POST /token", Send(Tls));
    assert_eq!(error.status(), 500);
    assert!(error.chain().contains("SSL_CERT_FILE"), "{}", error.chain());
    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;
    let error = transport_error(Flow::Refresh, "POST /token", Refused);
    assert_eq!(error.status(), 503);
    assert!(
        error
            .chain()
            .starts_with("the identity provider is unavailable: token refresh: POST /token"),
        "{}",
        error.chain()
    );
}

#[test]
fn an_unreadable_answer_is_logged_with_its_status_and_first_characters() {
    let summary = AnswerSummary::new(
        reqwest::StatusCode::INTERNAL_SERVER_ERROR,
        &reqwest::header::HeaderMap::new(),
        b"<html>oops",
    );
    let error = with_answer(
        parse_token_response(b"<html>oops", Flow::SignIn).unwrap_err(),
        Some(&summary),
    );
    let logged = error.chain();
    assert!(
        logged.contains("sign-in: the token response is unreadable"),
        "{logged}"
    );
    assert!(
        logged.contains(
            "HTTP 500 Internal Server Error, content type none, body starts \"<html>oops\""
        ),
        "{logged}"
    );
    assert_eq!(error.status(), 502);
}

#[test]
fn an_answer_with_a_malformed_id_token_is_a_rejected_token() {
    let body = br#"{"access_token":"a","token_type":"Bearer","id_token":"not.a-jwt"}"#;
    assert!(matches!(
        parse_token_response(body, Flow::SignIn),
        Err(Error::InvalidToken(_))
    ));
}

#[test]
fn an_unreadable_answer_is_the_providers_failure() {
    for body in [&b"<html>"[..], br#"{"token_type":"Bearer"}"#] {
        let error = parse_token_response(body, Flow::SignIn).unwrap_err();
        assert!(
            matches!(
                error,
                Error::TokenEndpoint {
                    source: Some(_),
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

#[test]
fn granted_scopes_leave_the_openid_scopes_out() {
    let granted = response(json!({
        "access_token": "a", "token_type": "Bearer",
        "scope": "openid User.Read offline_access Mail.Read profile"
    }));
    assert_eq!(
        granted_scopes(&granted, &[], &[], false),
        vec!["Mail.Read", "User.Read"]
    );
    // Microsoft's rule holds even for OpenID scopes a handler asked for.
    let asked = vec!["openid".to_owned(), "Mail.Read".to_owned()];
    assert_eq!(
        granted_scopes(&granted, &asked, &[], false),
        vec!["Mail.Read", "User.Read"]
    );
}

#[test]
fn at_other_providers_the_openid_scopes_asked_for_are_kept() {
    let granted = response(json!({
        "access_token": "a", "token_type": "Bearer",
        "scope": "openid api.read offline_access profile"
    }));
    let asked = vec!["openid".to_owned(), "api.read".to_owned()];
    assert_eq!(
        granted_scopes(&granted, &asked, &[], true),
        vec!["api.read", "openid"]
    );
    // Those not asked for explicitly (the sign-in's own) still name no token.
    assert_eq!(
        granted_scopes(&granted, &["api.read".to_owned()], &[], true),
        vec!["api.read"]
    );
}

#[test]
fn no_scope_in_the_answer_means_what_was_asked() {
    let silent = response(json!({"access_token": "a", "token_type": "Bearer"}));
    let asked = vec!["b".to_owned(), "a".to_owned()];
    assert_eq!(
        granted_scopes(&silent, &asked, &["a".to_owned()], false),
        vec!["a", "b"]
    );
}

#[test]
fn a_token_is_cached_with_its_lifetime() {
    let answer = response(json!({"access_token": "a", "token_type": "bearer", "expires_in": 60}));
    let token = cached_token(&answer, vec!["s".into()], 1000).unwrap();
    assert_eq!((token.obtained_at, token.expires_at), (1000, 1060));
    assert_eq!(token.token_type, "Bearer");
}

#[test]
fn empty_tokens_and_tokens_for_no_api_are_not_cached() {
    let empty = response(json!({"access_token": "", "token_type": "Bearer"}));
    assert!(cached_token(&empty, vec!["s".into()], 0).is_none());
    let any = response(json!({"access_token": "a", "token_type": "Bearer"}));
    assert!(cached_token(&any, vec![], 0).is_none());
}

#[test]
fn without_expires_in_a_jwt_says_its_lifetime_and_an_opaque_token_gets_five_minutes() {
    let opaque = response(json!({"access_token": "a", "token_type": "Bearer"}));
    assert_eq!(
        cached_token(&opaque, vec!["s".into()], 1000)
            .unwrap()
            .expires_at,
        1300
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwt = format!(
        "{}.{}.sig",
        b64.encode(br#"{"alg":"RS256","typ":"at+jwt"}"#),
        b64.encode(br#"{"exp":1900}"#)
    );
    let jwt = response(json!({"access_token": jwt, "token_type": "Bearer"}));
    assert_eq!(
        cached_token(&jwt, vec!["s".into()], 1000)
            .unwrap()
            .expires_at,
        1900
    );
}

#[test]
fn an_empty_error_answer_is_logged_with_its_status_and_flow() {
    let error: RequestTokenError<std::io::Error, StandardErrorResponse<CoreErrorResponseType>> =
        RequestTokenError::Other("server returned empty error response".into());
    let summary = AnswerSummary::new(
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        &reqwest::header::HeaderMap::new(),
        b"",
    );
    let error = token_error(error, Flow::Refresh, Some(summary));
    let logged = error.chain();
    assert!(
        logged.contains(
            "token refresh: server returned empty error response (HTTP 503 Service Unavailable"
        ),
        "{logged}"
    );
    assert_eq!(error.status(), 502);
}
