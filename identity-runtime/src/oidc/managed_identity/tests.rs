use super::request::{delay, token};
use super::*;

fn resource(scopes: &[&str]) -> Result<String, ConfigError> {
    scope_to_resource(scopes)
}

#[test]
fn a_default_scope_asks_for_its_resource() {
    assert_eq!(
        resource(&["https://vault.azure.net/.default"]).unwrap(),
        "https://vault.azure.net"
    );
    assert_eq!(
        resource(&["api://AzureADTokenExchange/.default"]).unwrap(),
        "api://AzureADTokenExchange"
    );
    assert_eq!(
        resource(&["https://management.azure.com//.default"]).unwrap(),
        "https://management.azure.com/",
        "the resource keeps its own trailing slash"
    );
}

#[test]
fn other_scope_shapes_are_a_configuration_error_naming_scopes() {
    for scopes in [
        &["https://graph.microsoft.com/User.Read"][..],
        &["/.default"],
        &["openid"],
        &[],
        &[
            "https://vault.azure.net/.default",
            "https://storage.azure.com/.default",
        ],
        &["https://a b/.default"],
    ] {
        let error = resource(scopes).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    setting: Setting::Scopes,
                    ..
                }
            ),
            "{scopes:?}: {error}"
        );
        assert!(error.to_string().contains("/.default"), "{error}");
    }
}

#[test]
fn the_environment_names_the_system_identity_or_a_client_id() {
    assert_eq!("system".parse(), Ok(ManagedIdentityId::SystemAssigned));
    assert_eq!("SYSTEM".parse(), Ok(ManagedIdentityId::SystemAssigned));
    assert_eq!(
        "1b0e6a4c-4f1b-4d67-9d2a-7c3b2f1e0a9d".parse(),
        Ok(ManagedIdentityId::ClientId(
            "1b0e6a4c-4f1b-4d67-9d2a-7c3b2f1e0a9d".into()
        ))
    );
    assert!("my identity".parse::<ManagedIdentityId>().is_err());
    assert!("".parse::<ManagedIdentityId>().is_err());
}

#[test]
fn an_answer_is_checked_before_it_is_cached() {
    let now = 1_700_000_000;
    let good = format!(
        r#"{{"access_token":"eyJ.a.b","expires_on":"{}","token_type":"Bearer","resource":"r"}}"#,
        now + 3600
    );
    let token = token(good.as_bytes(), "r", now).unwrap();
    assert_eq!(token.access_token, "eyJ.a.b");
    assert_eq!(token.expires_at, now + 3600);
    assert_eq!(token.scopes, ["r/.default"]);

    let html = b"<html><body>502 Bad Gateway</body></html>";
    assert!(token_err(html, now).contains("not JSON"));
    let empty = format!(r#"{{"access_token":"","expires_on":"{}"}}"#, now + 3600);
    assert!(token_err(empty.as_bytes(), now).contains("no access token"));
    let past = format!(r#"{{"access_token":"t","expires_on":"{}"}}"#, now - 60);
    assert!(token_err(past.as_bytes(), now).contains("expired 60 seconds ago"));
    let dated = br#"{"access_token":"t","expires_on":"09/14/2017 00:00:00 PM +00:00"}"#;
    assert!(token_err(dated, now).contains("Unix seconds"));
}

fn token_err(body: &[u8], now: i64) -> String {
    token(body, "r", now).unwrap_err()
}

fn no_vars(_: &str) -> Option<String> {
    None
}

#[test]
fn app_service_asked_for_without_its_variables_names_them() {
    let error = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
        .source(ManagedIdentitySource::AppService)
        .build_with(&no_vars)
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Missing {
                setting: Setting::IdentityEndpoint,
                ..
            }
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("IDENTITY_ENDPOINT") && text.contains("IDENTITY_HEADER"),
        "{text}"
    );
}

#[test]
fn the_source_follows_the_platform_variables() {
    let app_service = |name: &str| match name {
        "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:41234/msi/token".to_owned()),
        "IDENTITY_HEADER" => Some("header-secret-value".to_owned()),
        _ => None,
    };
    let identity = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
        .build_with(&app_service)
        .unwrap();
    assert_eq!(identity.source(), ManagedIdentitySource::AppService);
    let debug = format!("{identity:?}");
    assert!(!debug.contains("header-secret-value"), "{debug}");

    let imds = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
        .build_with(&no_vars)
        .unwrap();
    assert_eq!(imds.source(), ManagedIdentitySource::Imds);
    assert!(format!("{imds:?}").contains("http://169.254.169.254/metadata/identity/oauth2/token"));

    let pod = |name: &str| {
        (name == "AZURE_POD_IDENTITY_AUTHORITY_HOST").then(|| "http://127.0.0.1:2020/".to_owned())
    };
    let pod = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
        .build_with(&pod)
        .unwrap();
    assert!(format!("{pod:?}").contains("http://127.0.0.1:2020/metadata/identity/oauth2/token"));
}

#[test]
fn retries_back_off_exponentially_and_retry_after_stays_bounded() {
    let retry = Retry {
        max_retries: 3,
        first_delay: Duration::from_secs(1),
    };
    let waits: Vec<u64> = (0..3).map(|a| delay(retry, a, None).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4], "Microsoft's 1 s, 2 s, 4 s");
    // A longer Retry-After is honoured up to the longest step, a shorter one never shortens.
    assert_eq!(
        delay(retry, 0, Some(Duration::from_secs(3))),
        Duration::from_secs(3)
    );
    assert_eq!(
        delay(retry, 0, Some(Duration::from_secs(3600))),
        Duration::from_secs(4)
    );
    assert_eq!(
        delay(retry, 2, Some(Duration::ZERO)),
        Duration::from_secs(4)
    );
}
