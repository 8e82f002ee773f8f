use std::sync::Arc;

use axum::http::StatusCode;

use super::*;

fn store_error() -> Error {
    Error::store(tower_sessions::session_store::Error::Backend("down".into()))
}

#[test]
fn each_error_has_its_status_and_title() {
    let cases: Vec<(Error, StatusCode, &str)> = vec![
        (
            Error::UnknownState,
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
        ),
        (Error::Expired, StatusCode::BAD_REQUEST, "Sign-in expired"),
        (
            Error::Provider {
                error: "access_denied".into(),
                description: String::new(),
            },
            StatusCode::BAD_REQUEST,
            "Sign-in cancelled",
        ),
        (
            Error::Provider {
                error: "server_error".into(),
                description: String::new(),
            },
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::MissingParameter("code"),
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::DuplicateParameter("code".into()),
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::Malformed("x".into()),
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::InvalidToken("x".into()),
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::InvalidGrant("x".into()),
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
        ),
        (
            Error::ScopesNotGranted(vec!["a".into()]),
            StatusCode::FORBIDDEN,
            "Permission not granted",
        ),
        (
            Error::token_endpoint("x"),
            StatusCode::BAD_GATEWAY,
            "Identity provider unavailable",
        ),
        (
            Error::unavailable("x"),
            StatusCode::SERVICE_UNAVAILABLE,
            "Identity provider unavailable",
        ),
        (
            store_error(),
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
        ),
        (
            Error::Config(ConfigError::Provider("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Configuration error",
        ),
        (
            Error::Setup("x"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Configuration error",
        ),
    ];
    for (error, status, title) in cases {
        assert_eq!(error.status(), status, "{error:?}");
        assert_eq!(error.title(), title, "{error:?}");
    }
}

#[test]
fn a_shared_refresh_failure_keeps_the_status_of_its_cause() {
    let shared = Error::Refresh(Arc::new(Error::unavailable("timed out")));
    assert_eq!(shared.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shared.title(), "Identity provider unavailable");
    let rejected = Error::Refresh(Arc::new(Error::InvalidToken("other sub".into())));
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    assert!(std::error::Error::source(&rejected).is_some());
}

#[test]
fn causes_are_kept_for_the_log_and_kept_off_the_page() {
    let cause = std::io::Error::other("connection refused");
    let error = Error::unavailable_because("GET https://idp/.well-known", cause);
    assert!(std::error::Error::source(&error).is_some());
    assert_eq!(
        error.chain(),
        "the identity provider is unavailable: GET https://idp/.well-known: connection refused"
    );
    assert!(!error.public_message().contains("refused"));
    assert!(!store_error().public_message().contains("down"));
    assert!(store_error().chain().contains("down"));
}

#[test]
fn only_setup_errors_offer_no_new_sign_in() {
    assert!(Error::UnknownState.can_sign_in_again());
    assert!(store_error().can_sign_in_again());
    assert!(!Error::Setup("x").can_sign_in_again());
    assert!(!Error::Config(ConfigError::Provider("x".into())).can_sign_in_again());
}

#[test]
fn public_messages_are_sentences() {
    let message = Error::Malformed("unknown flow `x`".into()).public_message();
    assert_eq!(
        message,
        "The sign-in response is malformed: unknown flow `x`."
    );
    let scopes = Error::ScopesNotGranted(vec!["a".into(), "b".into()]);
    assert_eq!(
        scopes.to_string(),
        "the identity provider did not grant `a`, `b`"
    );
}

#[test]
fn settings_name_their_method_and_variable() {
    assert_eq!(Setting::ClientId.variable(), Some("CLIENT_ID"));
    assert_eq!(
        Setting::B2cSignupSigninUserFlow.variable(),
        Some("SIGNUPSIGNIN_USER_FLOW")
    );
    assert_eq!(Setting::LogoutPath.variable(), None);
    assert_eq!(Setting::LogoutPath.to_string(), "`logout_path`");
    let conflict = ConfigError::Conflict {
        first: Setting::Authority,
        second: Setting::OidcAuthority,
        reason: "one or the other",
    };
    assert_eq!(
        conflict.to_string(),
        "`authority` (environment variable AUTHORITY) and `oidc_authority` (environment variable OIDC_AUTHORITY) cannot both be set: one or the other"
    );
    let missing = ConfigError::missing(
        Setting::RedirectUri,
        Some("Azure AD B2C has no Device Code flow"),
    );
    assert!(
        missing
            .to_string()
            .ends_with("is not set (Azure AD B2C has no Device Code flow)")
    );
    assert!(
        !ConfigError::invalid(Setting::Scopes, "x")
            .to_string()
            .contains("environment variable")
    );
}

#[test]
fn a_log_line_of_an_error_keeps_control_characters_escaped() {
    let error = Error::Provider {
        error: "server_error".into(),
        description: "down\r\n2026-12-01T00:00:00Z  INFO forged: signed in\u{1b}[2J".into(),
    };
    let line = error.chain();
    assert!(!line.chars().any(char::is_control), "{line:?}");
    assert!(line.contains(r"down\r\n2026-12-01"), "{line}");
    assert!(line.contains(r"\u{1b}[2J"), "{line}");
    // Plain text is left alone.
    assert_eq!(
        escape_controls("plain text: ünïcode"),
        "plain text: ünïcode"
    );
}

/// Pages say what the user can do; why a token was refused goes only to the log.
#[test]
fn no_validation_internals_on_pages() {
    for (error, internal) in [
        (
            Error::InvalidToken("Crypto error: bad signature".into()),
            "signature",
        ),
        (
            Error::InvalidToken("unexpected issuer `https://evil.example`".into()),
            "evil.example",
        ),
        (Error::InvalidToken("nonce mismatch".into()), "nonce"),
        (Error::MissingParameter("code"), "`code`"),
        (Error::DuplicateParameter("state".into()), "`state`"),
        (
            Error::InteractionRequired {
                detail: "interaction_required: AADSTS50076".into(),
                claims: None,
            },
            "AADSTS",
        ),
        (
            Error::Refresh(Arc::new(Error::InvalidToken("kid not found".into()))),
            "kid",
        ),
    ] {
        let page = error.public_message();
        assert!(!page.contains(internal), "{page}");
        assert!(error.chain().contains(internal), "{}", error.chain());
    }
}

/// An unauthenticated callback's `error_description` is shown only as the provider's message,
/// labelled so, and cut short.
#[test]
fn a_providers_description_is_labelled_as_its_words() {
    let error = Error::Provider {
        error: "access_denied".into(),
        description: "AADB2C90091: The user has cancelled entering self-asserted information."
            .into(),
    };
    assert_eq!(
        error.public_message(),
        "The sign-in was cancelled or refused. The identity provider's message (error code access_denied): \u{201c}AADB2C90091: The user has cancelled entering self-asserted information.\u{201d}"
    );
    let long = Error::Provider {
        error: "server_error".into(),
        description: "x".repeat(5000),
    };
    assert!(long.public_message().len() < 500);
    let bare = Error::Provider {
        error: "temporarily_unavailable".into(),
        description: String::new(),
    };
    assert_eq!(
        bare.public_message(),
        "The identity provider could not sign you in. (The identity provider's error code: temporarily_unavailable.)"
    );
}

#[test]
fn log_lines_name_the_flow_that_failed() {
    let refresh = Error::Refresh(Arc::new(Error::token_endpoint(
        "token refresh: server_error",
    )));
    assert_eq!(refresh.failure_label(), "token refresh failed");
    let app = Error::ClientToken(Arc::new(Error::unavailable("down")));
    assert_eq!(app.failure_label(), "app token request failed");
    let refused = Error::Refresh(Arc::new(Error::Config(ConfigError::Refused {
        flow: Flow::Refresh,
        answer: "invalid_client".into(),
        fix: "CLIENT_SECRET".into(),
    })));
    assert_eq!(
        refused.failure_label(),
        "token refresh refused: the configuration needs fixing"
    );
    assert_eq!(Error::Expired.failure_label(), "sign-in failed");
    assert_eq!(
        Error::Config(ConfigError::Provider("x".into())).failure_label(),
        "sign-in is not configured correctly"
    );
}
