//! Shared test support: `mod support;` from an integration test in `tests/`.
#![allow(dead_code)]

pub mod browser;
pub mod provider;
pub mod app;
pub mod hostile;
pub mod microsoft;
