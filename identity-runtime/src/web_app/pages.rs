//! The pages the library shows itself: errors, "signed out" and the Device Code page, and the
//! headers its own responses carry. Applications replace the pages by implementing [`Pages`]
//! and passing it to [`AuthBuilder::pages`](crate::AuthBuilder::pages).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::core::error::Error;
use crate::core::response::NO_STORE;

/// The headers of the library's own pages: never framed (clickjacking), never sniffed, never
/// cached, no `Referer`, and nothing loaded from elsewhere (the pages are self-contained).
const PAGE_HEADERS: [(HeaderName, &str); 3] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// One of the library's pages, with its headers.
pub(crate) fn page(status: StatusCode, html: String) -> Response {
    (status, PAGE_HEADERS, NO_STORE, Html(html)).into_response()
}

/// Renders an error as its page, with the status it deserves. The error and its causes go to
/// the log under a reference that the page shows, so a support request can find them; the page
/// itself says only what the user can do.
pub(crate) fn render_error(
    error: &Error,
    pages: &dyn Pages,
    app_name: &str,
    login_url: &str,
) -> Response {
    let status = error.status();
    let reference = reference();
    // The chain may carry text from the request (a provider's `error_description`); `chain()`
    // escapes its control characters, so it cannot forge a log line.
    if status.is_server_error() {
        let what = error.failure_label();
        tracing::error!(error = %error.chain(), %reference, "{what}");
    } else {
        tracing::info!(error = %error.chain(), %reference, "sign-in rejected");
    }
    let page = ErrorPage {
        app_name,
        status,
        title: error.title(),
        message: &error.public_message(),
        login_url: error.can_sign_in_again().then_some(login_url),
        reference: &reference,
    };
    let mut response = self::page(status, pages.error(&page));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    response
}

/// A short random reference for an error: enough to find its log line.
fn reference() -> String {
    openidconnect::CsrfToken::new_random_len(6).secret().clone()
}

/// The built-in error page, for an error rendered where no [`Auth`](crate::Auth) is at hand
/// (the app's own pages and paths are used wherever one is).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        render_error(&self, &DefaultPages, "", "/login")
    }
}

/// What an error page shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ErrorPage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// A short title.
    pub title: &'a str,
    /// What happened, for the user. Not HTML-escaped yet.
    pub message: &'a str,
    /// Where to sign in again, when that is the way out.
    pub login_url: Option<&'a str>,
    /// The reference under which the details were logged.
    pub reference: &'a str,
}

/// What the signed-out page shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedOutPage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// Where to sign in again.
    pub login_url: &'a str,
}

/// What the page that lets the user choose a provider shows, in an application with several
/// (a sign-in without `?provider=`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderChoicePage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// Each provider's name, as the application named it, and the login URL that signs in
    /// there (and returns to the page that asked).
    pub providers: &'a [(&'a str, String)],
}

/// What the sign-out confirmation page shows: the page a sign-out request gets when it may not
/// come from the user (a link on another site, a prefetch).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOutPage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// Where the form posts: the logout path.
    pub action: &'a str,
    /// The hidden `csrf` field the form must send.
    pub csrf: &'a str,
}

/// What the page that starts a Device Code sign-in shows: a button. It is what a request gets
/// that could not keep the code it would start (no session cookie yet, a `HEAD`, a prefetch),
/// so that only a person's click makes the application ask the provider for a code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCodeStartPage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// Where the form goes (`GET`): the login path.
    pub action: &'a str,
    /// The hidden fields the form must send, as they are (escape them).
    pub fields: &'a [(&'a str, &'a str)],
}

/// What the Device Code page shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCodePage<'a> {
    /// The application's name, as configured (may be empty).
    pub app_name: &'a str,
    /// The code the user enters at the provider.
    pub user_code: &'a str,
    /// Where to enter it.
    pub verification_uri: &'a str,
    /// A link that carries the code already, when the provider gives one.
    pub verification_uri_complete: Option<&'a str>,
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds until the page should reload itself to check whether the user signed in.
    pub refresh_seconds: u64,
}

