//! The web API: `ApiAuth` and its builder (`auth`), the extractors and rejections of bearer
//! requests (`extract`) and the byte-bounded cache of verified tokens (`verified`). The top
//! floor: it may use every other folder (an API may hold the web app's `Auth` as its downstream
//! client), and nothing uses it.

pub(crate) mod auth;
pub(crate) mod extract;
pub(crate) mod verified;
