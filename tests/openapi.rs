//! The OpenAPI document of an example API, derived with `utoipa`: `#[authorization_required]`
//! above `#[utoipa::path]` puts each handler's scopes and roles in its operation's `security`,
//! and `BearerSecurity` (or the `ApiAuth` itself) describes the scheme they name. Feature
//! `openapi`.

use axum_identity::authorization_required;
use axum_identity::{ApiAuth, ApiContext, BearerSecurity, OPENAPI_SECURITY_SCHEME};
use serde_json::{Value, json};
use utoipa::{Modify, OpenApi};

/// The caller's notes.
#[authorization_required(scopes = ["notes.read"])]
#[utoipa::path(get, path = "/notes", responses((status = 200, description = "the notes")))]
async fn notes(context: ApiContext) -> String {
    context.claims.subject().to_owned()
}

/// Removes every note: an app role too.
#[authorization_required(scopes = ["notes.write"], roles = ["Notes.Admin"])]
#[utoipa::path(delete, path = "/notes", responses((status = 204)))]
async fn purge(context: ApiContext) -> String {
    context.claims.subject().to_owned()
}

/// Any valid token.
#[authorization_required]
#[utoipa::path(get, path = "/whoami", responses((status = 200)))]
async fn whoami(context: ApiContext) -> String {
    context.claims.subject().to_owned()
}

#[derive(OpenApi)]
#[openapi(paths(notes, purge, whoami), modifiers(&BearerSecurity))]
struct ApiDoc;

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap()
}

#[test]
fn the_openapi_document_of_an_example_api_lists_the_scheme_and_each_handlers_scopes() {
    let doc = document();
    assert_eq!(OPENAPI_SECURITY_SCHEME, "bearerAuth");
    assert_eq!(
        doc["components"]["securitySchemes"][OPENAPI_SECURITY_SCHEME],
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token issued for this API, as `Authorization: Bearer <token>`",
        })
    );
    let security = |method: &str, path: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        security("get", "/notes"),
        json!([{"bearerAuth": ["notes.read"]}])
    );
    assert_eq!(
        security("delete", "/notes"),
        json!([{"bearerAuth": ["notes.write", "Notes.Admin"]}])
    );
    assert_eq!(security("get", "/whoami"), json!([{"bearerAuth": []}]));

    // The handlers are still axum handlers with their rule.
    let _: axum::Router = axum::Router::new()
        .route("/notes", axum::routing::get(notes).delete(purge))
        .route("/whoami", axum::routing::get(whoami));
}

#[test]
fn an_api_auth_describes_its_provider_as_the_scheme() {
    let api = ApiAuth::builder()
        .client_id("notes-api")
        .oidc_authority("https://idp.example")
        .resource("https://notes.example/api")
        .build()
        .unwrap();
    let mut doc = ApiDoc::openapi();
    api.modify(&mut doc);
    let doc = serde_json::to_value(doc).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"][OPENAPI_SECURITY_SCHEME],
        json!({
            "type": "openIdConnect",
            "openIdConnectUrl": "https://idp.example/.well-known/openid-configuration",
            "description": "An access token issued for https://notes.example/api",
        })
    );
}
