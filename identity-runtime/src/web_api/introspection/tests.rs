use serde_json::json;

use super::*;
use crate::oidc::authority::{Authority, IssuerRule};

const ISSUER: &str = "http://127.0.0.1:9";
const NOW: i64 = 1_000_000;

fn provider() -> Provider {
    Provider::new(
        Authority::oidc(ISSUER).unwrap(),
        crate::core::http::default_client(Duration::from_secs(1)).unwrap(),
        Duration::from_secs(60),
    )
}

fn policy() -> Policy {
    Policy {
        audiences: vec!["api".into(), "https://orders.example/api".into()],
        tenants: None,
        leeway: 30,
        require_at_jwt: false,
    }
}

fn checked(answer: serde_json::Value) -> Result<i64, String> {
    let answer = answer.as_object().unwrap().clone();
    check(
        &provider(),
        &IssuerRule::Exact(ISSUER.into()),
        &policy(),
        &answer,
        NOW,
    )
    .map_err(|rejected| match rejected {
        Rejected::Invalid(reason) => reason.into_owned(),
        Rejected::Unavailable(error) => panic!("{error}"),
    })
}

#[test]
fn an_active_answer_is_accepted_until_its_exp() {
    let exp = NOW + 600;
    assert_eq!(
        checked(json!({"active": true, "exp": exp, "scope": "api.read"})),
        Ok(exp)
    );
    assert_eq!(
        checked(
            json!({"active": true, "exp": exp, "aud": ["other", "https://orders.example/api"], "iss": ISSUER, "sub": "alice"})
        ),
        Ok(exp)
    );
}

#[test]
fn what_a_jwt_would_be_refused_for_is_refused() {
    let exp = NOW + 600;
    for (answer, reason) in [
        (json!({"active": false}), "not active"),
        (json!({"active": "true", "exp": exp}), "not active"),
        (json!({"active": true}), "no `exp`"),
        (json!({"active": true, "exp": NOW - 31}), "expired"),
        (
            json!({"active": true, "exp": exp, "nbf": NOW + 60}),
            "not valid yet",
        ),
        (
            json!({"active": true, "exp": exp, "aud": "other"}),
            "another audience",
        ),
        (
            json!({"active": true, "exp": exp, "aud": 7}),
            "another audience",
        ),
        (
            json!({"active": true, "exp": exp, "iss": "https://other.example"}),
            "another issuer",
        ),
        (json!({"active": true, "exp": exp, "sub": 42}), "malformed"),
    ] {
        let refused = checked(answer.clone()).unwrap_err();
        assert!(refused.contains(reason), "{answer}: {refused}");
    }
}

#[test]
fn the_refusal_without_introspection_says_the_api_takes_jwts_only() {
    let Rejected::Invalid(reason) = not_a_jwt() else {
        panic!("a refusal")
    };
    assert!(
        reason.contains("validates JWT access tokens only"),
        "{reason}"
    );
}

/// A provider on loopback whose introspection endpoint counts its calls and answers every token
/// as active until `exp`, for the client `api`/`secret` only.
async fn counting(exp: i64) -> (Provider, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::{get, post};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let discovery = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "introspection_endpoint": format!("{base}/introspect"),
        "revocation_endpoint": format!("{base}/revoke"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let counter = calls.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/jwks", get(|| async { axum::Json(json!({"keys": []})) }))
        .route(
            "/introspect",
            post(move |headers: axum::http::HeaderMap| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                // Basic `api:secret`.
                let expected = "Basic YXBpOnNlY3JldA==";
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected) {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "invalid_client"})),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    axum::Json(
                        json!({"active": true, "exp": exp, "scope": "api.read", "sub": "alice"}),
                    ),
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let provider = Provider::new(
        Authority::oidc(&base).unwrap(),
        crate::core::http::default_client(Duration::from_secs(2)).unwrap(),
        Duration::from_secs(60),
    );
    (provider, calls)
}

fn introspector(secret: &str, ttl: Duration) -> Introspector {
    Introspector::new(
        Client::new(
            "api".into(),
            crate::oidc::credential::Credential::Secret(secret.into()),
            None,
        ),
        ttl,
    )
}

#[tokio::test]
async fn a_repeated_token_costs_one_provider_call_until_the_ttl_or_its_exp() {
    use std::sync::atomic::Ordering;
    let (provider, calls) = counting(NOW + 600).await;
    let introspector = introspector("secret", Duration::from_secs(60));
    for _ in 0..100 {
        let claims = introspector
            .claims(&provider, &policy(), "opaque-token", NOW)
            .await
            .unwrap_or_else(|_| panic!("accepted"));
        assert_eq!(claims["sub"], "alice");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "100 requests, one introspection"
    );
    // Past the TTL (the API's clock), the provider is asked again.
    introspector
        .claims(&provider, &policy(), "opaque-token", NOW + 61)
        .await
        .unwrap_or_else(|_| panic!("accepted"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Another token is another question.
    introspector
        .claims(&provider, &policy(), "another-token", NOW + 61)
        .await
        .unwrap_or_else(|_| panic!("accepted"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_answer_is_never_used_past_the_tokens_exp() {
    use std::sync::atomic::Ordering;
    let (provider, calls) = counting(NOW + 10).await;
    let introspector = introspector("secret", Duration::from_secs(3600));
    assert!(
        introspector
            .claims(&provider, &policy(), "t", NOW)
            .await
            .is_ok()
    );
    // Within the leeway the provider's answer still counts, but the cache entry ended at exp.
    assert!(
        introspector
            .claims(&provider, &policy(), "t", NOW + 11)
            .await
            .is_ok()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refused_credentials_are_503_naming_the_settings() {
    let (provider, _) = counting(NOW + 600).await;
    let introspector = introspector("wrong", Duration::from_secs(60));
    let Err(Rejected::Unavailable(error)) =
        introspector.claims(&provider, &policy(), "t", NOW).await
    else {
        panic!("the provider refused the API's credentials")
    };
    assert_eq!(error.status(), 503);
    let logged = error.chain();
    assert!(
        logged.contains("introspection: the provider refused the API's credentials"),
        "{logged}"
    );
    assert!(logged.contains("CLIENT_SECRET"), "{logged}");
    assert!(logged.contains("HTTP 401"), "{logged}");
}
