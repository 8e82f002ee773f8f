//! A scripted browser: an HTTP client that keeps cookies, follows redirects one by one, submits
//! HTML forms, and knows the test provider's pages (sign-in, consent, device confirmation,
//! sign-out confirmation).
//!
//! Sign-in with OpenID Connect is a dance of redirects between the app and the provider, held
//! together by cookies on both sides. Tests drive that dance end to end with this instead of a
//! real browser; following each redirect by hand lets them see every hop (`Page::chain`) and stop
//! where they want (`Browser::stop_at`).
//!
//! Errors in the transport panic with the URL involved: this is test code.

use std::fmt;
use std::sync::{Arc, Mutex};

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// Redirects (and auto-submitted forms) followed before giving up.
const MAX_HOPS: usize = 20;

/// A cookie-keeping HTTP client that plays the user's browser.
pub struct Browser {
    /// The underlying client: no automatic redirects, cookies in [`Browser::jar`].
    pub client: reqwest::Client,
    /// The cookie store, for tests that check which cookies the app set.
    pub jar: Arc<Jar>,
    stop_prefixes: Mutex<Vec<String>>,
}

/// The response a navigation ended on.
pub struct Page {
    /// URL of the last response fetched.
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// Every response on the way, in order, as (status, URL requested); the last one is this page.
    pub chain: Vec<(StatusCode, Url)>,
    /// When following stopped because the next URL starts with a prefix given to
    /// [`Browser::stop_at`]: that URL, not fetched. The page itself is then the redirect (or the
    /// auto-submitting form) that pointed there.
    pub stopped_at: Option<Url>,
}

/// An HTML form as a browser would submit it.
#[derive(Debug, Clone)]
pub struct Form {
    pub id: Option<String>,
    /// Absolute: resolved against the page's URL.
    pub action: Url,
    /// `GET` or `POST`.
    pub method: Method,
    /// Successful controls in document order: hidden, text, password, checked boxes, selects...
    pub fields: Vec<(String, String)>,
    /// Submit buttons in document order, as (name, value); unnamed buttons send nothing.
    pub buttons: Vec<(Option<String>, String)>,
}

