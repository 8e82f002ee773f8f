#![deny(warnings)]

use axum::{
    Form, Json, Router,
    http::StatusCode,
    routing::{get, post},
};
use axum_identity::{Context, login_required};
use serde::Deserialize;

#[derive(Deserialize)]
struct Note {
    text: String,
}

#[login_required(scopes = ["Notes.Write"])]
async fn create_json(context: Context, Json(note): Json<Note>) -> StatusCode {
    let _ = (context, note.text);
    StatusCode::CREATED
}

#[login_required]
async fn create_form(ctx: Context, Form(note): Form<Note>) -> StatusCode {
    let _ = (ctx, note.text);
    StatusCode::CREATED
}

// No `Context`: the inserted extractor goes first, the body stays last.
#[login_required(scopes = ["Notes.Write"])]
async fn create_anonymous_body(Json(note): Json<Note>) -> StatusCode {
    let _ = note.text;
    StatusCode::CREATED
}

#[login_required]
async fn echo(body: String) -> String {
    body
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/json", post(create_json))
        .route("/form", post(create_form))
        .route("/anonymous", post(create_anonymous_body))
        .route("/echo", get(echo).post(echo));
}
