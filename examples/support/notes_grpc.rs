//! The gRPC service of `examples/grpc.rs`, written without code generation: its messages are
//! `prost` structs, its routing is a `tower::Service` over `http::Request`, and its one method
//! runs through tonic's own unary handling and codec. The same as what `tonic-build` would
//! generate from this `.proto`, with nothing to install:
//!
//! ```proto
//! package identity.example;
//! service Notes { rpc Whoami(WhoamiRequest) returns (WhoamiReply); }
//! message WhoamiRequest {}
//! message WhoamiReply { string subject = 1; repeated string scopes = 2; string client = 3; }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum_identity::ApiContext;

use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

/// The service's full name.
pub const SERVICE: &str = "identity.example.Notes";
/// The path of its `Whoami` method.
pub const WHOAMI: &str = "/identity.example.Notes/Whoami";

/// `WhoamiRequest`: nothing; the caller is who the token says.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoamiRequest {}

/// `WhoamiReply`: the caller as the bearer token names them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoamiReply {
    /// The token's `sub`.
    #[prost(string, tag = "1")]
    pub subject: String,
    /// Its delegated scopes.
    #[prost(string, repeated, tag = "2")]
    pub scopes: Vec<String>,
    /// The application that asked for the token.
    #[prost(string, tag = "3")]
    pub client: String,
}

/// The `Notes` service: routes `Whoami`, answers `UNIMPLEMENTED` to anything else.
#[derive(Clone, Default)]
pub struct NotesServer;

impl NamedService for NotesServer {
    const NAME: &'static str = SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<B> tower::Service<http::Request<B>> for NotesServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != WHOAMI {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Whoami, request).await)
        })
    }
}

/// `Whoami`: reads the caller from the [`ApiContext`] that `ApiAuth`'s layer put in the
/// request's extensions. The layer refused every request without a valid token with the
/// required scopes, so there always is one; its absence would be a server mistake.
struct Whoami;

impl UnaryService<WhoamiRequest> for Whoami {
    type Response = WhoamiReply;
    type Future = std::future::Ready<Result<Response<WhoamiReply>, Status>>;

    fn call(&mut self, request: Request<WhoamiRequest>) -> Self::Future {
        let reply = match request.extensions().get::<ApiContext>() {
            Some(context) => {
                let claims = &context.claims;
                Ok(Response::new(WhoamiReply {
                    subject: claims.subject().to_owned(),
                    scopes: claims.scopes().into_iter().map(str::to_owned).collect(),
                    client: claims.client_id().unwrap_or_default().to_owned(),
                }))
            }
            None => Err(Status::internal(
                "the service is not behind ApiAuth's layer",
            )),
        };
        std::future::ready(reply)
    }
}

/// Calls `Whoami` on `channel` with `authorization` as the request's `authorization` metadata
/// (none when `None`): what a client does, for the tests.
#[allow(dead_code)] // The example itself serves; the tests call.
pub async fn call_whoami(
    channel: tonic::transport::Channel,
    authorization: Option<&str>,
) -> Result<WhoamiReply, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = Request::new(WhoamiRequest {});
    if let Some(value) = authorization {
        let value = value
            .parse()
            .map_err(|_| Status::invalid_argument("not a metadata value"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(WHOAMI);
    grpc.unary(request, path, tonic_prost::ProstCodec::default())
        .await
        .map(Response::into_inner)
}
