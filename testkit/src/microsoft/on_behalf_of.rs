//! Entra's on-behalf-of grant, including its conditional-access refusal (multi-factor
//! authentication required, with a claims challenge).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::kernel::{json_response, oauth_error};

/// The assertion an on-behalf-of request presents to get Entra's conditional-access answer
/// (multi-factor authentication required, with a claims challenge); a signed incoming token
/// with the claim `"needs_mfa": true` gets the same answer.
pub const NEEDS_MFA: &str = "incoming-token-needing-mfa";

/// The claims challenge of that answer.
pub const MFA_CLAIMS: &str = r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#;

/// Entra's on-behalf-of grant: a token per call whose value names the incoming token and the
/// scope, or the conditional-access refusal for [`NEEDS_MFA`].
pub(super) fn on_behalf_of(form: &std::collections::HashMap<String, String>) -> Response {
    if form.get("requested_token_use").map(String::as_str) != Some("on_behalf_of") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS50027: requested_token_use must be on_behalf_of.",
        );
    }
    let assertion = form.get("assertion").cloned().unwrap_or_default();
    let scope = form.get("scope").cloned().unwrap_or_default();
    // A signed incoming token asks for the refusal with a `needs_mfa` claim.
    let wants_mfa = assertion.split('.').count() == 3
        && crate::credentials::jwt_part(&assertion, 1)["needs_mfa"] == json!(true);
    if assertion == NEEDS_MFA || wants_mfa {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "interaction_required",
                "error_description": "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the API.",
                "error_codes": [50076],
                "suberror": "basic_action",
                "claims": MFA_CLAIMS,
            }),
        );
    }
    static ISSUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": format!("obo-{}-{n}", assertion.len()),
        }),
    )
}
