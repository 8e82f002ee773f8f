//! The macros of [axum-identity](https://docs.rs/axum-identity) as a user meets them, tested in
//! a crate of their own: `tests/ui.rs` checks every misuse against the exact compiler errors it
//! must produce (trybuild), and `tests/pass` compiles every supported handler shape under
//! `#![deny(warnings)]`. The crate is apart so that trybuild, which builds a project with the
//! tested crate's dependencies, checks against what users depend on (axum and axum-identity)
//! and nothing of the main test suite's.
