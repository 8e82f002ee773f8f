//! What one sign-in asks the provider beyond the application's settings: `login_hint`,
//! `domain_hint`, `prompt` and `ui_locales` from `GET /login?...` (or [`LoginUrl`]), the
//! `claims` of a claims challenge, and the `max_age` / `acr_values` of a step-up.
//!
//! Everything here arrives in a URL anyone can craft, so each value is checked and a value
//! that fails is dropped (and logged), never forwarded: the sign-in goes on without it.

use std::collections::HashMap;

use serde_json::Value;

use crate::core::params::{Prompt, encode};
use crate::store::session::StepUp;

/// The longest `login_hint` (and `domain_hint`) passed on, in bytes.
const MAX_HINT_BYTES: usize = 256;
/// The longest claims request passed on, in bytes: Entra's claims challenges are a few hundred.
const MAX_CLAIMS_BYTES: usize = 4096;
/// At most this many languages in `ui_locales`.
const MAX_LOCALES: usize = 8;

/// A sign-in's own parameters, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SignInParams {
    pub(crate) login_hint: Option<String>,
    pub(crate) domain_hint: Option<String>,
    pub(crate) prompt: Option<Prompt>,
    /// Space-separated language tags.
    pub(crate) ui_locales: Option<String>,
    /// A claims request (a JSON object), from a claims challenge.
    pub(crate) claims: Option<String>,
    pub(crate) step_up: Option<StepUp>,
}

impl SignInParams {
    /// The parameters of a `GET <login_path>` query; what does not pass its check is dropped.
    pub(crate) fn from_query(query: &HashMap<String, String>) -> Self {
        let take = |name: &'static str, check: fn(&str) -> bool| {
            let value = query.get(name)?;
            if check(value) {
                Some(value.clone())
            } else {
                tracing::info!(
                    parameter = name,
                    bytes = value.len(),
                    "sign-in parameter dropped: it is not a value the provider may be sent"
                );
                None
            }
        };
        let prompt = take("prompt", |p| Prompt::parse(p).is_some())
            .as_deref()
            .and_then(Prompt::parse);
        let max_age = take("max_age", |m| m.len() <= 10 && m.parse::<u64>().is_ok())
            .and_then(|m| m.parse().ok());
        let acr = take("acr", is_acr);
        SignInParams {
            login_hint: take("login_hint", is_login_hint),
            domain_hint: take("domain_hint", is_domain_hint),
            prompt,
            ui_locales: take("ui_locales", is_ui_locales),
            claims: take("claims", is_claims_request),
            step_up: (max_age.is_some() || acr.is_some()).then_some(StepUp { max_age, acr }),
        }
    }

    /// The language tags the provider takes, when it lists them (`ui_locales_supported`).
    pub(crate) fn keep_locales(&mut self, supported: Option<&[String]>) {
        let (Some(asked), Some(supported)) = (&self.ui_locales, supported) else {
            return;
        };
        let kept: Vec<&str> = asked
            .split(' ')
            .filter(|tag| supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if kept.len() < asked.split(' ').count() {
            tracing::info!("sign-in languages the provider does not list were dropped");
        }
        self.ui_locales = (!kept.is_empty()).then(|| kept.join(" "));
    }

    /// The query parameters that carry them on a login URL.
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut push = |name, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name, value));
            }
        };
        push("login_hint", self.login_hint.clone());
        push("domain_hint", self.domain_hint.clone());
        push("prompt", self.prompt.map(|p| p.as_str().to_owned()));
        push("ui_locales", self.ui_locales.clone());
        push("claims", self.claims.clone());
        if let Some(step_up) = &self.step_up {
            push("max_age", step_up.max_age.map(|m| m.to_string()));
            push("acr", step_up.acr.clone());
        }
        pairs
    }
}

/// Printable text (an email address, a user name) of at most 256 bytes.
fn is_login_hint(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_HINT_BYTES && !value.chars().any(char::is_control)
}

/// A domain name, or Entra's `consumers` / `organizations`.
fn is_domain_hint(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_HINT_BYTES
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// BCP 47 language tags (`en`, `fr-CA`, `zh-Hant-TW`), separated by single spaces.
fn is_ui_locales(value: &str) -> bool {
    let tags: Vec<&str> = value.split(' ').collect();
    tags.len() <= MAX_LOCALES
        && tags.iter().all(|tag| {
            let mut parts = tag.split('-');
            let primary = parts.next().unwrap_or_default();
            (2..=8).contains(&primary.len())
                && primary.chars().all(|c| c.is_ascii_alphabetic())
                && parts.all(|p| {
                    (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric())
                })
        })
}

/// A JSON object of a few kilobytes at most (OpenID Connect Core §5.5).
fn is_claims_request(value: &str) -> bool {
    value.len() <= MAX_CLAIMS_BYTES
        && serde_json::from_str::<Value>(value).is_ok_and(|v| v.is_object())
}

/// One authentication context class reference: printable ASCII without spaces or quotes.
fn is_acr(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_HINT_BYTES
        && value
            .chars()
            .all(|c| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

/// A login URL with sign-in parameters of its own: a hint of who signs in, the organization's
/// domain, a `prompt`, the languages of the provider's pages. Made by
/// [`Auth::login_link`](crate::Auth::login_link); the same parameters work on `GET /login`
/// as query parameters. Values that would not pass the checks of `GET /login` (a hint with
/// control characters or over 256 bytes, a language that is not a language tag) are dropped
/// there, not forwarded.
///
/// ```
/// use axum_identity_runtime::{Auth, Prompt};
///
/// let auth = Auth::builder()
///     .client_id("id")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("http://127.0.0.1:3000")
///     .build()?;
/// let url = auth
///     .login_link("/reports")
///     .login_hint("ada@contoso.com")
///     .prompt(Prompt::SelectAccount)
///     .to_string();
/// assert_eq!(
///     url,
///     "/login?next=%2Freports&login_hint=ada%40contoso.com&prompt=select_account"
/// );
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LoginUrl {
    base: String,
    params: SignInParams,
}

impl LoginUrl {
    pub(crate) fn new(base: String) -> Self {
        LoginUrl {
            base,
            params: SignInParams::default(),
        }
    }

    /// `login_hint`: who is signing in (an email address or user name), so the provider can
    /// skip asking.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.params.login_hint = Some(hint.into());
        self
    }

    /// `domain_hint`: the user's organization (Entra: a verified domain, `consumers` or
    /// `organizations`), so the provider goes straight to its sign-in page.
    pub fn domain_hint(mut self, hint: impl Into<String>) -> Self {
        self.params.domain_hint = Some(hint.into());
        self
    }

    /// `prompt` for this sign-in. With [`Prompt::None`] a provider that would have to show a
    /// page answers "sign-in needed", which comes back as a page offering to sign in, not as
    /// an error.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.params.prompt = Some(prompt);
        self
    }

    /// `ui_locales`: the languages of the provider's pages, most preferred first (`"fr-CA fr
    /// en"`). Languages the provider does not list as supported are dropped.
    pub fn ui_locales(mut self, locales: impl Into<String>) -> Self {
        self.params.ui_locales = Some(locales.into());
        self
    }
}

impl std::fmt::Display for LoginUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)?;
        let mut separator = if self.base.contains('?') { '&' } else { '?' };
        for (name, value) in self.params.query() {
            write!(f, "{separator}{name}={}", encode(&value))?;
            separator = '&';
        }
        Ok(())
    }
}

impl From<LoginUrl> for String {
    fn from(url: LoginUrl) -> String {
        url.to_string()
    }
}

#[cfg(test)]
mod tests;
