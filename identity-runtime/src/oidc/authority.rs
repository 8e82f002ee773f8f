//! Which kind of provider the settings name, where its discovery document lives, and which
//! issuers its tokens may carry.
//!
//! Microsoft's authorities do not follow the "issuer equals the URL you configured" rule that
//! a generic OpenID library enforces: multi-tenant endpoints publish an issuer template with
//! `{tenantid}`, and External ID and B2C publish issuers on other hosts or paths. Each kind gets
//! its own rule here, on purpose, instead of turning issuer validation off.

use serde_json::{Map, Value};
use url::Url;

/// The kind of authority, decided once from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthorityKind {
    /// Microsoft Entra ID (`https://login.microsoftonline.com/<tenant>`).
    EntraId {
        /// The tenant segment: a GUID, a domain, `common`, `organizations` or `consumers`.
        tenant: String,
    },
    /// Microsoft Entra External ID (`https://<name>.ciamlogin.com/<tenant>`).
    ExternalId,
    /// Azure AD B2C (`https://<t>.b2clogin.com/<t>.onmicrosoft.com/<user_flow>`).
    B2c,
    /// Any OpenID provider, by its issuer URL.
    Oidc,
}

/// A configured authority.
#[derive(Debug, Clone)]
pub(crate) struct Authority {
    pub(crate) kind: AuthorityKind,
    /// The authority URL, without a trailing slash.
    pub(crate) url: String,
}

impl Authority {
    /// Whether tokens from any tenant come through it: Entra's `common` and `organizations`.
    pub(crate) fn is_multi_tenant(&self) -> bool {
        matches!(&self.kind, AuthorityKind::EntraId { tenant }
            if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations"))
    }
}

/// Which part of a B2C authority is not a plain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum B2cNameError {
    Tenant,
    UserFlow,
}

/// How the `iss` claim of a token is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssuerRule {
    /// The claim must equal this issuer exactly.
    Exact(String),
    /// Entra ID multi-tenant: the claim must equal the template with `{tenantid}` replaced by
    /// the token's own `tid` claim.
    TenantTemplate(String),
}

impl Authority {
    /// Microsoft authorities follow MSAL's habits (`offline_access` is always asked for, even
    /// where the metadata does not list it, as B2C's does not).
    pub(crate) fn is_microsoft(&self) -> bool {
        self.kind != AuthorityKind::Oidc
    }

