//! OpenAPI with `utoipa` (feature `openapi`): the security scheme of a web API protected by
//! [`ApiAuth`], under the name `#[authorization_required]` writes into each documented
//! operation's `security` (with the handler's scopes and roles), so the document describes both
//! from the code that enforces them.

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, OpenIdConnect, SecurityScheme};

use crate::web_api::auth::ApiAuth;

/// The name of the security scheme in the OpenAPI document's `components.securitySchemes`,
/// which the `security` that `#[authorization_required]` adds to a `#[utoipa::path]` names.
pub const OPENAPI_SECURITY_SCHEME: &str = "bearerAuth";

/// A `utoipa` modifier that describes the API's bearer tokens as
/// [`OPENAPI_SECURITY_SCHEME`]: HTTP `bearer`, format JWT. For `#[openapi(modifiers(..))]`,
/// where no `ApiAuth` is at hand; an [`ApiAuth`] is a modifier too, which names its provider.
///
/// ```
/// use axum_identity_runtime::BearerSecurity;
/// use utoipa::Modify;
///
/// // In a derived document: `#[openapi(paths(..), modifiers(&BearerSecurity))]`.
/// let mut doc = utoipa::openapi::OpenApi::default();
/// BearerSecurity.modify(&mut doc);
/// let doc = serde_json::to_value(doc)?;
/// assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "An access token issued for this API, as `Authorization: Bearer <token>`",
            ))
            .build();
        add_scheme(openapi, SecurityScheme::Http(scheme));
    }
}

/// Describes the API's tokens as [`OPENAPI_SECURITY_SCHEME`] of type `openIdConnect`, with
/// the discovery document of the API's provider, from which tools (Swagger UI, client
/// generators) find where to get a token.
///
/// ```
/// use axum_identity_runtime::ApiAuth;
/// use utoipa::Modify;
///
/// let api = ApiAuth::builder()
///     .client_id("notes-api")
///     .oidc_authority("https://idp.example")
///     .build()?;
/// let mut doc = utoipa::openapi::OpenApi::default();
/// api.modify(&mut doc);
/// let doc = serde_json::to_value(doc)?;
/// assert_eq!(
///     doc["components"]["securitySchemes"]["bearerAuth"]["openIdConnectUrl"],
///     "https://idp.example/.well-known/openid-configuration"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Modify for ApiAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let description = match self.resource() {
            Some(resource) => format!("An access token issued for {resource}"),
            None => format!(
                "An access token issued for {}",
                self.audiences().join(" or ")
            ),
        };
        let scheme = OpenIdConnect::with_description(self.discovery_url(), description);
        add_scheme(openapi, SecurityScheme::OpenIdConnect(scheme));
    }
}

fn add_scheme(openapi: &mut OpenApi, scheme: SecurityScheme) {
    openapi
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(OPENAPI_SECURITY_SCHEME, scheme);
}
