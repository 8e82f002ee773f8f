//! Where the browser goes after sign-in: only ever a path of this application.

use percent_encoding::percent_decode_str;

/// The longest return path kept; anything longer is not a page a user navigated to.
const MAX_LEN: usize = 2048;

/// Returns `candidate` when it is a local path of this application (`/orders?id=7`), and `/`
/// for anything else: absolute URLs, scheme-relative `//host`, `/\host`, paths that turn into
/// one of those once a browser decodes or normalizes them, control characters, over-long input.
///
/// Browsers are lenient in ways that make "starts with `/`" unsafe: they strip tabs and
/// newlines, treat `\` like `/`, and some proxies decode `%2f` before routing. So the check
/// rejects whatever would be suspicious in the raw form *or* in any of its percent-decodings,
/// and finally lets a real URL parser confirm the path stays on this origin.
///
/// ```
/// use axum_identity_runtime::safe_return_path;
///
/// assert_eq!(safe_return_path("/orders?id=7"), "/orders?id=7");
/// assert_eq!(safe_return_path("//evil.example"), "/");
/// assert_eq!(safe_return_path("/%2F%2Fevil.example"), "/");
/// assert_eq!(safe_return_path("https://evil.example/"), "/");
/// ```
pub fn safe_return_path(candidate: &str) -> String {
    if is_safe(candidate) {
        candidate.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `candidate` (a `next` from a request) as a return path within the application's root (`""`
/// for none): a safe local path under `root`, else the root's home page `<root>/`. A sign-in
/// started under `/app` does not send the browser to another application on the same host.
pub(crate) fn within_root(root: &str, candidate: &str) -> String {
    let safe = safe_return_path(candidate);
    if is_under(root, &safe) {
        safe
    } else {
        format!("{root}/")
    }
}

/// A path of this application as its own code sees it: with the root (under `Router::nest`
/// the original URI has it), or without it (a reverse proxy stripped it), when the root is
/// prepended. Unsafe paths become the home page `<root>/`.
pub(crate) fn under_root(root: &str, path: &str) -> String {
    let safe = safe_return_path(path);
    if is_under(root, &safe) {
        return safe;
    }
    within_root(root, &format!("{root}{safe}"))
}

/// Whether the path a browser makes of `path` (dot segments resolved, `%2e` included) is
/// `root` or below it, in the raw form and in each percent-decoding.
fn is_under(root: &str, path: &str) -> bool {
    if root.is_empty() {
        return true;
    }
    let base = url::Url::parse("http://local.invalid/").expect("a valid base URL");
    let mut form = path.to_owned();
    for _ in 0..4 {
        let Ok(joined) = base.join(&form) else {
            return false;
        };
        let resolved = joined.path();
        let below = resolved
            .strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !below {
            return false;
        }
        let Ok(decoded) = percent_decode_str(&form).decode_utf8() else {
            return false;
        };
        if decoded == form {
            break;
        }
        form = decoded.into_owned();
    }
    true
}

fn is_safe(candidate: &str) -> bool {
    if candidate.is_empty() || candidate.len() > MAX_LEN {
        return false;
    }
    // Decode up to three times: double and triple encoding are classic bypasses. Every form
    // must pass; a form that does not decode cleanly to UTF-8 is rejected outright.
    let mut form = candidate.to_owned();
    for _ in 0..4 {
        if !looks_local(&form) || !stays_on_origin(&form) {
            return false;
        }
        let decoded = match percent_decode_str(&form).decode_utf8() {
            Ok(decoded) => decoded.into_owned(),
            Err(_) => return false,
        };
        if decoded == form {
            break;
        }
        form = decoded;
    }
    stays_on_origin(candidate)
}

fn looks_local(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace() && c != ' ')
}

fn stays_on_origin(path: &str) -> bool {
    // `local.invalid` cannot be registered (RFC 6761), so any other host means the path escaped.
    let base = url::Url::parse("http://local.invalid/").expect("a valid base URL");
    match base.join(path) {
        Ok(joined) => {
            joined.scheme() == "http"
                && joined.host_str() == Some("local.invalid")
                // `/.//host` normalizes to `//host`: harmless in a browser, but one proxy
                // rewrite away from a scheme-relative URL.
                && !joined.path().starts_with("//")
                && joined.port().is_none()
                && joined.username().is_empty()
                && joined.password().is_none()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{safe_return_path, under_root, within_root};

    #[test]
    fn return_paths_stay_within_the_root() {
        for path in ["/app", "/app/", "/app/a?b=c", "/app?x=1", "/app/caf%C3%A9"] {
            assert_eq!(within_root("/app", path), path, "{path}");
        }
        for path in [
            "/",
            "/other",
            "/application",
            "/app/../admin",
            "/app/%2e%2e/admin",
            "/app/.%2E/admin",
            "/app/..%2fadmin",
            "/app/..%252fadmin",
            "//evil.example/app/",
            "https://evil.example/app/",
        ] {
            assert_eq!(within_root("/app", path), "/app/", "{path}");
        }
        assert_eq!(within_root("", "/other"), "/other");
        assert_eq!(within_root("", "//evil.example"), "/");
    }

    #[test]
    fn the_root_is_prepended_to_a_path_without_it() {
        assert_eq!(under_root("/app", "/app/reports?y=1"), "/app/reports?y=1");
        assert_eq!(under_root("/app", "/reports?y=1"), "/app/reports?y=1");
        assert_eq!(under_root("/app", "/"), "/app/");
        assert_eq!(under_root("/app", "/application"), "/app/application");
        assert_eq!(under_root("/app", "/../admin"), "/app/");
        assert_eq!(under_root("/app", "//evil.example"), "/app/");
        assert_eq!(under_root("", "/reports"), "/reports");
    }

    #[test]
    fn local_paths_are_kept() {
        for path in [
            "/",
            "/a",
            "/a/b?c=d&e=%20f",
            "/call_api#x",
            "/caf%C3%A9",
            "/a b",
        ] {
            assert_eq!(safe_return_path(path), path, "{path}");
        }
    }

    #[test]
    fn everything_that_can_leave_the_origin_falls_back_to_root() {
        let cases = [
            "",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/%5cevil.example",
            "/%2f%2fevil.example",
            "/%252f%252fevil.example",
            "/%25252f%25252fevil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\r\nLocation: https://evil.example",
            "/%0d%0aSet-Cookie:x=y",
            "/%E0%A4%A",
            "@evil.example",
            "/\u{3000}/evil.example",
            "/.%2f/evil.example",
            "/./%2fevil.example",
        ];
        for case in cases {
            assert_eq!(safe_return_path(case), "/", "{case:?}");
        }
        assert_eq!(safe_return_path(&format!("/{}", "a".repeat(3000))), "/");
    }
}
