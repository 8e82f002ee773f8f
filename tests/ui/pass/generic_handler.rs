#![deny(warnings)]

use axum::{routing::post, Json, Router};
use axum_identity::{login_required, Context};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

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

fn main() {
    let _app: Router = Router::new().route("/echo", post(echo::<Note>));
}
