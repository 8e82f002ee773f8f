//! The ground floor: what every other folder may use, and which uses nothing of this crate outside
//! this folder. Errors (`error`), the settings and the configuration errors that name them
//! (`setting`), the injected clock (`clock`), the rules of scopes, roles and groups (`grants`) and
//! the claims read with them (`claim_set`, the core of `User` and `ApiClaims`), request parameters
//! and scope lists (`params`), the headers, redirect and challenge quoting of the library's own
//! answers (`response`), local return paths (`return_path`), the HTTP client's rules (`http`) and a
//! limit of starts per minute (`start_limit`), and the reading of an API's `WWW-Authenticate`
//! challenge (`www_authenticate`). Nothing here holds state across requests, talks to a
//! provider or touches a session.

pub(crate) mod claim_set;
pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod grants;
pub(crate) mod http;
pub(crate) mod params;
pub(crate) mod response;
pub(crate) mod return_path;
pub(crate) mod setting;
pub(crate) mod start_limit;
pub(crate) mod www_authenticate;
