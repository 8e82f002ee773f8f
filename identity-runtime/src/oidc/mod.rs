//! Who the provider is and how to talk to it: authority kinds and their issuer rules
//! (`authority`), discovery and the key cache (`provider`), this application's registration
//! and its requests to the token endpoint (`client`, with its `credential` and
//! the `claims_request` it sends), JWS parsing and
//! signature checks (`jws`) under the provider's keys decoded for ring (`keys`), ID-token and
//! access-token verification (`id_token`, `access_token`), the checks of provider settings
//! shared by both builders (`checks`) and those settings with their builder methods
//! (`provider_options`). May use `core` and `store`; holds no per-user state.

pub(crate) mod access_token;
pub(crate) mod authority;
pub(crate) mod checks;
pub(crate) mod claims_request;
pub(crate) mod client;
pub(crate) mod credential;
pub(crate) mod id_token;
pub(crate) mod jws;
pub(crate) mod keys;
pub(crate) mod managed_identity;
pub(crate) mod provider;
pub(crate) mod provider_options;
