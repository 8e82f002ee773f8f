//! Services with state that serve both halves: the user's token cache with single flight and
//! the refresh lock (`tokens`), back-channel logout markers (`backchannel`), app-only tokens
//! (`app_tokens`) and tokens on behalf of a caller (`on_behalf_of`), the downstream-API client
//! (`downstream`, its errors in `downstream_error`) and the groups of an overage read from
//! Microsoft Graph (`graph`). May use `oidc`, `store` and `core`; knows nothing of extractors,
//! routes or pages.

pub(crate) mod app_tokens;
pub(crate) mod backchannel;
pub(crate) mod downstream;
pub(crate) mod downstream_error;
pub(crate) mod graph;
pub(crate) mod managed_identity;
pub(crate) mod on_behalf_of;
pub(crate) mod tokens;