/// The HTML of the pages the library serves. Every method has a default; override the ones
/// your application wants to look like the rest of it. Whatever you interpolate into your
/// HTML must be escaped: [`escape_html`] does that.
///
/// ```
/// use axum_identity_runtime::{Pages, SignedOutPage, escape_html};
///
/// struct MyPages;
///
/// impl Pages for MyPages {
///     fn signed_out(&self, page: &SignedOutPage<'_>) -> String {
///         format!("<p>Bye! <a href=\"{}\">Sign in</a></p>", escape_html(page.login_url))
///     }
/// }
/// ```
pub trait Pages: Send + Sync + 'static {
    /// An error page: a bad or stale sign-in, a provider error, an unreachable provider.
    fn error(&self, page: &ErrorPage<'_>) -> String {
        let action = match page.login_url {
            Some(url) => format!(
                r#"<p><a class="button" href="{}">Sign in again</a></p>"#,
                escape_html(url)
            ),
            None => String::new(),
        };
        layout(
            page.app_name,
            page.title,
            &format!(
                "<h1>{}</h1><p>{}</p>{action}<p class=\"muted\">Error code: {} · Reference: {}</p>",
                escape_html(page.title),
                escape_html(page.message),
                page.status.as_u16(),
                escape_html(page.reference)
            ),
        )
    }

    /// The Device Code page: the code, where to enter it, and a reload every
    /// `refresh_seconds` so the page completes by itself once the user has signed in.
    fn device_code(&self, page: &DeviceCodePage<'_>) -> String {
        let complete = match page
            .verification_uri_complete
            .filter(|url| is_safe_link(url))
        {
            Some(url) => format!(
                r#"<p>Or open <a href="{0}" target="_blank" rel="noopener noreferrer">this link</a>, which carries the code already.</p>"#,
                escape_html(url)
            ),
            None => String::new(),
        };
        // The provider's answer names the address; only a web address becomes a link.
        let place = if is_safe_link(page.verification_uri) {
            format!(
                r#"<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>"#,
                escape_html(page.verification_uri)
            )
        } else {
            format!("<code>{}</code>", escape_html(page.verification_uri))
        };
        let body = format!(
            r#"<h1>Sign in on another device</h1>
<p>Go to {place} and enter this code:</p>
<p class="code" aria-label="Your sign-in code">{code}</p>
{complete}
<p class="muted" role="status">This page continues by itself once you have signed in. The code expires in {minutes} min.</p>"#,
            code = escape_html(page.user_code),
            minutes = page.expires_in.div_ceil(60),
        );
        layout(page.app_name, "Sign in", &body).replacen(
            "<meta name=\"referrer\" content=\"no-referrer\">",
            &format!("<meta name=\"referrer\" content=\"no-referrer\">\n<meta http-equiv=\"refresh\" content=\"{}\">", page.refresh_seconds),
            1,
        )
    }

    /// The page that starts a Device Code sign-in: a form that goes (`GET`) to `action` with
    /// the hidden `fields`.
    fn device_code_start(&self, page: &DeviceCodeStartPage<'_>) -> String {
        let fields: String = page
            .fields
            .iter()
            .map(|(name, value)| {
                format!(
                    r#"<input type="hidden" name="{}" value="{}">"#,
                    escape_html(name),
                    escape_html(value)
                )
            })
            .collect();
        layout(
            page.app_name,
            "Sign in",
            &format!(
                r#"<h1>Sign in on another device</h1><p>You will get a code to enter at the identity provider, on this or any other device.</p><form method="get" action="{}">{fields}<p><button class="button" type="submit">Get a sign-in code</button></p></form>"#,
                escape_html(page.action),
            ),
        )
    }

    /// The choice of provider, in an application with several: a link to each provider's
    /// sign-in.
    fn choose_provider(&self, page: &ProviderChoicePage<'_>) -> String {
        let links: String = page
            .providers
            .iter()
            .map(|(name, url)| {
                format!(
                    r#"<p><a class="button" href="{}">Sign in with {}</a></p>"#,
                    escape_html(url),
                    escape_html(name)
                )
            })
            .collect();
        layout(
            page.app_name,
            "Sign in",
            &format!("<h1>How do you sign in?</h1>{links}"),
        )
    }

    /// The sign-out confirmation: a form that posts to `action` with the hidden `csrf` field.
    fn sign_out(&self, page: &SignOutPage<'_>) -> String {
        layout(
            page.app_name,
            "Sign out",
            &format!(
                r#"<h1>Sign out?</h1><form method="post" action="{}"><input type="hidden" name="csrf" value="{}"><p><button class="button" type="submit">Sign out</button></p></form>"#,
                escape_html(page.action),
                escape_html(page.csrf)
            ),
        )
    }

    /// The page shown after sign-out when the application configures no other destination.
    fn signed_out(&self, page: &SignedOutPage<'_>) -> String {
        layout(
            page.app_name,
            "Signed out",
            &format!(
                r#"<h1>You have signed out{}</h1><p>Your session has ended on this device.</p><p><a class="button" href="{}">Sign in again</a></p>"#,
                if page.app_name.is_empty() {
                    String::new()
                } else {
                    format!(" of {}", escape_html(page.app_name))
                },
                escape_html(page.login_url)
            ),
        )
    }
}

/// The built-in pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPages;

impl Pages for DefaultPages {}

