//! A web API's reading of the `Authorization` header and of the token in it (the JOSE header,
//! the payload, the type, issuer, audience, time and kind checks) never panics, whatever the
//! bytes: bearer tokens are unauthenticated input on every request.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    axum_identity_runtime::__fuzz::bearer_token(data);
});
