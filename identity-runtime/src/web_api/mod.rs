//! The web API: `ApiAuth` and its builder (`auth`), the extractors and rejections of bearer
//! requests (`extract`) and the answers they become (`answer`, with the challenge's `Realm` in
//! `challenge`), the RFC 9728 protected-resource metadata (`metadata`), the tower layer that
//! protects any `http::Request` service, gRPC included (`layer`), the byte-bounded cache of
//! verified tokens (`verified`), RFC 7662 introspection of opaque tokens (`introspection`) and the
//! OpenAPI security scheme (`openapi`, feature `openapi`); `ApiContext` as a token source of
//! the downstream-API client, on behalf of the caller (`downstream`).
//! The top floor: it may use every other folder (an API may hold the web app's `Auth` as its
//! downstream client), and nothing uses it.

pub(crate) mod answer;
pub(crate) mod auth;
pub(crate) mod challenge;
pub(crate) mod downstream;
pub(crate) mod extract;
pub(crate) mod introspection;
pub(crate) mod layer;
pub(crate) mod metadata;
#[cfg(feature = "openapi")]
pub(crate) mod openapi;
pub(crate) mod verified;
