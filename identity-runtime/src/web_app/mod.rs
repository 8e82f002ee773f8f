//! The web app: `Auth`, the composition root that owns the services (`auth`), its builder
//! (`config`), the sign-in, sign-out and Device Code flows (`login`, `logout`, `device`), the
//! extractors handlers take (`extract`), the tower layer (`layer`), the routes (`routes`) and
//! the pages (`pages`); who may sign in (`admission`: allow-lists and the sign-in hook), a
//! sign-in's own parameters (`sign_in_params`), step-up (`step_up`), claims challenges
//! (`challenge`) and the token sources of the downstream-API client (`downstream`: the user's
//! `Context`, the application's `AppOnly`). May use every folder but `web_api`.

pub(crate) mod admission;
pub(crate) mod auth;
pub(crate) mod challenge;
pub(crate) mod complete;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod device;
pub(crate) mod downstream;
pub(crate) mod extract;
pub(crate) mod layer;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod pages;
pub(crate) mod providers;
pub(crate) mod rejection;
pub(crate) mod routes;
pub(crate) mod sign_in;
pub(crate) mod sign_in_params;
pub(crate) mod step_up;
#[cfg(feature = "test-util")]
pub(crate) mod test_util;
