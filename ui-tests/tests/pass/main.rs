//! Every handler shape `#[login_required]`, `#[authorization_required]` and `identity_routes!`
//! support, as users write them: each module is compiled under its own `#![deny(warnings)]`,
//! so the generated code must not warn either, and its test builds the router it describes.
//! The misuses, and the compiler errors they must give, are in `tests/ui.rs`.

mod associated_fn_without_scopes;
mod attributes;
mod authorization_required;
mod body_extractor_last;
mod crate_override;
mod debug_handler;
mod extractors_around_context;
mod fifteen_extractors;
mod generic_handler;
mod identity_routes;
mod nested_and_macro_generated;
mod no_arguments;
mod no_context;
mod optional_context_without_attribute;
mod patterns;
mod scopes;
mod state;
mod step_up_and_provider;
mod visibility;
