//! The authorities the provider serves (Entra ID, External ID, its custom domain, B2C user
//! flows) and how a request's host and path map to one of them and to an endpoint.

use serde_json::{Value, json};

use super::tenants::*;

/// Which Microsoft authority a request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// `login.microsoftonline.com/<tenant>`: the segment as the request spelled it.
    Entra { tenant: String },
    /// `<name>.ciamlogin.com/<tenant>`.
    Ciam { host: String },
    /// External ID behind the custom URL domain `login.contoso.com/<tenant-id>`.
    CustomDomain,
    /// `contoso.b2clogin.com/contoso.onmicrosoft.com/<user flow>`: the flow's configured name.
    B2c { policy: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    Discovery,
    Keys,
    Authorize,
    Token,
    Logout,
}

impl Site {
    /// The site and endpoint of a request, `None` for anything this provider does not serve.
    pub(super) fn route(host: &str, path: &str) -> Option<(Site, Endpoint)> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (site, rest) = if host == "login.microsoftonline.com" {
            let tenant = *segments.first()?;
            let known = [
                "common",
                "organizations",
                "consumers",
                "contoso.onmicrosoft.com",
                "fabrikam.onmicrosoft.com",
            ]
            .contains(&tenant.to_ascii_lowercase().as_str())
                || [TENANT_A, TENANT_B, MSA_TENANT].contains(&tenant.to_ascii_lowercase().as_str());
            if !known {
                return None;
            }
            (
                Site::Entra {
                    tenant: tenant.to_owned(),
                },
                &segments[1..],
            )
        } else if host.ends_with(".ciamlogin.com") {
            // Both the tenant's name and its id address the tenant, on its name's host and its
            // id's host.
            let tenant = segments.first()?.to_ascii_lowercase();
            let ok_host =
                host == "contoso.ciamlogin.com" || host == format!("{CIAM_TENANT}.ciamlogin.com");
            if !ok_host || (tenant != "contoso.onmicrosoft.com" && tenant != CIAM_TENANT) {
                return None;
            }
            (
                Site::Ciam {
                    host: host.to_owned(),
                },
                &segments[1..],
            )
        } else if host == CUSTOM_DOMAIN {
            if segments.first()?.to_ascii_lowercase() != CIAM_TENANT {
                return None;
            }
            (Site::CustomDomain, &segments[1..])
        } else if host == "contoso.b2clogin.com" {
            let tenant = segments.first()?.to_ascii_lowercase();
            if tenant != "contoso.onmicrosoft.com" && tenant != B2C_TENANT {
                return None;
            }
            // B2C's policy names are case-insensitive.
            let policy = B2C_POLICIES
                .iter()
                .find(|p| p.eq_ignore_ascii_case(segments.get(1).unwrap_or(&"")))?;
            (
                Site::B2c {
                    policy: (*policy).to_owned(),
                },
                segments.get(2..)?,
            )
        } else {
            return None;
        };
        let endpoint = match rest {
            ["v2.0", ".well-known", "openid-configuration"] => Endpoint::Discovery,
            ["discovery", "v2.0", "keys"] => Endpoint::Keys,
            ["oauth2", "v2.0", "authorize"] => Endpoint::Authorize,
            ["oauth2", "v2.0", "token"] => Endpoint::Token,
            ["oauth2", "v2.0", "logout"] => Endpoint::Logout,
            _ => return None,
        };
        Some((site, endpoint))
    }

    /// Where the endpoints of the discovery document live.
    pub(super) fn base(&self) -> String {
        match self {
            Site::Entra { tenant } => {
                // A tenant addressed by its domain publishes endpoints under its id.
                let tenant = match tenant.to_ascii_lowercase().as_str() {
                    "contoso.onmicrosoft.com" => TENANT_A.to_owned(),
                    "fabrikam.onmicrosoft.com" => TENANT_B.to_owned(),
                    _ => tenant.clone(),
                };
                format!("https://login.microsoftonline.com/{tenant}")
            }
            Site::Ciam { host } => format!("https://{host}/{CIAM_TENANT}"),
            Site::CustomDomain => format!("https://{CUSTOM_DOMAIN}/{CIAM_TENANT}"),
            Site::B2c { policy } => {
                format!(
                    "https://contoso.b2clogin.com/contoso.onmicrosoft.com/{}",
                    policy.to_ascii_lowercase()
                )
            }
        }
    }

    /// The tenant whose users sign in here by default.
    pub(super) fn home_tenant(&self) -> &'static str {
        match self {
            Site::Entra { tenant } => match tenant.to_ascii_lowercase().as_str() {
                "consumers" => MSA_TENANT,
                t if t == TENANT_B || t == "fabrikam.onmicrosoft.com" => TENANT_B,
                _ => TENANT_A,
            },
            Site::Ciam { .. } | Site::CustomDomain => CIAM_TENANT,
            Site::B2c { .. } => B2C_TENANT,
        }
    }

    /// The `issuer` of the discovery document.
    pub(super) fn issuer(&self) -> String {
        match self {
            Site::Entra { tenant } => match tenant.to_ascii_lowercase().as_str() {
                "common" | "organizations" => entra_issuer("{tenantid}"),
                _ => entra_issuer(self.home_tenant()),
            },
            Site::Ciam { .. } => ciam_issuer(CIAM_TENANT),
            Site::CustomDomain => custom_domain_issuer(),
            Site::B2c { .. } => b2c_issuer(),
        }
    }

    pub(super) fn discovery(&self) -> Value {
        let base = self.base();
        match self {
            Site::B2c { .. } => json!({
                "issuer": self.issuer(),
                "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
                "jwks_uri": format!("{base}/discovery/v2.0/keys"),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"],
                "scopes_supported": ["openid"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["name", "emails", "idp", "oid", "sub", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"],
            }),
            _ => {
                let entra = matches!(self, Site::Entra { .. });
                let multi = self.issuer().contains("{tenantid}");
                json!({
                    "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                    "jwks_uri": format!("{base}/discovery/v2.0/keys"),
                    "response_modes_supported": ["query", "fragment", "form_post"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "issuer": self.issuer(),
                    "request_uri_parameter_supported": false,
                    "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                    "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                    "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
                    "http_logout_supported": true,
                    "frontchannel_logout_supported": true,
                    "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
                    "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
                    "kerberos_endpoint": format!("{base}/kerberos"),
                    "tenant_region_scope": if multi { Value::Null } else if entra { json!("NA") } else { json!("EU") },
                    "cloud_instance_name": "microsoftonline.com",
                    "cloud_graph_host_name": "graph.windows.net",
                    "msgraph_host": "graph.microsoft.com",
                    "rbac_url": "https://pas.windows.net",
                })
            }
        }
    }
}
