//! The token endpoint: client credentials, codes (single use, at the authority that issued
//! them), PKCE, refresh tokens, and the ID tokens each authority signs.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::federated::{check, is_federated};
use super::on_behalf_of::on_behalf_of;
use super::server::Shared;
use super::site::Site;
use super::tenants::*;
use super::tls::ms_kid;
use crate::kernel::{Refusal, TokenRequest, b64, json_response, merge, now, oauth_error};

impl Shared {
    pub(super) fn token(&self, site: Site, headers: &HeaderMap, body: &[u8]) -> Response {
        let request = TokenRequest::new(headers, body);
        let form = request.form.clone();
        self.token_requests
            .lock()
            .unwrap()
            .push((site.clone(), request.clone()));

        // A federated credential's assertion (audience `api://AzureADTokenExchange`) is checked
        // as Entra checks it, against the credentials registered on the application.
        if let Some(assertion) = form.get("client_assertion")
            && is_federated(assertion)
        {
            let registered = self.federated.lock().unwrap().clone();
            if let Err(description) = check(assertion, &registered) {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
            }
        }
        // Any other client assertion is taken as it comes (the real provider's tests check
        // signatures); the test reads it from `token_requests` to check Entra's header fields.
        let asserted = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && form
                .get("client_assertion")
                .is_some_and(|a| a.split('.').count() == 3);
        if !asserted
            && request.credentials() != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()))
        {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
            );
        }
        if form.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return on_behalf_of(&form);
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization codes here",
            );
        }
        let code = form.get("code").cloned().unwrap_or_default();
        let grant = match self.codes.redeem(&form) {
            Ok(grant) => grant,
            Err(refusal) => {
                let description = match refusal {
                    Refusal::UnknownCode => {
                        "AADSTS54005: OAuth2 Authorization code was already redeemed."
                    }
                    Refusal::Pkce => {
                        "AADSTS501481: The Code_Verifier does not match the code_challenge."
                    }
                    Refusal::RedirectUri => "AADSTS50148: The redirect URI does not match.",
                };
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
            }
        };
        if grant.site != site {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "AADSTS50148/AADB2C90090: the code was issued by another authority.",
            );
        }

        let scopes = grant.scopes();
        let id_token = self.id_token(&site, grant.params.get("nonce").map(String::as_str));
        let now = now();
        let offline = scopes.iter().any(|s| s == "offline_access");
        let api: Vec<&String> = scopes
            .iter()
            .filter(|s| !["openid", "profile", "email", "offline_access"].contains(&s.as_str()))
            .collect();
        let mut response = match &site {
            Site::B2c { .. } => {
                // B2C issues an access token only for an API scope (or the client id); with
                // `openid` alone the response has no `access_token` at all.
                let mut granted: Vec<&str> = api.iter().map(|s| s.as_str()).collect();
                if offline {
                    granted.push("offline_access");
                }
                granted.push("openid");
                let mut response = json!({
                    "id_token": id_token,
                    "token_type": "Bearer",
                    "not_before": now,
                    "id_token_expires_in": 3600,
                    "profile_info": b64(br#"{"ver":"1.0","tid":"b2c0ffee-1234-4a5b-8c9d-0123456789ab","sub":null,"name":"Alice","preferred_username":null,"idp":null}"#),
                    "scope": granted.join(" "),
                });
                if !api.is_empty() {
                    response["access_token"] = json!(format!("b2c-access-{code}"));
                    response["expires_in"] = json!(3600);
                    response["expires_on"] = json!(now + 3600);
                    response["resource"] = json!("3b5e2a1c-9d8f-4e7a-b6c5-d4e3f2a1b0c9");
                }
                if offline {
                    response["refresh_token"] = json!(format!("b2c-refresh-{code}"));
                    response["refresh_token_expires_in"] = json!(1_209_600);
                }
                response
            }
            _ => {
                let mut granted: Vec<String> = scopes
                    .iter()
                    .filter(|s| *s != "offline_access")
                    .cloned()
                    .collect();
                if api.is_empty() {
                    granted.push("https://graph.microsoft.com/User.Read".into());
                }
                let mut response = json!({
                    "token_type": "Bearer",
                    "scope": granted.join(" "),
                    "expires_in": 4631,
                    "ext_expires_in": 4631,
                    "access_token": format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Im9wYXF1ZSJ9.{}", b64(code.as_bytes())),
                    "id_token": id_token,
                });
                if offline {
                    response["refresh_token"] = json!(format!("1.A{}", b64(code.as_bytes())));
                }
                response
            }
        };
        if let Value::Object(map) = &mut response {
            map.retain(|_, v| !v.is_null());
        }
        json_response(StatusCode::OK, response)
    }

    /// An ID token as the site issues it, with the test's claims merged in.
    fn id_token(&self, site: &Site, nonce: Option<&str>) -> String {
        let now = now();
        let tid = site.home_tenant();
        let declared = self
            .discovery_document(site)
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let iss = declared.replace("{tenantid}", tid);
        let mut claims = match site {
            Site::B2c { policy } => json!({
                "ver": "1.0",
                "iss": iss,
                "sub": ALICE_OID,
                "aud": CLIENT_ID,
                "exp": now + 3600,
                "nonce": nonce,
                "iat": now,
                "auth_time": now,
                "oid": ALICE_OID,
                "name": "Alice",
                "emails": ["alice@example.com"],
                "tfp": policy,
                "nbf": now,
            }),
            _ => json!({
                "aud": CLIENT_ID,
                "iss": iss,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "aio": "AUQAu/8ZAAAA3Lw2i0Qv8bq2nL1C5eWqXg==",
                "name": "Alice Contoso",
                "nonce": nonce,
                "oid": ALICE_OID,
                "preferred_username": "alice@contoso.com",
                "rh": "1.AXkAv4j5cvGGr0GRqy180BHbR9Ct.",
                "sid": "00c3a7d2-59bd-4d69-ae1e-4f3a6a0c2f41",
                "sub": ALICE_SUB,
                "tid": tid,
                "uti": "b4q2xg0aQkqV7uZlk1l3AA",
                "ver": "2.0",
            }),
        }
        .as_object()
        .unwrap()
        .clone();
        claims.retain(|_, v| !v.is_null());
        merge(&mut claims, &self.claims.lock().unwrap());
        let key = *self.signing_key.lock().unwrap();
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": ms_kid(key)});
        crate::kernel::sign(
            header.as_object().unwrap(),
            &claims,
            &crate::kernel::Signing::Rsa(key),
        )
    }
}
