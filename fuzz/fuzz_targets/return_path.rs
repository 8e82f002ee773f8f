//! Whatever a return path looks like, the result is either the input unchanged or `/`, and
//! it always resolves to a page of this origin.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    axum_identity_runtime::__fuzz::return_path(data);
});
