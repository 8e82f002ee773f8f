//! Checks of single settings: each turns a raw value into a checked one or a [`ConfigError`]
//! naming its setting.

use url::Url;

use crate::core::error::{ConfigError, Setting};
use crate::core::params::TokenEndpointAuthMethod;
use crate::core::return_path::safe_return_path;
use crate::oidc::authority::{Authority, B2cNameError, is_loopback};
use crate::oidc::credential::Credential;
use crate::store::seal::Sealer;

/// The B2C tenant, from which each user flow's authority is made.
pub(crate) struct B2c<'a> {
    pub(crate) tenant: Option<&'a str>,
}

impl B2c<'_> {
    pub(crate) fn authority(
        &self,
        flow: Option<&str>,
        setting: Setting,
    ) -> Result<Option<String>, ConfigError> {
        let (Some(tenant), Some(flow)) = (self.tenant, flow) else {
            return Ok(None);
        };
        Authority::b2c_url(tenant, flow)
            .map(Some)
            .map_err(|which| match which {
                B2cNameError::Tenant => ConfigError::invalid(
                    Setting::B2cTenantName,
                    format!("`{tenant}` is not a tenant name like `contoso`"),
                ),
                B2cNameError::UserFlow => ConfigError::invalid(
                    setting,
                    format!("`{flow}` is not a user flow name like `B2C_1_signupsignin1`"),
                ),
            })
    }
}

pub(crate) fn parse_redirect_uri(raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::invalid(Setting::RedirectUri, reason);
    let url = Url::parse(raw.trim()).map_err(|e| invalid(format!("`{raw}` is not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => {
            return Err(invalid(format!(
                "`{raw}` must be https (plain http is allowed for localhost only)"
            )));
        }
    }
    if url.fragment().is_some() || url.query().is_some() {
        return Err(invalid(format!(
            "`{raw}` must not have a query or fragment"
        )));
    }
    if url.path() == "/" {
        return Err(invalid(format!(
            "`{raw}` needs a path of its own for the callback, such as /redirect"
        )));
    }
    Ok(url)
}

pub(crate) fn check_path(
    setting: Setting,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let path = value.unwrap_or_else(|| default.to_owned());
    let ok = path.starts_with('/')
        && path.len() > 1
        && !path.contains(['?', '#', '{', '}', '*', ':'])
        && safe_return_path(&path) == path;
    if ok {
        Ok(path)
    } else {
        Err(ConfigError::invalid(
            setting,
            format!("`{path}` must be a plain absolute path such as `{default}`"),
        ))
    }
}

/// The application's root path (`APPLICATION_ROOT`): `""` for none (unset, `""` or `/`),
/// otherwise a plain path without its trailing slash, such as `/app`. Plain: segments of
/// letters, digits and `-._~!$&'()+,;=@`, no dot segments, no percent-encoding, so a request
/// path under it reads the same raw and decoded.
pub(crate) fn check_root(value: Option<String>) -> Result<String, ConfigError> {
    let raw = value.unwrap_or_default();
    let root = raw.trim().trim_end_matches('/');
    if root.is_empty() {
        return Ok(String::new());
    }
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()+,;=@".contains(&b))
    };
    match root.strip_prefix('/') {
        Some(segments) if segments.split('/').all(plain) => Ok(root.to_owned()),
        _ => Err(ConfigError::invalid(
            Setting::ApplicationRoot,
            format!("`{raw}` must be a plain absolute path such as `/app`"),
        )),
    }
}

/// The token encryption keys: the current one, then older ones that still open what they sealed.
pub(crate) fn check_token_keys(
    current: Option<&str>,
    older: &[String],
) -> Result<Sealer, ConfigError> {
    if current.is_none() && !older.is_empty() {
        return Err(ConfigError::missing(
            Setting::TokenEncryptionKey,
            Some("TOKEN_DECRYPTION_KEYS is set"),
        ));
    }
    Sealer::from_base64(current.into_iter().chain(older.iter().map(String::as_str))).map_err(|_| {
        ConfigError::invalid(
            Setting::TokenEncryptionKey,
            "each key must be the base64 of 32 bytes (`openssl rand -base64 32`)",
        )
    })
}

/// The authority: a Microsoft one (`authority`) or any OpenID provider (`oidc_authority`),
/// exactly one of them.
pub(crate) fn check_authority(
    authority: Option<String>,
    oidc_authority: Option<String>,
) -> Result<Authority, ConfigError> {
    match (authority, oidc_authority) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict {
            first: Setting::Authority,
            second: Setting::OidcAuthority,
            reason: "set AUTHORITY for Microsoft authorities, OIDC_AUTHORITY for any other provider",
        }),
        (Some(url), None) => Authority::microsoft(&url)
            .map_err(|reason| ConfigError::invalid(Setting::Authority, reason)),
        (None, Some(url)) => Authority::oidc(&url)
            .map_err(|reason| ConfigError::invalid(Setting::OidcAuthority, reason)),
        (None, None) => Err(ConfigError::missing(
            Setting::Authority,
            Some("or OIDC_AUTHORITY for any other OpenID provider"),
        )),
    }
}

