//! The small pieces of HTTP answers the library writes itself, written once: the headers that
//! keep sign-in state out of caches and `Referer`s, the redirect of the flows, and the quoting
//! and setting of a `WWW-Authenticate` challenge.
//!
//! In `core` because the answers are written on three floors — the back-channel logout receiver
//! (`services`), the web app's flows and extractors, and the web API's rejections — and `core`
//! is the one all three reach. The pages themselves (their HTML and its headers) stay with the
//! web app.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

/// Never cached: the header of the answers about a caller's credentials that are no page and
/// lead nowhere (the web API's rejections; back-channel logout's answers, as its §2.8 asks).
pub(crate) const NOT_CACHED: (HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// The headers of every response that carries or leads to sign-in state: never cached, and no
/// `Referer` that could leak a code or a state to the next site.
pub(crate) const NO_STORE: [(HeaderName, &str); 2] =
    [NOT_CACHED, (header::REFERRER_POLICY, "no-referrer")];

/// A redirect (`303`) that must not be cached, nor leak its URL as a `Referer`.
pub(crate) fn redirect(to: &str) -> Response {
    (NO_STORE, Redirect::to(to)).into_response()
}

/// How a parameter value of a `WWW-Authenticate` challenge is quoted. Either way only visible
/// ASCII and the space get through; other characters are dropped, never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// RFC 9110's quoted-string, with `"` and `\` escaped: for values the application chose
    /// (its name, its login URL), shown whole.
    Escaped,
    /// RFC 6750 §3, whose parameter values allow no escape: `"` and `\` are dropped too, and at
    /// most 300 characters are kept (a reason may quote a claim of the token, which the caller
    /// chose).
    Bearer,
}

/// The longest value [`Quoting::Bearer`] keeps, in characters.
const MAX_BEARER_CHARS: usize = 300;

/// `value` as a quoted parameter value of a challenge, the double quotes included.
pub(crate) fn quoted(value: &str, quoting: Quoting) -> String {
    let visible = value.chars().filter(|c| matches!(c, ' '..='~'));
    let mut out = String::with_capacity(value.len().min(MAX_BEARER_CHARS) + 2);
    out.push('"');
    match quoting {
        Quoting::Escaped => {
            for c in visible {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        Quoting::Bearer => out.extend(
            visible
                .filter(|c| !matches!(c, '"' | '\\'))
                .take(MAX_BEARER_CHARS),
        ),
    }
    out.push('"');
    out
}

/// Sets `WWW-Authenticate` to `challenge`. Its parameters were quoted with [`quoted`], so it is
/// always a valid header value; one that is not would be left out rather than sent broken.
pub(crate) fn set_challenge(headers: &mut HeaderMap, challenge: &str) {
    if let Ok(value) = HeaderValue::from_str(challenge) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_value_keeps_quotes_and_backslashes_escaped() {
        assert_eq!(
            quoted("Notes \"beta\" \\ é\n", Quoting::Escaped),
            r#""Notes \"beta\" \\ ""#
        );
    }

    #[test]
    fn a_bearer_value_drops_what_rfc_6750_forbids_and_is_bounded() {
        assert_eq!(
            quoted("it expired \"badly\"\\\n", Quoting::Bearer),
            "\"it expired badly\""
        );
        assert_eq!(
            quoted(&"x".repeat(1000), Quoting::Bearer).len(),
            MAX_BEARER_CHARS + 2
        );
        assert_eq!(quoted(&"x".repeat(1000), Quoting::Escaped).len(), 1002);
    }

    #[test]
    fn a_redirect_is_neither_cached_nor_a_referer() {
        let response = redirect("/next");
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[header::LOCATION], "/next");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
    }
}
