//! Open-redirect cases, generated: return paths (`?next=`) an attacker would try to send a user
//! elsewhere after sign-in. The known bypass families are combined — scheme-relative `//`,
//! backslashes, tab/CR/LF inside the path, percent- and double-encoding, `@` userinfo, unicode
//! slashes, dots and full-width forms, IPv6, decimal, octal and hexadecimal hosts,
//! `javascript:`/`data:`/`vbscript:`, over-long and nested paths — into thousands of candidates.
//!
//! Whatever the library makes of a candidate must be a path of the app, as a browser reads it:
//! [`assert_local`] resolves it against the app's URL with the WHATWG URL rules (the `url`
//! crate) and checks the origin, instead of trusting a string prefix.

use std::collections::BTreeSet;

use url::Url;

/// The app's origin in [`assert_local`]; the other hosts of the cases are the attacker's.
pub const APP: &str = "http://app.test/";

/// Where an attacker wants the user to land, written the ways a URL parser still reads as a
/// host other than the app's.
const HOSTS: &[&str] = &[
    "evil.example",
    "evil.example.",
    "EVIL.example:443",
    "evil.example%2e",
    "app.test.evil.example",
    "app.test@evil.example",
    "app.test:pass@evil.example",
    "evil.example%40app.test",
    "evil.example\\@app.test",
    "evil。example",
    "evil．example",
    "ｅｖｉｌ．ｅｘａｍｐｌｅ",
    "evil\u{2024}example",
    "[::1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:a9fe:a9fe]",
    "2130706433",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "017700000001",
    "127.1",
    "169.254.169.254",
    "localhost",
];

/// What makes a browser read the rest as another host (or another scheme).
const ESCAPES: &[&str] = &[
    "//",
    "///",
    "////",
    "/\\",
    "\\/",
    "\\\\",
    "\\",
    "/\t/",
    "/\n/",
    "/\r\n/",
    "\t//",
    " //",
    "\u{0}//",
    "/%09/",
    "/%0a/",
    "/%0d%0a/",
    "/%2f",
    "%2f%2f",
    "/%2F/",
    "/%5c",
    "%5c%5c",
    "/%252f%252f",
    "/%25252f%25252f",
    "/%5C/",
    "/%E3%80%80/",
    "/.//",
    "/./..//",
    "/../../",
    "/%2e%2e/%2e%2e//",
    "/.%2f/",
    "/%2e/%2f",
    "\u{2215}\u{2215}",
    "\u{ff0f}\u{ff0f}",
    "/\u{ff0f}",
    "\u{2044}\u{2044}",
    "\u{29f5}\u{29f5}",
    "\u{ff3c}\u{ff3c}",
    "/\u{3000}/",
    "http://",
    "https://",
    "HTTPS://",
    "http:/",
    "http:",
    "https:\\\\",
    "https:/\\",
    "ftp://",
    "//\\",
    "/\\/",
    "\\\\/",
];

/// What follows the host.
const TAILS: &[&str] = &["", "/", "/account?x=1", "#/", "?/", "%2f..", "@app.test/"];

/// Script and data URLs, and ways of spelling their schemes.
const SCHEMES: &[&str] = &[
    "javascript:",
    "JaVaScRiPt:",
    " javascript:",
    "java\tscript:",
    "java\nscript:",
    "javascript%3a",
    "%6a%61%76%61%73%63%72%69%70%74:",
    "data:",
    "DATA:",
    "vbscript:",
    "/javascript:",
    "\u{ff4a}avascript:",
];
const SCRIPTS: &[&str] = &[
    "alert(1)",
    "//%0aalert(1)",
    "alert(document.domain)//",
    "text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "text/html,<script>alert(1)</script>",
    "msgbox(1)",
];

/// How a candidate is finally written into `next=`.
#[derive(Clone, Copy)]
enum Encoding {
    Raw,
    /// Every byte outside `[A-Za-z0-9.-]` as `%XX`.
    Percent,
    /// [`Encoding::Percent`] twice.
    Double,
    /// Only slashes, backslashes and `@` encoded.
    Separators,
}

const ENCODINGS: [Encoding; 4] = [
    Encoding::Raw,
    Encoding::Percent,
    Encoding::Double,
    Encoding::Separators,
];

fn encode(input: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Raw => input.to_owned(),
        Encoding::Percent => percent_all(input),
        Encoding::Double => percent_all(&percent_all(input)),
        Encoding::Separators => input
            .chars()
            .map(|c| match c {
                '/' => "%2F".to_owned(),
                '\\' => "%5C".to_owned(),
                '@' => "%40".to_owned(),
                c => c.to_string(),
            })
            .collect(),
    }
}

fn percent_all(input: &str) -> String {
    input
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every generated candidate, without duplicates, in a stable order.
pub fn cases() -> Vec<String> {
    let mut cases = BTreeSet::new();
    let mut add = |case: String| {
        for encoding in ENCODINGS {
            cases.insert(encode(&case, encoding));
            // Behind a path that looks local, as a second hop would be.
            cases.insert(format!("/{}", encode(&case, encoding)));
        }
    };
    for escape in ESCAPES {
        for host in HOSTS {
            for tail in TAILS {
                add(format!("{escape}{host}{tail}"));
            }
        }
    }
    for scheme in SCHEMES {
        for script in SCRIPTS {
            add(format!("{scheme}{script}"));
        }
    }
    // Nested: a local-looking path whose own return parameter is the escape.
    for escape in ESCAPES.iter().take(12) {
        add(format!("/login?next={escape}evil.example"));
        add(format!("/a/../{escape}evil.example"));
        add(format!("/a/b/c/../../../{escape}evil.example"));
    }
    // Over-long: far past any real path, with the escape at the end or the start.
    for length in [2049, 5000, 70_000] {
        add(format!("/{}//evil.example", "a".repeat(length)));
        add(format!("//evil.example/{}", "a".repeat(length)));
        add(format!("/{}", "../".repeat(length / 3)));
    }
    cases.into_iter().collect()
}

/// `result`, what the library kept of `candidate`, is a path of the app: resolved against
/// [`APP`] with the WHATWG URL rules it stays on the app's origin, and it is a path (not an
/// absolute or scheme-relative URL, no backslash a browser would turn into a slash).
pub fn assert_local(result: &str, candidate: &str) {
    if let Err(why) = check_local(result) {
        panic!("{candidate:?} -> {result:?}: {why}");
    }
}

/// What [`assert_local`] checks, as a `Result`: `Err` says how `result` leaves the app.
pub fn check_local(result: &str) -> Result<(), String> {
    let base = Url::parse(APP).unwrap();
    let joined = base
        .join(result)
        .map_err(|e| format!("does not parse: {e}"))?;
    if joined.origin() != base.origin() {
        return Err(format!("escapes to {joined}"));
    }
    if !joined.username().is_empty() || joined.password().is_some() {
        return Err(format!("carries userinfo: {joined}"));
    }
    if !result.starts_with('/') || result.starts_with("//") || result.contains('\\') {
        return Err("is not a plain path".to_owned());
    }
    if joined.path().starts_with("//") {
        return Err(format!("normalizes to a scheme-relative path: {joined}"));
    }
    Ok(())
}
