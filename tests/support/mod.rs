//! Shared test support: `mod support;` from an integration test in `tests/`.
#![allow(dead_code)]

pub mod app;
pub mod bearer;
pub mod browser;
pub mod hostile;
pub mod microsoft;
pub mod provider;
pub mod stores;
