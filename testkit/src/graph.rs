//! A stand-in for Microsoft Graph's `getMemberObjects`, the call that reads the groups of a
//! user whose ID token had too many to carry (the groups overage). Graph cannot run here, so
//! this serves the part of its documented contract the library relies on, on a loopback port
//! over plain HTTP:
//!
//! - `POST /v1.0/me/getMemberObjects` with a JSON body `{"securityEnabledOnly": <bool>}` and
//!   `Authorization: Bearer <token>` (no bearer token: `401` with Graph's
//!   `InvalidAuthenticationToken` error; a body without the boolean: `400` `Request_BadRequest`);
//! - the answer `200 application/json` `{"@odata.context": .., "value": ["<id>", ..]}`, at most
//!   [`Graph::set_page_size`] ids a page, with `@odata.nextLink` (an absolute URL, fetched with
//!   `GET` and the same bearer token, as OData's next links are) while more remain;
//! - errors as Graph writes them: `{"error": {"code": .., "message": ..}}`.
//!
//! Tests set the user's groups ([`Graph::set_groups`]), make the next answers fail
//! ([`Graph::fail_with`]), and count the calls and the tokens that came ([`Graph::calls`]).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// How the next answers fail, until [`Graph::fail_with`] says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `403 Authorization_RequestDenied`: the token lacks the permission.
    Forbidden,
    /// `503 serviceNotAvailable`.
    Unavailable,
    /// `200` with an HTML page instead of JSON (a captive portal, a proxy's error page).
    NotJson,
}

/// One request Graph received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `POST` for the first page, `GET` for the next ones.
    pub method: Method,
    /// The path and query.
    pub path: String,
    /// The bearer token, if one came.
    pub token: Option<String>,
}

#[derive(Default)]
struct Shared {
    groups: Mutex<Vec<String>>,
    page_size: Mutex<usize>,
    failure: Mutex<Option<Failure>>,
    calls: Mutex<Vec<Call>>,
    base: Mutex<String>,
}

/// A running Graph stand-in. Dropping it stops the server.
pub struct Graph {
    /// Its base URL, `http://127.0.0.1:<port>`: what `graph_base_url` is set to.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Graph {
    /// Starts it, with no groups and pages of 999 ids (Graph's largest `$top`).
    pub async fn start() -> Graph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Graph stand-in");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        *shared.page_size.lock().unwrap() = 999;
        shared.base.lock().unwrap().clone_from(&url);
        let router = Router::new()
            .route(
                "/v1.0/me/getMemberObjects",
                post(member_objects).get(member_objects),
            )
            .fallback(|| async {
                error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "no such resource",
                )
            })
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the Graph stand-in runs");
        });
        Graph { url, shared, task }
    }

    /// The ids of the groups the user is a member of, from now on.
    pub fn set_groups(&self, groups: Vec<String>) {
        *self.shared.groups.lock().unwrap() = groups;
    }

    /// At most `size` ids an answer, from now on.
    pub fn set_page_size(&self, size: usize) {
        *self.shared.page_size.lock().unwrap() = size.max(1);
    }

    /// The answers fail this way from now on (`None`: they succeed again).
    pub fn fail_with(&self, failure: Option<Failure>) {
        *self.shared.failure.lock().unwrap() = failure;
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }
}

/// `count` group ids, GUID-shaped and distinct.
pub fn group_ids(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{i:08x}-0000-4000-8000-00000000beef"))
        .collect()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": "2026-01-01T00:00:00", "request-id": "00000000-0000-0000-0000-000000000000"
        }}})
        .to_string(),
    )
        .into_response()
}

async fn member_objects(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let path = match query.get("$skiptoken") {
        Some(skip) => format!("/v1.0/me/getMemberObjects?$skiptoken={skip}"),
        None => "/v1.0/me/getMemberObjects".to_owned(),
    };
    shared.calls.lock().unwrap().push(Call {
        method: method.clone(),
        path,
        token: token.clone(),
    });
    if token.as_deref().is_none_or(str::is_empty) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    }
    match shared.failure.lock().unwrap().clone() {
        Some(Failure::Forbidden) => {
            return error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        Some(Failure::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            );
        }
        Some(Failure::NotJson) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Sign in to the network</body></html>",
            )
                .into_response();
        }
        None => {}
    }
    // The first page is the action itself; the next ones are its next links.
    let skip: usize = if method == Method::POST {
        let asked: Option<Value> = serde_json::from_slice(&body).ok();
        if !asked
            .as_ref()
            .and_then(|b| b.get("securityEnabledOnly"))
            .is_some_and(Value::is_boolean)
        {
            return error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "The request body must carry securityEnabledOnly.",
            );
        }
        0
    } else {
        match query.get("$skiptoken").and_then(|s| s.parse().ok()) {
            Some(skip) => skip,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "GET needs the skip token of a next link.",
                );
            }
        }
    };
    let groups = shared.groups.lock().unwrap().clone();
    let size = *shared.page_size.lock().unwrap();
    let page: Vec<&String> = groups.iter().skip(skip).take(size).collect();
    let mut answer = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
        "value": page,
    });
    if skip + size < groups.len() {
        let base = shared.base.lock().unwrap().clone();
        answer["@odata.nextLink"] = json!(format!(
            "{base}/v1.0/me/getMemberObjects?$skiptoken={}",
            skip + size
        ));
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/json;odata.metadata=minimal",
        )],
        answer.to_string(),
    )
        .into_response()
}
