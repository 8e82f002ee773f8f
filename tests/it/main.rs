//! The integration suite, one binary: each module is a topic. They run against the real OpenID
//! provider (`tests/provider`), the providers inside the test process (`testkit`) and real
//! session stores, all on loopback.

mod app_root;
mod backchannel_logout;
mod conformance;
mod credentials;
mod device_code;
mod downstream;
mod examples;
mod faults;
mod group_overage;
mod grpc;
mod handler_shapes;
mod hardening;
mod http_conventions;
mod managed_identity;
mod mcp_server;
mod microsoft;
mod misconfiguration;
mod oidc_scopes;
mod provider_selftest;
mod provider_shapes;
mod resource_metadata;
mod resources;
mod roles;
mod second_provider;
mod secrets_stay_secret;
mod session_expiry;
mod session_security;
mod sign_in;
mod sign_in_rules;
mod stores;
mod test_util;
mod tokens;
mod two_instances;
mod two_providers;
mod web_api;
