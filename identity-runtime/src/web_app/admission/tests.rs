use std::time::Duration;

use serde_json::json;

use super::*;

fn claims(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn event(value: Value) -> SignInEvent {
    SignInEvent {
        user: User::from_claims(claims(value)),
        access_token: None,
        scopes: Vec::new(),
        method: SignInMethod::AuthorizationCode,
        provider: String::new(),
    }
}

fn lists(tenants: &[&str], domains: &[&str], microsoft: bool) -> AllowList {
    AllowList::new(
        tenants.iter().map(|t| t.to_string()).collect(),
        domains.iter().map(|d| d.to_string()).collect(),
        microsoft,
    )
    .unwrap()
}

#[test]
fn tenants_are_compared_without_case() {
    let allow = lists(&["72F988BF-86F1-41AF-91AB-2D7CD011DB47"], &[], true);
    assert!(
        allow
            .check(&claims(
                json!({"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"})
            ))
            .is_ok()
    );
    for other in [json!({"tid": "another"}), json!({}), json!({"tid": 7})] {
        let refused = allow.check(&claims(other)).unwrap_err();
        assert!(matches!(refused, Error::SignInDenied(_)), "{refused}");
        assert_eq!(refused.status(), 403);
    }
}

#[test]
fn only_verified_email_addresses_count() {
    let allow = lists(&[], &["Contoso.com", "@fabrikam.com"], false);
    assert!(
        allow
            .check(&claims(
                json!({"email": "ada@CONTOSO.com", "email_verified": true})
            ))
            .is_ok()
    );
    assert!(
        allow
            .check(&claims(
                json!({"email": "bo@fabrikam.com", "email_verified": "true"})
            ))
            .is_ok()
    );
    for refused in [
        json!({"email": "ada@contoso.com"}),
        json!({"email": "ada@contoso.com", "email_verified": false}),
        json!({"email": "ada@evil.com", "email_verified": true}),
        json!({"email": "ada@sub.contoso.com", "email_verified": true}),
        json!({"email": "contoso.com", "email_verified": true}),
        json!({"email_verified": true}),
        // Entra's verified-domain claim counts only for an Entra authority.
        json!({"email": "ada@contoso.com", "xms_edov": true}),
    ] {
        assert!(allow.check(&claims(refused.clone())).is_err(), "{refused}");
    }
    let entra = lists(&[], &["contoso.com"], true);
    assert!(
        entra
            .check(&claims(
                json!({"email": "ada@contoso.com", "xms_edov": true})
            ))
            .is_ok()
    );
    assert!(
        entra
            .check(&claims(
                json!({"email": "ada@contoso.com", "xms_edov": false})
            ))
            .is_err()
    );
}

#[test]
fn bad_lists_name_their_setting() {
    let err = AllowList::new(vec!["a b".into()], vec![], false).unwrap_err();
    assert!(err.to_string().contains("ALLOWED_TENANTS"), "{err}");
    for bad in ["", "localhost", "a@b.com", "exa mple.com"] {
        let err = AllowList::new(vec![], vec![bad.into()], false).unwrap_err();
        assert!(
            err.to_string().contains("ALLOWED_EMAIL_DOMAINS"),
            "{bad}: {err}"
        );
    }
}

fn admission<F, Fut>(f: F, timeout: Duration) -> Admission
where
    F: Fn(SignInEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SignInDecision, BoxError>> + Send + 'static,
{
    Admission {
        allow: AllowList::default(),
        hook: Some(hook(f)),
        timeout,
    }
}

#[tokio::test]
async fn the_hook_allows_with_data_or_denies_with_a_reason() {
    let admitted = admission(
        |event: SignInEvent| async move {
            let sub = event.user.subject().to_owned();
            Ok(SignInDecision::allow().with_data("app_user", format!("{sub}-local")))
        },
        DEFAULT_HOOK_TIMEOUT,
    );
    let data = admitted.admit(event(json!({"sub": "u1"}))).await.unwrap();
    assert_eq!(data.get("app_user"), Some(&json!("u1-local")));

    let denying = admission(
        |_| async { Ok(SignInDecision::deny("Suspended.")) },
        DEFAULT_HOOK_TIMEOUT,
    );
    let refused = denying
        .admit(event(json!({"sub": "u1"})))
        .await
        .unwrap_err();
    assert!(matches!(&refused, Error::SignInDenied(reason) if reason == "Suspended."));
    assert!(refused.public_message().contains("Suspended."));
}

#[tokio::test]
async fn a_failing_hook_is_a_server_error_whatever_the_way_it_fails() {
    let erring = admission(
        |_| async { Err::<SignInDecision, BoxError>("database down".into()) },
        DEFAULT_HOOK_TIMEOUT,
    );
    let failed = erring.admit(event(json!({}))).await.unwrap_err();
    assert!(matches!(&failed, Error::SignInHook(why) if why.contains("database down")));
    assert_eq!(failed.status(), 500);
    assert!(
        !failed.public_message().contains("database"),
        "the cause stays in the log"
    );

    let panicking = admission(
        |event: SignInEvent| async move {
            if !event.user.subject().is_empty() {
                panic!("a bug in the hook");
            }
            Ok(SignInDecision::allow())
        },
        DEFAULT_HOOK_TIMEOUT,
    );
    let failed = panicking
        .admit(event(json!({"sub": "x"})))
        .await
        .unwrap_err();
    assert!(matches!(&failed, Error::SignInHook(why) if why.contains("panicked")));

    let slow = admission(
        |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(SignInDecision::allow())
        },
        Duration::from_millis(50),
    );
    let failed = slow.admit(event(json!({}))).await.unwrap_err();
    assert!(matches!(&failed, Error::SignInHook(why) if why.contains("sign_in_hook_timeout")));
}

#[tokio::test]
async fn the_allow_lists_are_decided_before_the_hook_runs() {
    let mut admission = admission(
        |_| async { panic!("the hook must not run for a refused tenant") },
        DEFAULT_HOOK_TIMEOUT,
    );
    admission.allow = lists(&["t1"], &[], true);
    let refused = admission
        .admit(event(json!({"tid": "t2"})))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::SignInDenied(_)), "{refused}");
}
