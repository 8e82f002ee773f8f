//! `examples/grpc.rs` run as users run it (nothing configured: the local provider), called with
//! a tonic client: `ApiAuth`'s tower layer in front of a gRPC service answers gRPC statuses —
//! `OK` with a valid token, `UNAUTHENTICATED` without one or with a garbage or malformed one,
//! `PERMISSION_DENIED` without the required scope.

// The example's messages and its client call; the server half is the example's own.
#[path = "../../examples/support/notes_grpc.rs"]
#[allow(dead_code)]
mod notes_grpc;

use axum_identity_testkit as support;

use serde_json::Value;
use support::JsonAnswer;
use tonic::Code;
use tonic::transport::Channel;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An app-only token with `scope` from the example's local provider.
async fn token(issuer: &str, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", "api://notes-grpc"),
        ])
        .json_answer()
        .await;
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {response}"))
        .to_owned()
}

#[tokio::test]
async fn the_grpc_example_answers_valid_missing_wrong_scope_and_garbage_tokens() {
    let (port, provider_port) = (free_port(), free_port());
    let (_child, said) = support::example::start(
        "grpc",
        &[
            ("PORT", port.to_string()),
            ("PROVIDER_PORT", provider_port.to_string()),
        ],
    )
    .await;
    assert!(said.contains("grpcurl"), "it says how to call it: {said}");
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let call = |authorization: Option<String>| {
        let channel = channel.clone();
        async move { notes_grpc::call_whoami(channel, authorization.as_deref()).await }
    };

    let valid = token(&issuer, "notes.read").await;
    let reply = call(Some(format!("Bearer {valid}"))).await.unwrap();
    assert_eq!(reply.subject, "daemon");
    assert_eq!(reply.scopes, ["notes.read"]);
    assert_eq!(reply.client, "daemon");

    let status = call(None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status
            .message()
            .contains("a bearer access token is required"),
        "{status:?}"
    );

    let wrong_scope = token(&issuer, "notes.write").await;
    let status = call(Some(format!("Bearer {wrong_scope}")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("notes.read"), "{status:?}");

    for garbage in [
        "Bearer garbage".to_owned(),
        format!("Bearer {valid}x"),
        "Bearer a b".to_owned(),
        "Bearer".to_owned(),
        "Basic ZGFlbW9uOmRhZW1vbi1zZWNyZXQ=".to_owned(),
    ] {
        let status = call(Some(garbage.clone())).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{garbage}: {status:?}"
        );
    }

    // The channel still serves after every refusal.
    let reply = call(Some(format!("Bearer {valid}"))).await.unwrap();
    assert_eq!(reply.subject, "daemon");
}
