//! An MCP server over streamable HTTP at `/mcp`, built with `rmcp` and protected by `ApiAuth`
//! as the MCP authorization specification asks: the protected-resource metadata (RFC 9728) at
//! `/.well-known/oauth-protected-resource/mcp`, `resource_metadata` in every `401`, and tokens
//! accepted only for this server's resource URI (RFC 8707). Its one tool, `whoami`, answers
//! with the caller's name and scopes.
//!
//! ```bash
//! CLIENT_ID=<the server's application id> AUTHORITY=https://login.microsoftonline.com/<tenant> \
//! RESOURCE=https://mcp.example.com/mcp SCOPE=api://<client id>/mcp.tools cargo run --example mcp_server
//! ```
//!
//! PORT (default 5000), CLIENT_ID, AUTHORITY or OIDC_AUTHORITY, AUDIENCE, RESOURCE (the URL
//! clients reach `/mcp` at; required once a provider is configured) and SCOPE (required
//! delegated scopes, space separated, default `mcp.tools`) come from the environment or a `.env`
//! file, as in `examples/web_api.rs`. At Entra ID the tokens carry the server's client id or its
//! Application ID URI (`api://<client id>`) in `aud`, which stay accepted next to RESOURCE. With
//! no provider configured, it starts the local OpenID provider the tests use (on
//! PROVIDER_PORT, default 5100) with this server as a resource server and prints how to call it.

#[path = "support/local.rs"]
#[allow(dead_code)]
mod local;

use std::error::Error;

use axum::Router;
use axum_identity::{ApiAuth, ApiContext};
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;

/// The MCP server: one tool.
#[derive(Clone)]
struct Whoami;

#[tool_router]
impl Whoami {
    /// Reads the caller from the `ApiContext` that `ApiAuth`'s layer put on the HTTP request
    /// (rmcp hands a tool the request's parts): the layer let no request without a valid token
    /// through, so there always is one.
    #[tool(description = "Who is calling: the name and scopes of the caller's access token")]
    async fn whoami(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let context = parts.extensions.get::<ApiContext>().ok_or_else(|| {
            ErrorData::internal_error("the server is not behind ApiAuth's layer", None)
        })?;
        let claims = &context.claims;
        let name = ["name", "preferred_username"]
            .iter()
            .find_map(|claim| claims.claim(claim).and_then(|v| v.as_str()))
            .unwrap_or(claims.subject());
        Ok(CallToolResult::structured(json!({
            "name": name,
            "subject": claims.subject(),
            "scopes": claims.scopes(),
            "client": claims.client_id(),
        })))
    }
}

#[tool_handler]
impl ServerHandler for Whoami {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("`whoami` tells who the access token says is calling.")
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    dotenvy::dotenv().ok();
    let port = local::port();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let scopes: Vec<String> = var("SCOPE")
        .unwrap_or_else(|| "mcp.tools".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let api = if local::configured() {
        if var("RESOURCE").is_none() {
            return Err("set RESOURCE to the URL MCP clients call this server at \
                        (https://<host>/mcp): they find the provider through it"
                .into());
        }
        ApiAuth::builder_from_env()
            .scopes_supported(scopes.clone())
            .resource_name("axum-identity MCP example")
            .build()?
    } else {
        // With no provider configured: the local test provider. Not in a real server.
        local_api(port, &scopes).await?
    };
    match api.warm_up().await {
        Ok(()) => {}
        // A wrong authority stops the server now rather than at the first call.
        Err(error @ axum_identity::Error::Config(_)) => return Err(error.into()),
        Err(error) => eprintln!("warning: the provider's keys could not be fetched yet: {error}"),
    }
    let resource = api.resource().unwrap_or_default().to_owned();
    println!(
        "MCP server {resource}, its metadata at {}, tokens for {} with the scopes {scopes:?}",
        api.resource_metadata_url().unwrap_or_default(),
        api.audiences().join(", ")
    );

    // rmcp accepts loopback `Host`s only, against DNS rebinding; a server reached by its own
    // name accepts that name too.
    let mut config = StreamableHttpServerConfig::default();
    if let Some(host) = url::Url::parse(&resource)
        .ok()
        .filter(|url| url.scheme() == "https")
        .and_then(|url| url.host_str().map(str::to_owned))
    {
        let mut hosts = config.allowed_hosts.clone();
        hosts.push(host);
        config = config.with_allowed_hosts(hosts);
    }
    let mcp =
        StreamableHttpService::new(|| Ok(Whoami), LocalSessionManager::default().into(), config);
    // The layer guards `/mcp` and serves the metadata at its well-known paths.
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .layer(api.bearer_layer().scopes(scopes));
    local::serve(app, port).await
}

/// The `ApiAuth` of this server at the local test provider (started with this server as a
/// resource server, its resource URI on loopback, and a daemon client for app-only tokens),
/// with how to call it.
async fn local_api(port: u16, scopes: &[String]) -> Result<ApiAuth, Box<dyn Error>> {
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let issuer = &local::resource_provider(&resource, scopes).await?;
    let scope = scopes.join(" ");
    println!(
        "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {issuer}.\n\n\
         An app-only token for this server, and the first MCP request with it:\n  \
         TOKEN=$(curl -s -u daemon:daemon-secret -d grant_type=client_credentials \
         -d 'scope={scope}' -d resource={resource} {issuer}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n  \
         curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \
         -H 'Accept: application/json, text/event-stream' \
         -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}' \
         {resource}\n"
    );
    let api = ApiAuth::builder()
        .client_id("mcp-server")
        .oidc_authority(issuer)
        .resource(&resource)
        .resource_name("axum-identity MCP example")
        .scopes_supported(scopes.to_vec())
        .build()?;
    Ok(api)
}