    /// Classifies an `authority` setting (Microsoft-style: Entra ID, External ID, B2C).
    pub(crate) fn microsoft(raw: &str) -> Result<Self, String> {
        let url = parse_https_or_loopback(raw)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let mut segments = url
            .path_segments()
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty());
        let first = segments.next().map(str::to_owned);
        if !is_microsoft_host(&host) && !is_loopback(&url) {
            return Err(format!(
                "`{host}` is not a Microsoft sign-in host (login.microsoftonline.com, \
                 <name>.ciamlogin.com, <tenant>.b2clogin.com); for any other OpenID provider, or \
                 a custom domain, set OIDC_AUTHORITY to its issuer URL instead"
            ));
        }
        let kind = if host.ends_with(".ciamlogin.com") {
            AuthorityKind::ExternalId
        } else if host.ends_with(".b2clogin.com") {
            AuthorityKind::B2c
        } else {
            match first {
                Some(tenant) => AuthorityKind::EntraId { tenant },
                None => {
                    return Err(
                        "it needs a tenant, like https://login.microsoftonline.com/<tenant>".into(),
                    );
                }
            }
        };
        Ok(Authority {
            kind,
            url: trim_slash(url.as_str()),
        })
    }

    /// The authority of an Azure AD B2C user flow. Both names must be plain identifiers
    /// (letters, digits, `-`, `_`, `.`); the error says which one is not.
    pub(crate) fn b2c_url(tenant: &str, user_flow: &str) -> Result<String, B2cNameError> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        };
        if !valid(tenant) {
            return Err(B2cNameError::Tenant);
        }
        if !valid(user_flow) {
            return Err(B2cNameError::UserFlow);
        }
        Ok(format!(
            "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{user_flow}"
        ))
    }

    /// An `oidc_authority` setting: any OpenID provider, named by its issuer.
    pub(crate) fn oidc(raw: &str) -> Result<Self, String> {
        let url = parse_https_or_loopback(raw)?;
        Ok(Authority {
            kind: AuthorityKind::Oidc,
            url: trim_slash(url.as_str()),
        })
    }

    /// The environment variable that configured this authority, for error messages.
    pub(crate) fn setting_name(&self) -> &'static str {
        match self.kind {
            AuthorityKind::Oidc => "OIDC_AUTHORITY",
            AuthorityKind::B2c => "AUTHORITY (or B2C_TENANT_NAME and the user flow)",
            _ => "AUTHORITY",
        }
    }

    /// Where the discovery document lives.
    pub(crate) fn discovery_url(&self) -> String {
        match self.kind {
            AuthorityKind::Oidc => format!("{}/.well-known/openid-configuration", self.url),
            _ => format!("{}/v2.0/.well-known/openid-configuration", self.url),
        }
    }

    /// Checks the `issuer` a discovery document declares, and returns the rule for tokens.
    pub(crate) fn issuer_rule(&self, declared: &str) -> Result<IssuerRule, String> {
        let mismatch = || {
            format!(
                "the discovery document at {} declares the issuer `{declared}`, which does not belong to the authority `{}`; check {}",
                self.discovery_url(),
                self.url,
                self.setting_name()
            )
        };
        match &self.kind {
            AuthorityKind::Oidc => {
                // OpenID Connect Discovery 1.0 §4.3: the issuer must be the URL we asked —
                // except that External ID behind a custom domain keeps publishing its tenant's
                // `https://<tenant-id>.ciamlogin.com/<tenant-id>/v2.0` issuer (as MSAL accepts).
                // That exception is bound to the tenant id named in the configured URL.
                if trim_slash(declared) == self.url || self.is_ciam_issuer_of_own_tenant(declared) {
                    Ok(IssuerRule::Exact(declared.to_owned()))
                } else {
                    Err(mismatch())
                }
            }
            AuthorityKind::EntraId { .. } => {
                let same_host = host_of(declared).is_some_and(|h| Some(h) == host_of(&self.url));
                let microsoft_sts = host_of(declared).is_some_and(|h| h == "sts.windows.net");
                if !same_host && !microsoft_sts {
                    return Err(mismatch());
                }
                if declared.contains("{tenantid}") {
                    Ok(IssuerRule::TenantTemplate(declared.to_owned()))
                } else {
                    Ok(IssuerRule::Exact(declared.to_owned()))
                }
            }
            AuthorityKind::ExternalId => {
                // External ID issues tokens from `<tenant-id>.ciamlogin.com`, not the host the
                // app is configured with.
                if host_of(declared).is_some_and(|h| h.ends_with(".ciamlogin.com")) {
                    Ok(IssuerRule::Exact(declared.to_owned()))
                } else {
                    Err(mismatch())
                }
            }
            AuthorityKind::B2c => {
                let ok = host_of(declared)
                    .is_some_and(|h| h.ends_with(".b2clogin.com") || Some(h) == host_of(&self.url));
                if ok {
                    Ok(IssuerRule::Exact(declared.to_owned()))
                } else {
                    Err(mismatch())
                }
            }
        }
    }
}

impl Authority {
    fn is_ciam_issuer_of_own_tenant(&self, declared: &str) -> bool {
        let Ok(issuer) = Url::parse(declared) else {
            return false;
        };
        let Some(host) = issuer.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let Some(tenant) = host.strip_suffix(".ciamlogin.com") else {
            return false;
        };
        let is_guid =
            tenant.len() == 36 && tenant.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        let path_names_it = issuer.path().trim_matches('/').split('/').next() == Some(tenant);
        let configured_names_it = Url::parse(&self.url)
            .ok()
            .and_then(|u| {
                u.path_segments()
                    .map(|s| s.map(str::to_ascii_lowercase).collect::<Vec<_>>())
            })
            .is_some_and(|segments| segments.iter().any(|s| s == tenant));
        issuer.scheme() == "https" && is_guid && path_names_it && configured_names_it
    }
}

