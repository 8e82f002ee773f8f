use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::*;

fn parts(authorization: &[&str]) -> Parts {
    let mut request = Request::builder().uri("/resource");
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    request.body(()).unwrap().into_parts().0
}

fn realm() -> Realm {
    Realm::from("api")
}

#[test]
fn the_bearer_token_is_read_from_one_authorization_header() {
    let p = parts(&["Bearer abc.def-_~+/.ghi=="]);
    assert_eq!(bearer_token(&p, &realm()).unwrap(), "abc.def-_~+/.ghi==");
    let p = parts(&["bearer  abc"]);
    assert_eq!(bearer_token(&p, &realm()).unwrap(), "abc");
    for (headers, status) in [
        (&[][..], 401),
        (&["Basic dXNlcjpwYXNz"][..], 401),
        (&["Bearer"][..], 400),
        (&["Bearer "][..], 400),
        (&["Bearer a b"][..], 400),
        (&["Bearer a\"b"][..], 400),
        (&["Bearer a", "Bearer b"][..], 400),
    ] {
        let p = parts(headers);
        let rejection = bearer_token(&p, &realm()).unwrap_err();
        assert_eq!(rejection.status(), status, "{headers:?}");
    }
    let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
    assert_eq!(
        bearer_token(&parts(&[&long]), &realm())
            .unwrap_err()
            .status(),
        400
    );
}

fn challenge(rejection: ApiRejection) -> (u16, String, Value) {
    let response = rejection.into_response();
    let status = response.status().as_u16();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = futures_body(response);
    (status, challenge, body)
}

fn futures_body(response: Response) -> Value {
    let bytes = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn answers_follow_rfc_6750() {
    let (status, www, body) = challenge(ApiRejection::MissingToken { realm: realm() });
    assert_eq!((status, www.as_str()), (401, "Bearer realm=\"api\""));
    assert_eq!(body["error"], "unauthorized");

    let (status, www, body) = challenge(ApiRejection::InvalidToken {
        realm: realm(),
        reason: "it expired \"badly\"\n".into(),
    });
    assert_eq!(status, 401);
    assert_eq!(
        www,
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the access token is not acceptable: it expired badly\""
    );
    assert_eq!(body["error"], "invalid_token");

    let (status, www, body) = challenge(ApiRejection::InsufficientScope {
        realm: realm(),
        required: vec!["a".into(), "b".into()],
        missing: vec!["b".into()],
    });
    assert_eq!(status, 403);
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.ends_with(", scope=\"a b\""), "{www}");
    assert_eq!(body["scope"], "a b");

    let (status, www, _) = challenge(ApiRejection::MissingRoles {
        realm: realm(),
        missing: vec!["Admin".into()],
    });
    assert_eq!(status, 403);
    assert!(www.contains("lacks the role Admin"), "{www}");

    let (status, www, body) = challenge(ApiRejection::Failed(Error::unavailable("GET /jwks")));
    assert_eq!((status, www.as_str()), (503, ""));
    assert!(
        !body["error_description"]
            .as_str()
            .unwrap()
            .contains("/jwks")
    );
}

fn claims(value: Value) -> ApiClaims {
    ApiClaims::from_claims(value.as_object().unwrap().clone())
}

#[test]
fn a_long_reason_is_cut_in_the_challenge() {
    let (_, www, _) = challenge(ApiRejection::InvalidToken {
        realm: realm(),
        reason: "x".repeat(10_000),
    });
    assert!(www.len() < 400, "{}", www.len());
}

#[test]
fn app_only_tokens_are_told_apart() {
    assert!(claims(json!({"idtyp": "app", "sub": "s"})).is_app_only());
    assert!(!claims(json!({"idtyp": "user", "sub": "s", "oid": "s"})).is_app_only());
    assert!(claims(json!({"sub": "daemon", "client_id": "daemon"})).is_app_only());
    assert!(!claims(json!({"sub": "alice", "client_id": "web", "scope": "a"})).is_app_only());
    assert!(claims(json!({"sub": "sp", "oid": "sp", "roles": ["R"]})).is_app_only());
    assert!(!claims(json!({"sub": "pairwise", "oid": "o", "scp": "a"})).is_app_only());
    let c = claims(json!({"azp": "web", "appid": "v1", "scp": "a b", "roles": ["R"]}));
    assert_eq!(c.client_id(), Some("web"));
    assert_eq!(c.scopes(), ["a", "b"]);
    assert_eq!(c.roles(), ["R"]);
}

#[test]
fn scopes_and_roles_are_all_required() {
    let context = ApiContext {
        claims: claims(json!({"scp": "a b", "roles": ["R1"]})),
        realm: realm(),
        downstream: None,
    };
    assert!(context.require_scopes(&["a", "b"]).is_ok());
    assert!(matches!(
        context.require_scopes(&["a", "c"]),
        Err(ApiRejection::InsufficientScope { missing, .. }) if missing == ["c"]
    ));
    assert!(context.require_roles(&["R1"]).is_ok());
    assert!(matches!(
        context.require_roles(&["R1", "R2"]),
        Err(ApiRejection::MissingRoles { missing, .. }) if missing == ["R2"]
    ));
}

#[test]
fn an_interaction_requirement_is_a_403_with_the_providers_claims_challenge() {
    let error = Error::InteractionRequired {
        detail: "interaction_required: AADSTS50076: use multi-factor authentication".into(),
        claims: Some(r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#.into()),
    };
    let expected = error.www_authenticate().unwrap();
    let rejection = ApiRejection::InteractionRequired {
        challenge: expected.clone(),
        error,
    };
    assert_eq!(rejection.status(), 403);
    let (status, www, body) = challenge(rejection);
    assert_eq!((status, www), (403, expected));
    assert_eq!(body["error"], "insufficient_claims");
    assert!(
        !body["error_description"]
            .as_str()
            .unwrap()
            .contains("AADSTS"),
        "{body}"
    );

    let consent = Error::InteractionRequired {
        detail: "consent_required".into(),
        claims: None,
    };
    let (status, www, body) = challenge(ApiRejection::InteractionRequired {
        challenge: consent.www_authenticate().unwrap(),
        error: consent,
    });
    assert_eq!(
        (status, www.as_str()),
        (403, "Bearer error=\"insufficient_scope\"")
    );
    assert_eq!(body["error"], "interaction_required");
}

#[test]
fn a_token_on_behalf_of_the_caller_needs_a_downstream_client() {
    let context = ApiContext::new(claims(json!({"sub": "alice", "scp": "a"})));
    let rejection = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(context.token_on_behalf_of(&["api://downstream/.default"]))
        .unwrap_err();
    assert!(
        matches!(&rejection, ApiRejection::Failed(Error::Setup(why)) if why.contains("downstream_client")),
        "{rejection:?}"
    );
    assert_eq!(rejection.status(), 500);
}

#[test]
fn the_incoming_token_is_not_in_a_contexts_debug_output() {
    let client = Auth::builder()
        .client_id("api")
        .client_secret("secret")
        .oidc_authority("http://127.0.0.1:9")
        .build()
        .unwrap();
    let context = ApiContext {
        claims: claims(json!({"sub": "alice"})),
        realm: realm(),
        downstream: Some((Arc::from("eyJ.the-incoming-token.sig"), client)),
    };
    let debug = format!("{context:?}");
    assert!(!debug.contains("the-incoming-token"), "{debug}");
    assert!(debug.contains("alice"), "{debug}");
}
