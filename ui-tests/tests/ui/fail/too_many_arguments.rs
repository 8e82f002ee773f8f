// axum takes at most 16 extractors; the attribute would add a 17th.
use axum::http::HeaderMap;
use axum_identity::login_required;

#[login_required]
async fn index(
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
) {
}

fn main() {}
