//! `examples/mcp_server.rs` run as users run it (nothing configured: the local provider), called
//! with `rmcp`'s own streamable-HTTP client: with a token from the provider its `whoami` tool
//! answers the caller's name and scopes; without one the client is refused with a `401` whose
//! challenge names the protected-resource metadata, and that document names the provider.

use axum_identity_testkit as support;

use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::AuthorizationManager;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use support::JsonAnswer;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("axum-identity tests", "1"),
    )
}

/// The error and every error under it, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(error) = source {
        text.push_str(": ");
        text.push_str(&error.to_string());
        source = error.source();
    }
    text
}

#[tokio::test]
async fn the_mcp_example_serves_rmcps_client_with_a_token_and_points_it_to_the_provider_without() {
    let (port, provider_port) = (free_port(), free_port());
    let (_child, said) = support::example::start(
        "mcp_server",
        &[
            ("PORT", port.to_string()),
            ("PROVIDER_PORT", provider_port.to_string()),
        ],
    )
    .await;
    assert!(said.contains("using the local OpenID provider"), "{said}");
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");

    // Without a token: refused, the challenge leading to the metadata, which names the provider.
    let transport = StreamableHttpClientTransport::from_uri(resource.as_str());
    let error = match client_info().serve(transport).await {
        Err(ClientInitializeError::TransportError { error, .. }) => chain(&error),
        Err(other) => panic!("not refused by the transport: {other}"),
        Ok(_) => panic!("served without a token"),
    };
    assert!(
        error.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{error}"
    );
    // rmcp's own discovery, as strict as MCP clients are about RFC 9728 (the challenge's
    // metadata URL on the server's origin, the document's `resource` matching the server's
    // URL): from the server's URL alone to the provider's authorization server metadata.
    let manager = AuthorizationManager::new(resource.as_str()).await.unwrap();
    let found = manager.resolve_metadata().await.unwrap();
    assert_eq!(found.metadata.token_endpoint, format!("{issuer}/token"));

    let document: Value = reqwest::get(&metadata_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], resource);
    assert_eq!(document["authorization_servers"], json!([issuer]));
    assert_eq!(document["scopes_supported"], json!(["mcp.tools"]));

    // With a token the provider issued for this server's resource URI.
    let answer: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "mcp.tools"),
            ("resource", resource.as_str()),
        ])
        .json_answer()
        .await;
    let token = answer["access_token"].as_str().expect("an access token");
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(resource.as_str()).auth_header(token),
    );
    let client = client_info().serve(transport).await.unwrap();
    let tools = client.list_tools(Default::default()).await.unwrap();
    assert_eq!(
        tools
            .tools
            .iter()
            .map(|t| t.name.as_ref())
            .collect::<Vec<_>>(),
        ["whoami"]
    );
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_eq!(
        result.structured_content,
        Some(json!({
            "name": "daemon",
            "subject": "daemon",
            "scopes": ["mcp.tools"],
            "client": "daemon",
        })),
        "{result:?}"
    );
    client.cancel().await.unwrap();
}