enum Body {
    None,
    Form(Vec<(String, String)>),
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// The user code and the verification links (`verification_uri`, then
/// `verification_uri_complete` when shown) a Device Code page shows.
pub fn device_code_on(page: &Page) -> (String, Vec<String>) {
    let html = Html::parse_document(&page.body);
    let code = html
        .select(&Selector::parse("p.code").unwrap())
        .next()
        .unwrap_or_else(|| panic!("no code on the page: {}", page.body))
        .text()
        .collect::<String>();
    let links = html
        .select(&Selector::parse("main a").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    (code, links)
}

impl Browser {
    pub fn new() -> Self {
        Self::with_client(reqwest::Client::builder().user_agent("axum-identity-tests"))
    }

    /// A browser whose HTTP client starts from `builder` (a resolver, trusted certificates,
    /// timeouts); its cookies and redirects are the browser's own.
    pub fn with_client(builder: reqwest::ClientBuilder) -> Self {
        let jar = Arc::new(Jar::default());
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("reqwest client builds");
        Browser {
            client,
            jar,
            stop_prefixes: Mutex::new(Vec::new()),
        }
    }

    /// Stops following before any URL that starts with `prefix`, e.g. a redirect URI where no app
    /// listens. The page returned then has [`Page::stopped_at`] set.
    pub fn stop_at(&self, prefix: impl Into<String>) -> &Self {
        self.stop_prefixes.lock().unwrap().push(prefix.into());
        self
    }

    /// Forgets all [`stop_at`](Self::stop_at) prefixes.
    pub fn clear_stops(&self) {
        self.stop_prefixes.lock().unwrap().clear();
    }

    /// The `Cookie` header this browser would send to `url`.
    pub fn cookies_for(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    }

    /// The value of cookie `name` this browser would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies_for(url)?.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// GET `url` as a script's `fetch()` of JSON does: this browser's cookies,
    /// `Accept: application/json`, no redirect followed.
    pub async fn api_get(&self, url: impl AsRef<str>) -> reqwest::Response {
        self.client
            .get(url.as_ref())
            .header("accept", "application/json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {}: {e}", url.as_ref()))
    }

    /// GET `url`, following redirects and auto-submitting forms to the end.
    pub async fn get(&self, url: impl AsRef<str>) -> Page {
        self.navigate(Method::GET, parse(url.as_ref()), Body::None, Vec::new())
            .await
    }

    /// GET `url` and follow, but stop before fetching a URL for which `stop` says yes (the
    /// page returned then has [`Page::stopped_at`] set; [`resume`](Self::resume) continues).
    pub async fn get_until(
        &self,
        url: impl AsRef<str>,
        stop: impl Fn(&Url) -> bool + Sync,
    ) -> Page {
        self.navigate_until(
            Method::GET,
            parse(url.as_ref()),
            Body::None,
            Vec::new(),
            &stop,
        )
        .await
    }

    /// POST `fields` as a urlencoded form to `url`, following redirects to the end.
    pub async fn post_form(&self, url: impl AsRef<str>, fields: &[(&str, &str)]) -> Page {
        let fields = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.navigate(
            Method::POST,
            parse(url.as_ref()),
            Body::Form(fields),
            Vec::new(),
        )
        .await
    }

    /// GET `url` and return the first response as it is, redirect or not.
    pub async fn get_no_follow(&self, url: impl AsRef<str>) -> Page {
        let url = parse(url.as_ref());
        let mut chain = Vec::new();
        self.fetch(&Method::GET, &url, &Body::None, &mut chain)
            .await
    }

    /// Continues a navigation that stopped at a [`stop_at`](Self::stop_at) prefix (remove the
    /// prefix first with [`clear_stops`](Self::clear_stops) if it still applies).
    pub async fn resume(&self, page: Page) -> Page {
        let next = page
            .stopped_at
            .clone()
            .expect("resume: the page did not stop at a prefix");
        self.navigate(Method::GET, next, Body::None, page.chain)
            .await
    }

    /// Submits `form` as a browser does when a button is clicked: `button` names the submit
    /// button (its name/value is sent); `None` takes the form's first submit button, as pressing
    /// Enter does. Follows redirects to the end.
    pub async fn submit(&self, form: &Form, button: Option<&str>) -> Page {
        self.submit_after(form, button, Vec::new()).await
    }

    async fn submit_after(
        &self,
        form: &Form,
        button: Option<&str>,
        chain: Vec<(StatusCode, Url)>,
    ) -> Page {
        let (method, url, body) = form.request(button);
        self.navigate(method, url, body, chain).await
    }

    /// Signs in at the provider as `login` (any password works there) and approves whatever it
    /// asks next, then follows every redirect to the end (usually back to the app).
    ///
    /// `page` must be one of the provider's pages: the sign-in form, the consent form, or the
    /// device confirmation. Each is handled as it appears: confirm the device code, fill in user
    /// name and password, allow the requested scopes.
    pub async fn sign_in(&self, page: Page, login: &str) -> Page {
        let mut page = page;
        let mut handled = 0;
        let mut logins = 0;
        loop {
            assert!(
                handled < 10,
                "sign_in: the provider keeps asking; last page: {page:?}"
            );
            let forms = page.forms();
            if let Some(form) = forms.iter().find(|f| f.has("login") && f.has("password")) {
                logins += 1;
                assert!(
                    logins == 1,
                    "sign_in: the sign-in form came back (rejected?): {page:?}"
                );
                let mut form = form.clone();
                form.set("login", login);
                form.set("password", "password");
                page = self.submit_after(&form, None, page.chain).await;
            } else if let Some(form) = forms.iter().find(|f| f.get("prompt") == Some("consent")) {
                let form = form.clone();
                page = self.submit_after(&form, None, page.chain).await;
            } else if let Some(form) = forms
                .iter()
                .find(|f| f.get("confirm") == Some("yes") && f.has("user_code"))
            {
                // Device flow: "is this the code your device shows?" Continue (the first button).
                let form = form.clone();
                page = self.submit_after(&form, None, page.chain).await;
            } else {
                assert!(
                    handled > 0,
                    "sign_in: not a provider sign-in page: {page:?}"
                );
                return page;
            }
            handled += 1;
        }
    }

    /// Submits the provider's sign-out confirmation ("Yes, sign me out") on `page`, the page
    /// RP-initiated logout (`end_session_endpoint`) shows, and follows redirects to the end
    /// (the `post_logout_redirect_uri` when the app gave one).
    pub async fn confirm_logout(&self, page: Page) -> Page {
        let form = page
            .forms()
            .into_iter()
            .find(|f| f.action.path().ends_with("/session/end/confirm"))
            .unwrap_or_else(|| panic!("confirm_logout: no sign-out confirmation form on {page:?}"));
        self.submit_after(&form, Some("logout"), page.chain).await
    }

    /// Types `user_code` into the provider's device-flow code page (`verification_uri`) and
    /// submits it; the result is the device confirmation page, which [`sign_in`](Self::sign_in)
    /// takes.
    pub async fn enter_user_code(&self, page: Page, user_code: &str) -> Page {
        let mut form = page
            .forms()
            .into_iter()
            .find(|f| f.has("user_code"))
            .unwrap_or_else(|| panic!("enter_user_code: no user code form on {page:?}"));
        form.set("user_code", user_code);
        self.submit_after(&form, None, page.chain).await
    }

    /// Opens `url` in an app signing in with the Device Code flow, as a person does: a first
    /// visit (no session cookie yet) gets the page with a button that starts the sign-in, and
    /// the person clicks it. Any other page is returned as it is.
    pub async fn get_device_code(&self, url: impl AsRef<str>) -> Page {
        let page = self.get(url).await;
        self.start_device_code(page).await
    }

    /// Clicks the "get a sign-in code" button when `page` is the page that starts a Device Code
    /// sign-in; returns any other page as it is.
    pub async fn start_device_code(&self, page: Page) -> Page {
        if !page.body.contains("Get a sign-in code") {
            return page;
        }
        let form = page
            .form_with_field("next")
            .unwrap_or_else(|| panic!("the start page has no form: {}", page.body));
        self.submit_after(&form, None, page.chain).await
    }

    /// On another device (this browser, a phone): opens `verification_uri`, types `user_code`
    /// and signs `user` in, as a person approving a Device Code sign-in does.
    pub async fn approve_device_code(&self, verification_uri: &str, user_code: &str, user: &str) {
        let entry = self.get(verification_uri).await;
        let confirm = self.enter_user_code(entry, user_code).await;
        let done = self.sign_in(confirm, user).await;
        assert!(done.body.contains("Device signed in"), "{}", done.body);
    }

    /// A script's request (`fetch` from a page: `Sec-Fetch-Mode: cors`, any type accepted) for
    /// `url`, with this browser's cookies, the answer as it comes: no redirect is followed.
    pub async fn script_fetch(&self, url: impl AsRef<str>) -> reqwest::Response {
        let url = url.as_ref();
        self.client
            .get(url)
            .header("accept", "*/*")
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-dest", "empty")
            .send()
            .await
            .unwrap_or_else(|e| panic!("fetching {url}: {e}"))
    }

    /// A Device Code sign-in completed the way a person does it: `user` approves `user_code` at
    /// `verification_uri` on another device (a fresh browser, their phone), then this browser's
    /// Device Code page at `device_page` completes by itself: the page it leads to.
    pub async fn sign_in_on_another_device(
        &self,
        verification_uri: &str,
        user_code: &str,
        user: &str,
        device_page: &str,
    ) -> Page {
        Browser::new()
            .approve_device_code(verification_uri, user_code, user)
            .await;
        self.wait_for_device_sign_in(device_page).await
    }

    /// Reloads the Device Code page at `device_page` once a second, as the page itself does,
    /// until it leads elsewhere (the sign-in completed): that page. Each reload before must be
    /// the page again (200).
    pub async fn wait_for_device_sign_in(&self, device_page: &str) -> Page {
        let path = Url::parse(device_page)
            .unwrap_or_else(|e| panic!("bad URL {device_page}: {e}"))
            .path()
            .to_owned();
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let page = self.get(device_page).await;
            if page.url.path() != path {
                return page;
            }
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        }
        panic!("the Device Code page at {device_page} did not complete in 20 s");
    }

