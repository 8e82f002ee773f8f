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

/// The client used unless the application brings its own.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        // Following redirects would let a hostile document point us anywhere (SSRF), and the
        // OAuth endpoints never legitimately redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("axum-identity/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The HTTP client the OAuth requests go through: reqwest, with the response size bounded.
pub(crate) struct BoundedClient(pub(crate) reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedClient {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let response = self.0.execute(request).await.map_err(Box::new)?;
            let mut builder = axum::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = read_limited(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| openidconnect::HttpClientError::Other(e.to_string()))?;
            builder
                .body(id_token_only_answer(body))
                .map_err(openidconnect::HttpClientError::Http)
        })
    }
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
