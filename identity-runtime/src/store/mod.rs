//! What is kept between requests, and how: the typed, versioned session record and the rules of
//! a session's lifetime (`session`), the claims as stored and their parsed copies (`claims`),
//! tokens encrypted at rest (`seal`), the refresh lock shared by instances (`lock`, with its
//! Redis and PostgreSQL implementations) and values claimed once across instances
//! (`single_use`), and a kept token renewed once for every caller waiting (`token_slot`). May use `core`; knows nothing of providers or of HTTP.

pub(crate) mod claims;
pub(crate) mod lock;
pub(crate) mod seal;
pub(crate) mod session;
pub(crate) mod single_use;
pub(crate) mod token_slot;