    /// Fetches, then keeps following redirects and auto-submitting forms (the `form_post`
    /// pages oidc-provider sends, which a real browser submits with JavaScript).
    async fn navigate(
        &self,
        method: Method,
        url: Url,
        body: Body,
        chain: Vec<(StatusCode, Url)>,
    ) -> Page {
        self.navigate_until(method, url, body, chain, &|_| false)
            .await
    }

    async fn navigate_until(
        &self,
        mut method: Method,
        mut url: Url,
        mut body: Body,
        mut chain: Vec<(StatusCode, Url)>,
        stop: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Page {
        let mut hops = 0;
        loop {
            let page = self.fetch(&method, &url, &body, &mut chain).await;

            let next = if page.status.is_redirection() {
                let Some(location) = page.location() else {
                    return page;
                };
                // 307/308 repeat the request as it was; the others turn into a GET.
                if !matches!(
                    page.status,
                    StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
                ) {
                    method = Method::GET;
                    body = Body::None;
                }
                location
            } else if let Some(form) = page.auto_submit_form() {
                let (m, u, b) = form.request(None);
                method = m;
                body = b;
                u
            } else {
                return page;
            };

            if stop(&next) || self.stops_before(&next) {
                return Page {
                    stopped_at: Some(next),
                    ..page
                };
            }
            hops += 1;
            assert!(
                hops <= MAX_HOPS,
                "more than {MAX_HOPS} redirects; chain: {:?}",
                page.chain
            );
            chain = page.chain;
            url = next;
        }
    }

    fn stops_before(&self, url: &Url) -> bool {
        self.stop_prefixes
            .lock()
            .unwrap()
            .iter()
            .any(|p| url.as_str().starts_with(p.as_str()))
    }

    async fn fetch(
        &self,
        method: &Method,
        url: &Url,
        body: &Body,
        chain: &mut Vec<(StatusCode, Url)>,
    ) -> Page {
        // Fetch Metadata, as a browser sends it on a navigation: `none` for one the user started
        // (a typed URL), `same-origin` when every page before it in this navigation (the page a
        // form was on, the redirects) has the target's origin, `cross-site` otherwise.
        let site = if chain.is_empty() {
            "none"
        } else if chain.iter().all(|(_, u)| u.origin() == url.origin()) {
            "same-origin"
        } else {
            "cross-site"
        };
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document");
        if let Body::Form(fields) = body {
            request = request.form(fields);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url} failed: {e}; chain so far: {chain:?}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the body of {method} {url} failed: {e}"));
        chain.push((status, url.clone()));
        Page {
            url: url.clone(),
            status,
            headers,
            body,
            chain: std::mem::take(chain),
            stopped_at: None,
        }
    }
}

fn parse(url: &str) -> Url {
    Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url:?}: {e}"))
}

