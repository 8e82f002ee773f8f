//! The callback's and the login route's parameter parsing never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    axum_identity_runtime::__fuzz::callback_params(data);
});