/// Whether a URL from the provider may become a link: `https`, or `http` on loopback (for
/// development). Anything else (`javascript:`, `data:`, plain http elsewhere) is shown as text.
pub fn is_safe_link(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Escapes text for use in HTML element content and quoted attribute values.
///
/// ```
/// assert_eq!(
///     axum_identity_runtime::escape_html(r#"<a href="x">'&'</a>"#),
///     "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The shell of every built-in page: self-contained (no external resources, so it works
/// offline and under a strict CSP), readable on a phone, light and dark.
pub(crate) fn layout(app_name: &str, title: &str, body: &str) -> String {
    let app = escape_html(app_name);
    let full_title = if app_name.is_empty() {
        escape_html(title)
    } else {
        format!("{} · {app}", escape_html(title))
    };
    let header = if app_name.is_empty() {
        String::new()
    } else {
        format!(r#"<header>{app}</header>"#)
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{full_title}</title>
<style>
:root {{ color-scheme: light dark; --fg: #1b1f24; --bg: #f4f5f7; --card: #fff; --muted: #5b6573; --accent: #2358c4; --on-accent: #fff; }}
@media (prefers-color-scheme: dark) {{ :root {{ --fg: #e8eaed; --bg: #16181c; --card: #22252b; --muted: #a0a8b3; --accent: #7aa5ff; --on-accent: #0b1a33; }} }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center; justify-content: center; padding: 1.5rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }}
header {{ font-weight: 600; font-size: 1.05rem; color: var(--fg); margin-bottom: 1rem; letter-spacing: .02em; }}
main {{ width: 100%; max-width: 28rem; background: var(--card); border-radius: 12px; padding: 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.06); }}
h1 {{ font-size: 1.4rem; margin: 0 0 .75rem; }}
p {{ margin: .75rem 0; overflow-wrap: anywhere; }}
.muted {{ color: var(--muted); font-size: .875rem; }}
main a:not(.button) {{ color: var(--accent); }}
.code {{ font: 600 1.6rem/1.2 ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing: .15em; padding: .75rem 1rem; border-radius: 8px; background: var(--bg); text-align: center; }}
a.button, button.button {{ border: 0; font: inherit; cursor: pointer; }}
a.button {{ display: inline-block; min-height: 44px; padding: .7rem 1.25rem; border-radius: 8px; background: var(--accent); color: var(--on-accent); text-decoration: none; font-weight: 600; }}
button.button {{ display: inline-block; min-height: 44px; padding: .7rem 1.25rem; border-radius: 8px; background: var(--accent); color: var(--on-accent); font-weight: 600; }}
a.button:hover {{ background: color-mix(in srgb, var(--accent) 85%, black); }}
a.button:focus-visible {{ outline: 3px solid var(--fg); outline-offset: 2px; }}
@media (max-width: 480px) {{ body {{ justify-content: flex-start; padding: 12vh 1rem 1rem; }} main {{ padding: 1.5rem; }} a.button {{ display: block; text-align: center; }} }}
</style>
</head>
<body>
{header}
<main>
{body}
</main>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_escapes_everything_it_is_given() {
        let html = DefaultPages.error(&ErrorPage {
            app_name: "<b>App</b>",
            status: StatusCode::BAD_REQUEST,
            title: "Sign-in failed",
            message: "provider said <script>alert(1)</script>",
            login_url: Some("/login?next=/a&b=\"c\""),
            reference: "<r>",
        });
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>App</b>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("/login?next=/a&amp;b=&quot;c&quot;"));
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn the_librarys_pages_cannot_be_framed_sniffed_or_cached() {
        let response = page(StatusCode::OK, "<p>x</p>".into());
        let headers = response.headers();
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }

    #[test]
    fn an_error_page_shows_a_reference_and_not_the_cause() {
        let error =
            Error::unavailable_because("GET https://idp", std::io::Error::other("secret detail"));
        let response = render_error(&error, &DefaultPages, "", "/login");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn only_web_addresses_become_links_on_the_device_code_page() {
        assert!(is_safe_link("https://microsoft.com/devicelogin"));
        assert!(is_safe_link("http://127.0.0.1:3000/device"));
        assert!(is_safe_link("http://localhost/device"));
        for unsafe_url in [
            "javascript:alert(1)",
            "data:text/html,x",
            "http://idp.example/device",
            "no url",
        ] {
            assert!(!is_safe_link(unsafe_url), "{unsafe_url}");
            let html = DefaultPages.device_code(&DeviceCodePage {
                app_name: "",
                user_code: "ABCD",
                verification_uri: unsafe_url,
                verification_uri_complete: Some(unsafe_url),
                expires_in: 60,
                refresh_seconds: 5,
            });
            assert!(
                !html.contains(&format!("href=\"{}\"", escape_html(unsafe_url))),
                "{html}"
            );
        }
    }

    #[test]
    fn references_differ() {
        assert_ne!(reference(), reference());
        assert_eq!(reference().len(), 8);
    }
}