impl Page {
    /// The `Location` header, resolved against the page URL.
    pub fn location(&self) -> Option<Url> {
        let location = self.headers.get(LOCATION)?.to_str().ok()?;
        self.url.join(location).ok()
    }

    /// A query parameter of where the navigation ended: [`stopped_at`](Self::stopped_at) if set,
    /// else the page URL. Handy for the `code` and `state` at a redirect URI.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = self.stopped_at.as_ref().unwrap_or(&self.url);
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The page's header `name` as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body of {} is not JSON ({e}): {}", self.url, self.body))
    }

    /// All forms on the page.
    pub fn forms(&self) -> Vec<Form> {
        let html = Html::parse_document(&self.body);
        let form_selector = Selector::parse("form").expect("valid selector");
        html.select(&form_selector)
            .map(|form| parse_form(&html, form, &self.url))
            .collect()
    }

    /// The first form with a control named `name`.
    pub fn form_with_field(&self, name: &str) -> Option<Form> {
        self.forms().into_iter().find(|f| f.has(name))
    }

    /// The form a script on this page submits on load (oidc-provider's `form_post` pages), if any.
    fn auto_submit_form(&self) -> Option<Form> {
        if !self.status.is_success() || !self.body.contains("<form") {
            return None;
        }
        let html = Html::parse_document(&self.body);
        let scripts = Selector::parse("script").expect("valid selector");
        let submits = html
            .select(&scripts)
            .any(|s| s.text().collect::<String>().contains(".submit()"));
        if submits {
            self.forms().into_iter().next()
        } else {
            None
        }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body: String = self.body.chars().take(3000).collect();
        f.debug_struct("Page")
            .field("status", &self.status)
            .field("url", &self.url.as_str())
            .field("stopped_at", &self.stopped_at.as_ref().map(Url::as_str))
            .field(
                "chain",
                &self
                    .chain
                    .iter()
                    .map(|(s, u)| format!("{} {}", s.as_u16(), u))
                    .collect::<Vec<_>>(),
            )
            .field("body", &body)
            .finish()
    }
}

