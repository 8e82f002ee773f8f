//! Who is who: the application registration, the tenants, the user, B2C's user flows, and the
//! issuers and host names Microsoft's services use for them.

/// The application registration.
pub const CLIENT_ID: &str = "5c2f1f3e-8d0a-4b61-9f5e-2a7d3c4b1e90";
/// Shaped like an Entra client secret (they carry `~`, `.`, `_` and `-`).
pub const CLIENT_SECRET: &str = "Qx8Q~test.secret_for-loopback~only";

/// The Entra ID workforce tenant `contoso.onmicrosoft.com`.
pub const TENANT_A: &str = "9f6b1c2e-3a4d-4e5f-8a7b-1c2d3e4f5a6b";
/// Another Entra ID tenant (`fabrikam.onmicrosoft.com`).
pub const TENANT_B: &str = "2b7e3c1d-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
/// The tenant of personal Microsoft accounts, which `consumers` issues for.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The External ID (CIAM) tenant `contoso.onmicrosoft.com` behind `contoso.ciamlogin.com`.
pub const CIAM_TENANT: &str = "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
/// Another External ID tenant.
pub const OTHER_CIAM_TENANT: &str = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4";
/// The Azure AD B2C tenant `contoso.onmicrosoft.com` behind `contoso.b2clogin.com`.
pub const B2C_TENANT: &str = "b2c0ffee-1234-4a5b-8c9d-0123456789ab";

/// The signed-in user's `sub` (Entra's is pairwise: per application).
pub const ALICE_SUB: &str = "hQ3nYbqXfA-5Tfk0bM3u0TzP1Vwz6yK2cC7x9Lr4dEo";
/// The user's object id (B2C's `sub` is the object id).
pub const ALICE_OID: &str = "00000000-0000-0000-66f3-3332eca7ea81";

/// The External ID custom URL domain.
pub const CUSTOM_DOMAIN: &str = "login.contoso.com";

/// The B2C user flows this tenant has, as their admin named them.
pub const SUSI: &str = "B2C_1_susi";
pub const EDIT: &str = "B2C_1_edit";
pub const RESET: &str = "B2C_1_reset";
pub(super) const B2C_POLICIES: [&str; 3] = [SUSI, EDIT, RESET];

/// An API of the B2C tenant: asking for it is what makes B2C issue an access token.
pub const API_SCOPE: &str = "https://contoso.onmicrosoft.com/tasks-api/tasks.read";

/// B2C's error descriptions, as its authorization endpoint sends them.
pub fn aadb2c90118() -> String {
    "AADB2C90118: The user has forgotten their password.\r\nCorrelation ID: 1f3c2a0e-6b1d-4c8e-9a57-0d4e5f6a7b8c\r\nTimestamp: 2025-01-01 12:00:00Z\r\n".into()
}
pub fn aadb2c90091() -> String {
    "AADB2C90091: The user has cancelled entering self-asserted information.\r\nCorrelation ID: 2a4d3b1f-7c2e-4d9f-8b68-1e5f6a7b8c9d\r\nTimestamp: 2025-01-01 12:00:00Z\r\n".into()
}

/// `https://login.microsoftonline.com/<tenant>/v2.0`, the issuer Entra ID uses for `tenant`.
pub fn entra_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// `https://<tid>.ciamlogin.com/<tid>/v2.0`, the issuer External ID uses.
pub fn ciam_issuer(tenant: &str) -> String {
    format!("https://{tenant}.ciamlogin.com/{tenant}/v2.0")
}

/// `https://login.contoso.com/<tid>/v2.0`, the custom domain's issuer.
pub fn custom_domain_issuer() -> String {
    format!("https://{CUSTOM_DOMAIN}/{CIAM_TENANT}/v2.0")
}

/// `https://contoso.b2clogin.com/<tenant-guid>/v2.0/`, the one issuer of every B2C user flow.
pub fn b2c_issuer() -> String {
    format!("https://contoso.b2clogin.com/{B2C_TENANT}/v2.0/")
}

/// Whether `host` is one of the names this provider answers for (and the only names the test
/// clients resolve).
pub fn is_microsoft_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "login.microsoftonline.com"
        || host == CUSTOM_DOMAIN
        || one_label_under(&host, ".ciamlogin.com")
        || one_label_under(&host, ".b2clogin.com")
}

fn one_label_under(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}
