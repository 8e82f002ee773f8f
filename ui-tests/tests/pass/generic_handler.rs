#![deny(warnings)]

use axum::{Json, Router, routing::post};
use axum_identity::{Context, login_required};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

#[derive(Deserialize, Serialize)]
struct Note {
    text: String,
}

#[login_required(scopes = ["Notes.Write"])]
async fn echo<T>(context: Context, Json(value): Json<T>) -> Json<T>
where
    T: DeserializeOwned + Serialize + Send + 'static,
{
    let _ = context;
    Json(value)
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/echo", post(echo::<Note>));
}