impl Form {
    /// The value of the first field named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// Sets field `name` (the first one so named), adding it if absent.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// The request a browser sends for this form with `button` (see [`Browser::submit`]).
    fn request(&self, button: Option<&str>) -> (Method, Url, Body) {
        let mut fields = self.fields.clone();
        let pressed = match button {
            Some(name) => Some(
                self.buttons
                    .iter()
                    .find(|(n, _)| n.as_deref() == Some(name))
                    .unwrap_or_else(|| {
                        panic!(
                            "form {} has no button named {name:?}: {self:?}",
                            self.action
                        )
                    }),
            ),
            None => self.buttons.first(),
        };
        if let Some((Some(name), value)) = pressed {
            fields.push((name.clone(), value.clone()));
        }
        if self.method == Method::GET {
            let mut url = self.action.clone();
            url.set_query(None);
            url.query_pairs_mut().extend_pairs(fields.iter());
            (Method::GET, url, Body::None)
        } else {
            (Method::POST, self.action.clone(), Body::Form(fields))
        }
    }
}

/// Reads a form the way HTML says a browser submits it: its own controls plus those elsewhere
/// that point to it with `form="<id>"`, minus disabled ones, unchecked boxes and file inputs.
fn parse_form(html: &Html, form: ElementRef<'_>, page_url: &Url) -> Form {
    let id = form.value().attr("id").map(str::to_owned);
    let action = match form.value().attr("action").map(str::trim) {
        Some(action) if !action.is_empty() => page_url
            .join(action)
            .unwrap_or_else(|e| panic!("form action {action:?} on {page_url}: {e}")),
        _ => page_url.clone(),
    };
    let method = match form.value().attr("method") {
        Some(m) if m.eq_ignore_ascii_case("post") => Method::POST,
        _ => Method::GET,
    };

    let controls = Selector::parse("input, button, select, textarea").expect("valid selector");
    let mine = form
        .select(&controls)
        .filter(|c| match c.value().attr("form") {
            Some(owner) => Some(owner) == id.as_deref(),
            None => true,
        });
    let elsewhere: Vec<ElementRef<'_>> = match &id {
        Some(id) => html
            .select(&controls)
            .filter(|c| c.value().attr("form") == Some(id.as_str()))
            .filter(|c| !c.ancestors().any(|a| a.id() == form.id()))
            .collect(),
        None => Vec::new(),
    };

    let mut fields = Vec::new();
    let mut buttons = Vec::new();
    for control in mine.chain(elsewhere) {
        let element = control.value();
        if element.attr("disabled").is_some() {
            continue;
        }
        let name = element.attr("name").map(str::to_owned);
        let value = element.attr("value").unwrap_or("").to_owned();
        match element.name() {
            "button" => {
                let kind = element.attr("type").unwrap_or("submit");
                if kind.eq_ignore_ascii_case("submit") {
                    buttons.push((name, value));
                }
            }
            "input" => {
                let kind = element.attr("type").unwrap_or("text").to_ascii_lowercase();
                match kind.as_str() {
                    "submit" | "image" => buttons.push((name, value)),
                    "button" | "reset" | "file" => {}
                    "checkbox" | "radio" => {
                        if let Some(name) = name
                            && element.attr("checked").is_some()
                        {
                            let value = element.attr("value").unwrap_or("on").to_owned();
                            fields.push((name, value));
                        }
                    }
                    _ => {
                        if let Some(name) = name {
                            fields.push((name, value));
                        }
                    }
                }
            }
            "select" => {
                let Some(name) = name else { continue };
                let options = Selector::parse("option").expect("valid selector");
                let all: Vec<ElementRef<'_>> = control.select(&options).collect();
                let chosen = all
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or_else(|| all.first());
                if let Some(option) = chosen {
                    let value = option
                        .value()
                        .attr("value")
                        .map(str::to_owned)
                        .unwrap_or_else(|| option.text().collect::<String>().trim().to_owned());
                    fields.push((name, value));
                }
            }
            "textarea" => {
                if let Some(name) = name {
                    fields.push((name, control.text().collect()));
                }
            }
            _ => {}
        }
    }

    Form {
        id,
        action,
        method,
        fields,
        buttons,
    }
}