/// The application's HTTP client, or the default one with `timeout` (10 seconds unless set).
pub(crate) fn check_http_client(
    client: Option<reqwest::Client>,
    timeout: Option<std::time::Duration>,
) -> Result<reqwest::Client, ConfigError> {
    match client {
        Some(client) => Ok(client),
        None => {
            crate::core::http::default_client(timeout.unwrap_or(std::time::Duration::from_secs(10)))
                .map_err(|e| ConfigError::invalid(Setting::HttpTimeout, e.to_string()))
        }
    }
}

/// A cookie name: an RFC 6265 token.
pub(crate) fn check_cookie_name(name: String) -> Result<String, ConfigError> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(ConfigError::invalid(
            Setting::CookieName,
            format!("`{name}` is not a cookie name"),
        ));
    }
    Ok(name)
}

/// The configured token endpoint authentication method, checked against the credential.
pub(crate) fn check_auth_method(
    method: Option<Result<TokenEndpointAuthMethod, String>>,
    credential: &Credential,
) -> Result<Option<TokenEndpointAuthMethod>, ConfigError> {
    let invalid = |reason: String| ConfigError::invalid(Setting::TokenEndpointAuthMethod, reason);
    let method = match method {
        None => return Ok(None),
        Some(Err(reason)) => return Err(invalid(reason)),
        Some(Ok(method)) => method,
    };
    let fits = match method {
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost => {
            matches!(credential, Credential::Secret(_))
        }
        TokenEndpointAuthMethod::PrivateKeyJwt => {
            matches!(
                credential,
                Credential::Key(_) | Credential::AssertionFile(_) | Credential::ManagedIdentity(_)
            )
        }
    };
    if !fits {
        let needs = match method {
            TokenEndpointAuthMethod::PrivateKeyJwt => "CLIENT_CERTIFICATE (a client key)",
            _ => "CLIENT_SECRET",
        };
        return Err(invalid(format!("`{}` needs {needs}", method.as_str())));
    }
    Ok(Some(method))
}

/// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
pub(crate) fn check_resources(resources: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for resource in &resources {
        let absolute = Url::parse(resource).is_ok_and(|url| url.fragment().is_none());
        if !absolute || resource.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                Setting::Resource,
                format!("`{resource}` is not an absolute URI without a fragment (RFC 8707)"),
            ));
        }
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_with_a_path_of_their_own() {
        assert!(parse_redirect_uri("https://app.example/redirect").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:5000/redirect").is_ok());
        assert!(parse_redirect_uri("http://app.example/redirect").is_err());
        assert!(parse_redirect_uri("https://app.example/").is_err());
        assert!(parse_redirect_uri("https://app.example/r?x=1").is_err());
        assert!(parse_redirect_uri("https://app.example/r#f").is_err());
        assert!(parse_redirect_uri("not a url").is_err());
    }

    #[test]
    fn paths_are_plain_and_local() {
        assert_eq!(
            check_path(Setting::LoginPath, None, "/login").unwrap(),
            "/login"
        );
        for bad in ["login", "/", "//evil", "/a?b", "/{id}", "/a:b"] {
            assert!(
                check_path(Setting::LoginPath, Some(bad.into()), "/login").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn application_roots_are_plain_paths_without_a_trailing_slash() {
        for (raw, root) in [
            (None, ""),
            (Some(""), ""),
            (Some("/"), ""),
            (Some("/app"), "/app"),
            (Some("/app/"), "/app"),
            (Some(" /team/app/ "), "/team/app"),
        ] {
            assert_eq!(check_root(raw.map(str::to_owned)).unwrap(), root, "{raw:?}");
        }
        for bad in [
            "app",
            "//app",
            "/a//b",
            "/app/..",
            "/./app",
            "/a%2fb",
            "/a?b",
            "/a#b",
            "/{id}",
            "/a:b",
            "/a b",
            "/a\\b",
            "https://x/app",
        ] {
            assert!(check_root(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn b2c_names_are_plain_identifiers() {
        let b2c = B2c {
            tenant: Some("contoso"),
        };
        assert_eq!(
            b2c.authority(Some("B2C_1_susi"), Setting::B2cSignupSigninUserFlow)
                .unwrap()
                .as_deref(),
            Some("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi")
        );
        let error = b2c
            .authority(Some("a/b"), Setting::B2cEditProfileUserFlow)
            .unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                setting: Setting::B2cEditProfileUserFlow,
                ..
            }
        ));
        let bad_tenant = B2c {
            tenant: Some("evil.example/x"),
        };
        let error = bad_tenant
            .authority(Some("f"), Setting::B2cSignupSigninUserFlow)
            .unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                setting: Setting::B2cTenantName,
                ..
            }
        ));
        assert_eq!(
            B2c { tenant: None }
                .authority(Some("f"), Setting::B2cSignupSigninUserFlow)
                .unwrap(),
            None
        );
    }

    #[test]
    fn cookie_names_are_tokens() {
        assert!(check_cookie_name("__Host-app.sid".into()).is_ok());
        assert!(check_cookie_name("a b".into()).is_err());
        assert!(check_cookie_name("a;b".into()).is_err());
        assert!(check_cookie_name(String::new()).is_err());
    }
}
