//! Talking HTTP to the provider: the default client (no redirects, timeouts) and bodies read
//! with a size limit.

use std::time::Duration;

/// The largest response read from the provider. Real token responses and discovery documents
/// are a few kilobytes (a 20 KB ID token with many groups is fine); a hostile or broken
/// provider must not make us buffer megabytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why a response body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the response failed")]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body, refusing it as soon as it grows past `limit`.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a request failed, when the reason is a TLS certificate the client does not trust: the
/// words of the TLS library, found in the error's chain.
pub(crate) fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.to_ascii_lowercase().contains("certificate") {
            return Some(text.chars().take(200).collect());
        }
        source = cause.source();
    }
    None
}

/// The client used unless the application brings its own.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    default_client_builder(timeout).build()
}

/// [`default_client`]'s settings, for a client that needs one more (no proxy, say).
pub(crate) fn default_client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    // The TLS stack this crate's features chose, whatever another crate turned on in the same
    // reqwest: rustls when a rustls feature is on (the default, also with `native-tls` beside
    // it), native-tls when it alone is. reqwest by itself prefers native-tls whenever it is
    // compiled in.
    #[cfg(any(
        feature = "rustls-tls-native-roots",
        feature = "rustls-tls-webpki-roots"
    ))]
    let builder = builder.use_rustls_tls();
    #[cfg(all(
        feature = "native-tls",
        not(any(
            feature = "rustls-tls-native-roots",
            feature = "rustls-tls-webpki-roots"
        ))
    ))]
    let builder = builder.use_native_tls();
    builder
        // Following redirects would let a hostile document point us anywhere (SSRF), and the
        // OAuth endpoints never legitimately redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("axum-identity/", env!("CARGO_PKG_VERSION")))
}

/// The HTTP client the OAuth requests go through: reqwest, with the response size bounded.
pub(crate) struct BoundedClient(pub(crate) reqwest::Client);

impl BoundedClient {
    /// A client for one openidconnect request that remembers what the provider answered, so a
    /// failure can be logged with the answer's status, content type and first characters
    /// (openidconnect's own errors drop the status).
    pub(crate) fn recording(&self) -> Recording<'_> {
        Recording {
            client: self,
            answer: std::sync::Mutex::new(None),
        }
    }
}

/// What the provider answered, in short, for a log line.
#[derive(Debug, Clone)]
pub(crate) struct AnswerSummary {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) content_type: String,
    pub(crate) head: String,
}

/// How many characters of an answer's body a log line quotes.
const HEAD_CHARS: usize = 120;

impl AnswerSummary {
    pub(crate) fn new(
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Self {
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .chars()
            .take(60)
            .collect();
        AnswerSummary {
            status,
            content_type,
            head: String::from_utf8_lossy(&body[..body.len().min(HEAD_CHARS * 4)])
                .chars()
                .take(HEAD_CHARS)
                .collect(),
        }
    }
}

impl std::fmt::Display for AnswerSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `escape_debug` keeps a hostile body from breaking the log line or the terminal.
        write!(
            f,
            "HTTP {}, content type {}, body starts \"{}\"",
            self.status,
            self.content_type.escape_debug(),
            self.head.escape_debug()
        )
    }
}

/// [`BoundedClient`] for one request, keeping the summary of the answer.
pub(crate) struct Recording<'a> {
    client: &'a BoundedClient,
    answer: std::sync::Mutex<Option<AnswerSummary>>,
}

impl Recording<'_> {
    /// The last answer's summary, if an answer came.
    pub(crate) fn answer(&self) -> Option<AnswerSummary> {
        self.answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

type HttpFuture<'c, E> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<openidconnect::HttpResponse, E>> + Send + Sync + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedClient {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = HttpFuture<'c, Self::Error>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(bounded_call(&self.0, request, None))
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Recording<'_> {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = HttpFuture<'c, Self::Error>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(bounded_call(&self.client.0, request, Some(&self.answer)))
    }
}

async fn bounded_call(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
    record: Option<&std::sync::Mutex<Option<AnswerSummary>>>,
) -> Result<openidconnect::HttpResponse, openidconnect::HttpClientError<reqwest::Error>> {
    let request = reqwest::Request::try_from(request).map_err(Box::new)?;
    let response = client.execute(request).await.map_err(Box::new)?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut builder = axum::http::Response::builder().status(status);
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    let body = read_limited(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| openidconnect::HttpClientError::Other(e.to_string()))?;
    if let Some(record) = record {
        *record.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(AnswerSummary::new(status, &headers, &body));
    }
    builder
        .body(id_token_only_answer(body))
        .map_err(openidconnect::HttpClientError::Http)
}

/// Azure AD B2C answers a code redemption that asked for no API scope with an ID token and no
/// access token (a documented B2C behaviour). The OAuth types require `access_token`, so such
/// an answer gets an empty one; the token cache never stores an empty token.
fn id_token_only_answer(body: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut fields)) =
        serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return body;
    };
    if fields.contains_key("access_token") || !fields.contains_key("id_token") {
        return body;
    }
    fields.insert("access_token".into(), "".into());
    fields
        .entry("token_type")
        .or_insert_with(|| "Bearer".into());
    serde_json::to_vec(&fields).unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_token_only_answer_gets_an_empty_access_token() {
        let fixed = id_token_only_answer(br#"{"id_token":"x"}"#.to_vec());
        let value: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(value["access_token"], "");
        assert_eq!(value["token_type"], "Bearer");
    }

    #[test]
    fn an_answer_summary_names_status_type_and_escaped_head() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("text/html"),
        );
        let body = format!("<html>\n{}", "x".repeat(500));
        let summary = AnswerSummary::new(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            &headers,
            body.as_bytes(),
        )
        .to_string();
        assert!(summary.starts_with(
            "HTTP 500 Internal Server Error, content type text/html, body starts \"<html>\\n"
        ));
        assert!(!summary.contains('\n'));
        assert!(summary.len() < 200, "{summary}");
    }

    #[test]
    fn other_answers_pass_unchanged() {
        for body in [
            br#"{"access_token":"a","id_token":"x"}"#.to_vec(),
            br#"{"error":"invalid_grant"}"#.to_vec(),
            b"not json".to_vec(),
        ] {
            assert_eq!(id_token_only_answer(body.clone()), body);
        }
    }
}