impl Authority {
    /// The issuer rules an access token for this application's own web API may match: the
    /// discovery document's, and for Entra ID also the v1 issuer `https://sts.windows.net/{tid}/`,
    /// which Entra writes into access tokens for APIs whose registration accepts v1 tokens (the
    /// default, `accessTokenAcceptedVersion: null`).
    pub(crate) fn access_token_issuers(&self, rule: &IssuerRule) -> Vec<IssuerRule> {
        let mut rules = vec![rule.clone()];
        if matches!(self.kind, AuthorityKind::EntraId { .. })
            && let Some(v1) = rule.entra_v1()
        {
            rules.push(v1);
        }
        rules
    }
}

impl IssuerRule {
    /// The Entra ID v1 counterpart of a v2 issuer rule (`https://<host>/<tid>/v2.0`).
    fn entra_v1(&self) -> Option<IssuerRule> {
        const V1: &str = "https://sts.windows.net/";
        match self {
            IssuerRule::TenantTemplate(_) => {
                Some(IssuerRule::TenantTemplate(format!("{V1}{{tenantid}}/")))
            }
            IssuerRule::Exact(issuer) => {
                let url = Url::parse(issuer).ok()?;
                let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
                match segments.as_slice() {
                    [tenant, "v2.0"] => Some(IssuerRule::Exact(format!("{V1}{tenant}/"))),
                    _ => None,
                }
            }
        }
    }

    /// The issuer to hand to the ID token verifier, when it can check it by itself.
    pub(crate) fn exact(&self) -> Option<&str> {
        match self {
            IssuerRule::Exact(issuer) => Some(issuer),
            IssuerRule::TenantTemplate(_) => None,
        }
    }

