//! Whatever a return path looks like, the result is either the input unchanged or `/`, and
//! it always resolves to a page of this origin.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(candidate) = std::str::from_utf8(data) else {
        return;
    };
    let result = axum_identity_runtime::safe_return_path(candidate);
    assert!(result == "/" || result == candidate);
    let base = url::Url::parse("http://app.test/").unwrap();
    let joined = base.join(&result).expect("a kept path parses");
    assert_eq!(
        joined.origin(),
        base.origin(),
        "{candidate:?} escaped to {joined}"
    );
    assert!(!joined.path().starts_with("//"), "{candidate:?}");
});