    /// Checks a token's `iss` against the rule.
    pub(crate) fn check(&self, claims: &Map<String, Value>) -> Result<(), String> {
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or("the token has no `iss`")?;
        let expected = match self {
            IssuerRule::Exact(issuer) => issuer.clone(),
            IssuerRule::TenantTemplate(template) => {
                let tid = claims
                    .get("tid")
                    .and_then(Value::as_str)
                    .filter(|tid| {
                        !tid.is_empty()
                            && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
                    .ok_or("the token has no valid `tid` to check its issuer against")?;
                template.replace("{tenantid}", tid)
            }
        };
        if iss == expected {
            Ok(())
        } else {
            Err(format!("unexpected issuer `{iss}` (expected `{expected}`)"))
        }
    }
}

fn host_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

fn trim_slash(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Whether this build can reach a provider over https: one of the TLS features is on. Without
/// them reqwest speaks plain HTTP only, so an https authority is refused at configuration
/// rather than failing at the first sign-in.
const TLS: bool = cfg!(any(
    feature = "rustls-tls-native-roots",
    feature = "rustls-tls-webpki-roots",
    feature = "native-tls"
));

/// Providers are reached over https; plain http is accepted only on loopback, for development
/// and tests.
pub(crate) fn parse_https_or_loopback(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    match url.scheme() {
        "https" if !TLS => Err(format!(
            "`{raw}` needs https, and this build has no TLS: enable one of axum-identity's \
             features `rustls-tls-native-roots` (the default), `rustls-tls-webpki-roots` or \
             `native-tls`"
        )),
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{raw}` must use https (plain http is allowed on loopback only)"
        )),
        other => Err(format!(
            "`{raw}` has the scheme `{other}`; it must be https"
        )),
    }
}

/// The hosts of Microsoft's authorities: Entra ID in the public and national clouds, External
/// ID and B2C. Anything else configured as `AUTHORITY` would be taken for an Entra tenant and
/// get a discovery URL (`<authority>/v2.0/...`) that only Microsoft serves.
fn is_microsoft_host(host: &str) -> bool {
    const HOSTS: [&str; 7] = [
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "login.chinacloudapi.cn",
        "login.microsoftonline.de",
    ];
    HOSTS.contains(&host) || host.ends_with(".ciamlogin.com") || host.ends_with(".b2clogin.com")
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn authorities_are_classified_with_their_discovery_urls() {
        let entra = Authority::microsoft("https://login.microsoftonline.com/common/").unwrap();
        assert_eq!(
            entra.kind,
            AuthorityKind::EntraId {
                tenant: "common".into()
            }
        );
        assert_eq!(
            entra.discovery_url(),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
        let ciam =
            Authority::microsoft("https://contoso.ciamlogin.com/contoso.onmicrosoft.com").unwrap();
        assert_eq!(ciam.kind, AuthorityKind::ExternalId);
        let b2c =
            Authority::microsoft("https://t.b2clogin.com/t.onmicrosoft.com/B2C_1_susi").unwrap();
        assert_eq!(b2c.kind, AuthorityKind::B2c);
        let oidc = Authority::oidc("http://127.0.0.1:3000/").unwrap();
        assert_eq!(
            oidc.discovery_url(),
            "http://127.0.0.1:3000/.well-known/openid-configuration"
        );
        assert!(Authority::oidc("http://idp.example").is_err());
        assert!(Authority::microsoft("https://login.microsoftonline.com").is_err());
    }

    #[test]
    fn a_non_microsoft_authority_is_refused_with_the_fix() {
        for raw in [
            "https://keycloak.example/realms/demo",
            "https://accounts.google.com",
            "https://login.microsoftonline.com.evil.example/tenant",
        ] {
            let error = Authority::microsoft(raw).unwrap_err();
            assert!(error.contains("OIDC_AUTHORITY"), "{raw}: {error}");
            assert!(
                error.contains("not a Microsoft sign-in host"),
                "{raw}: {error}"
            );
        }
        // Microsoft's national clouds are Microsoft authorities.
        for raw in [
            "https://login.microsoftonline.us/tenant",
            "https://login.chinacloudapi.cn/tenant",
        ] {
            assert!(Authority::microsoft(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn multi_tenant_issuers_are_checked_against_the_token_tenant() {
        let entra =
            Authority::microsoft("https://login.microsoftonline.com/organizations").unwrap();
        let rule = entra
            .issuer_rule("https://login.microsoftonline.com/{tenantid}/v2.0")
            .unwrap();
        let tid = "9122040d-6c67-4c5b-b112-36a304b66dad";
        let good =
            json!({"iss": format!("https://login.microsoftonline.com/{tid}/v2.0"), "tid": tid});
        assert!(rule.check(good.as_object().unwrap()).is_ok());
        let other = json!({"iss": "https://login.microsoftonline.com/other/v2.0", "tid": tid});
        assert!(rule.check(other.as_object().unwrap()).is_err());
        let no_tid = json!({"iss": format!("https://login.microsoftonline.com/{tid}/v2.0")});
        assert!(rule.check(no_tid.as_object().unwrap()).is_err());
    }

    #[test]
    fn entra_access_tokens_may_carry_the_v1_issuer_of_the_same_tenant() {
        let tid = "9122040d-6c67-4c5b-b112-36a304b66dad";
        let single =
            Authority::microsoft(&format!("https://login.microsoftonline.com/{tid}")).unwrap();
        let rule = single
            .issuer_rule(&format!("https://login.microsoftonline.com/{tid}/v2.0"))
            .unwrap();
        let rules = single.access_token_issuers(&rule);
        let accepts = |iss: &str, tid: &str| {
            let claims = json!({"iss": iss, "tid": tid});
            rules
                .iter()
                .any(|r| r.check(claims.as_object().unwrap()).is_ok())
        };
        assert!(accepts(
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            tid
        ));
        assert!(accepts(&format!("https://sts.windows.net/{tid}/"), tid));
        assert!(!accepts("https://sts.windows.net/another-tenant/", tid));
        assert!(!accepts(&format!("https://sts.windows.net/{tid}"), tid));

        let multi = Authority::microsoft("https://login.microsoftonline.com/common").unwrap();
        let rule = multi
            .issuer_rule("https://login.microsoftonline.com/{tenantid}/v2.0")
            .unwrap();
        let rules = multi.access_token_issuers(&rule);
        let check = |iss: &str, tid: &str| {
            let claims = json!({"iss": iss, "tid": tid});
            rules
                .iter()
                .any(|r| r.check(claims.as_object().unwrap()).is_ok())
        };
        assert!(check("https://sts.windows.net/t1/", "t1"));
        assert!(check("https://login.microsoftonline.com/t1/v2.0", "t1"));
        // The right shape, for another tenant than the token's own.
        assert!(!check("https://sts.windows.net/t2/", "t1"));
        assert!(!check("https://login.microsoftonline.com/t2/v2.0", "t1"));

        // Other kinds of authority get no v1 issuer.
        let oidc = Authority::oidc("https://idp.example").unwrap();
        let rule = oidc.issuer_rule("https://idp.example").unwrap();
        assert_eq!(oidc.access_token_issuers(&rule), vec![rule]);
    }

    #[test]
    fn a_discovery_document_for_another_issuer_is_refused() {
        let oidc = Authority::oidc("https://idp.example/realm").unwrap();
        assert!(oidc.issuer_rule("https://idp.example/realm/").is_ok());
        assert!(oidc.issuer_rule("https://evil.example/realm").is_err());
        let ciam =
            Authority::microsoft("https://contoso.ciamlogin.com/contoso.onmicrosoft.com").unwrap();
        assert!(
            ciam.issuer_rule("https://abc.ciamlogin.com/abc/v2.0")
                .is_ok()
        );
        assert!(ciam.issuer_rule("https://evil.example/abc/v2.0").is_err());
    }

    const TA: &str = "9f6b1c2e-3a4d-4e5f-8a7b-1c2d3e4f5a6b";
    const TB: &str = "2b7e3c1d-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
    const MSA: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
    const CIAM: &str = "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    const OTHER_CIAM: &str = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4";

    fn entra_v2(tenant: &str) -> String {
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    }

    fn ciam_v2(tenant: &str) -> String {
        format!("https://{tenant}.ciamlogin.com/{tenant}/v2.0")
    }

    /// `AUTHORITY` settings are Microsoft authorities, `OIDC_AUTHORITY` ones (`oidc:` here) any
    /// provider's issuer.
    fn authority(setting: &str) -> Authority {
        match setting.strip_prefix("oidc:") {
            Some(url) => Authority::oidc(url).unwrap(),
            None => Authority::microsoft(setting).unwrap(),
        }
    }

    /// The issuer a discovery document declares, per authority: accepted or refused before
    /// any browser is sent to the provider.
    #[test]
    fn declared_issuers_as_a_table() {
        let custom = format!("oidc:https://login.contoso.com/{CIAM}/v2.0");
        let single = format!("https://login.microsoftonline.com/{TA}");
        let rows: Vec<(&str, String, bool)> = vec![
            // Any provider: exactly the URL asked, a trailing slash aside.
            (
                "oidc:https://idp.example/realm",
                "https://idp.example/realm".into(),
                true,
            ),
            (
                "oidc:https://idp.example/realm",
                "https://idp.example/realm/".into(),
                true,
            ),
            (
                "oidc:https://idp.example/realm",
                "https://evil.example/realm".into(),
                false,
            ),
            (
                "oidc:https://idp.example/realm",
                "https://idp.example/realm/other".into(),
                false,
            ),
            (
                "oidc:https://idp.example/realm",
                "https://idp.example/".into(),
                false,
            ),
            // External ID behind a custom domain: also its own tenant's ciamlogin issuer.
            (
                &custom,
                format!("https://login.contoso.com/{CIAM}/v2.0"),
                true,
            ),
            (&custom, ciam_v2(CIAM), true),
            (&custom, ciam_v2(OTHER_CIAM), false),
            (&custom, ciam_v2(CIAM).replace("https:", "http:"), false),
            (
                &custom,
                format!("https://{CIAM}.ciamlogin.com.evil.example/{CIAM}/v2.0"),
                false,
            ),
            // Entra ID: on the authority's host (or Microsoft's v1 STS).
            (&single, entra_v2(TA), true),
            (
                "https://login.microsoftonline.com/contoso.onmicrosoft.com",
                entra_v2(TA),
                true,
            ),
            (
                "https://login.microsoftonline.com/common",
                entra_v2("{tenantid}"),
                true,
            ),
            (
                "https://login.microsoftonline.com/organizations",
                entra_v2("{tenantid}"),
                true,
            ),
            (
                "https://login.microsoftonline.com/consumers",
                entra_v2(MSA),
                true,
            ),
            (
                &single,
                format!("https://login.evil.example/{TA}/v2.0"),
                false,
            ),
            (
                "https://login.microsoftonline.com/common",
                format!("https://login.microsoftonline.com.evil.example/{TA}/v2.0"),
                false,
            ),
            // External ID: tokens come from the tenant-id host.
            (
                "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
                ciam_v2(CIAM),
                true,
            ),
            (
                "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
                format!("https://login.evil.example/{CIAM}/v2.0"),
                false,
            ),
            (
                "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
                "https://evilciamlogin.com/x/v2.0".into(),
                false,
            ),
            // B2C: a b2clogin host, or the authority's own (custom) domain.
            (
                "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi",
                format!("https://contoso.b2clogin.com/{TA}/v2.0/"),
                true,
            ),
            (
                "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi",
                format!("https://login.evil.example/{TA}/v2.0/"),
                false,
            ),
        ];
        for (setting, declared, accepted) in rows {
            let result = authority(setting).issuer_rule(&declared);
            assert_eq!(
                result.is_ok(),
                accepted,
                "{setting} declaring {declared}: {result:?}"
            );
            if let Err(message) = result {
                assert!(message.contains(&declared), "{message}");
            }
        }
    }

    /// Authority, declared issuer, the token's `iss` and `tid`, and what the refusal mentions
    /// (`None`: accepted).
    type Row<'a> = (
        &'a str,
        String,
        Option<String>,
        Option<&'a str>,
        Option<&'a str>,
    );

    /// A token's `iss` (and `tid`) under the rule of a declared issuer: the ID token's check.
    #[test]
    fn token_issuers_as_a_table() {
        let single = format!("https://login.microsoftonline.com/{TA}");
        let custom = format!("oidc:https://login.contoso.com/{CIAM}/v2.0");
        let ciam = "https://contoso.ciamlogin.com/contoso.onmicrosoft.com";
        let b2c = "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi";
        let b2c_issuer = format!("https://contoso.b2clogin.com/{TA}/v2.0/");
        let template = entra_v2("{tenantid}");
        let mut rows: Vec<Row> = vec![
            (&single, entra_v2(TA), Some(entra_v2(TA)), Some(TA), None),
            (
                &single,
                entra_v2(TA),
                Some(entra_v2(TB)),
                Some(TB),
                Some("issuer"),
            ),
            // The v1 issuer of the very same tenant is not what discovery declared.
            (
                &single,
                entra_v2(TA),
                Some(format!("https://sts.windows.net/{TA}/")),
                Some(TA),
                Some("issuer"),
            ),
            (&single, entra_v2(TA), None, Some(TA), Some("`iss`")),
            (
                "https://login.microsoftonline.com/contoso.onmicrosoft.com",
                entra_v2(TA),
                Some(entra_v2(TA)),
                Some(TA),
                None,
            ),
            (
                "https://login.microsoftonline.com/consumers",
                entra_v2(MSA),
                Some(entra_v2(MSA)),
                Some(MSA),
                None,
            ),
            (
                "https://login.microsoftonline.com/consumers",
                entra_v2(MSA),
                Some(entra_v2(TA)),
                Some(TA),
                Some("issuer"),
            ),
            (ciam, ciam_v2(CIAM), Some(ciam_v2(CIAM)), Some(CIAM), None),
            (
                ciam,
                ciam_v2(CIAM),
                Some(ciam_v2(OTHER_CIAM)),
                Some(OTHER_CIAM),
                Some("issuer"),
            ),
            (
                ciam,
                ciam_v2(CIAM),
                Some(format!("https://contoso.ciamlogin.com/{CIAM}/v2.0")),
                Some(CIAM),
                Some("issuer"),
            ),
            (
                &custom,
                format!("https://login.contoso.com/{CIAM}/v2.0"),
                Some(format!("https://login.contoso.com/{CIAM}/v2.0")),
                None,
                None,
            ),
            (
                &custom,
                format!("https://login.contoso.com/{CIAM}/v2.0"),
                Some(ciam_v2(CIAM)),
                None,
                Some("issuer"),
            ),
            (
                &custom,
                ciam_v2(CIAM),
                Some(ciam_v2(CIAM)),
                Some(CIAM),
                None,
            ),
            (
                b2c,
                b2c_issuer.clone(),
                Some(b2c_issuer.clone()),
                None,
                None,
            ),
            (
                b2c,
                b2c_issuer.clone(),
                Some(b2c_issuer.trim_end_matches('/').into()),
                None,
                Some("issuer"),
            ),
        ];
        // `common` and `organizations` declare a template: `iss` must be the template filled
        // with the token's own `tid`.
        for multi in [
            "https://login.microsoftonline.com/common",
            "https://login.microsoftonline.com/organizations",
        ] {
            rows.extend([
                (multi, template.clone(), Some(entra_v2(TA)), Some(TA), None),
                (multi, template.clone(), Some(entra_v2(TB)), Some(TB), None),
                (
                    multi,
                    template.clone(),
                    Some(entra_v2(TA)),
                    Some(TB),
                    Some("issuer"),
                ),
                (
                    multi,
                    template.clone(),
                    Some(entra_v2(TA)),
                    None,
                    Some("tid"),
                ),
                (
                    multi,
                    template.clone(),
                    Some(entra_v2(TA)),
                    Some(""),
                    Some("tid"),
                ),
                (
                    multi,
                    template.clone(),
                    Some(entra_v2("{tenantid}")),
                    Some("{tenantid}"),
                    Some("tid"),
                ),
                (
                    multi,
                    template.clone(),
                    Some(entra_v2("x/../y")),
                    Some("x/../y"),
                    Some("tid"),
                ),
                (
                    multi,
                    template.clone(),
                    Some(template.clone()),
                    Some(TA),
                    Some("issuer"),
                ),
            ]);
        }
        for (setting, declared, iss, tid, refusal) in rows {
            let rule = authority(setting).issuer_rule(&declared).unwrap();
            let mut claims = Map::new();
            if let Some(iss) = &iss {
                claims.insert("iss".into(), json!(iss));
            }
            if let Some(tid) = tid {
                claims.insert("tid".into(), json!(tid));
            }
            let result = rule.check(&claims);
            let case = format!("{setting} declaring {declared}, token {iss:?} tid {tid:?}");
            match refusal {
                None => assert!(result.is_ok(), "{case}: {result:?}"),
                Some(mentions) => {
                    let message = result.expect_err(&case);
                    assert!(message.contains(mentions), "{case}: {message}");
                }
            }
        }
    }

    #[test]
    fn an_https_authority_needs_a_tls_feature_and_loopback_http_never_does() {
        let https = parse_https_or_loopback("https://idp.example/tenant");
        if TLS {
            assert!(https.is_ok(), "{https:?}");
        } else {
            let message = https.expect_err("no TLS compiled");
            assert!(message.contains("rustls-tls-native-roots"), "{message}");
        }
        assert!(parse_https_or_loopback("http://127.0.0.1:3000").is_ok());
    }
}
