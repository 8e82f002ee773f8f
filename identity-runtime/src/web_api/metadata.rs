//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells a client which
//! authorization server issues tokens for this API and which scopes it knows, served at the
//! well-known path, and the URL of it that every bearer challenge names.
//!
//! MCP clients (and any client that starts from nothing but the API's URL) read it after their
//! first `401`: the challenge's `resource_metadata` leads them here, and `authorization_servers`
//! to the provider's discovery document.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};
use url::Url;

use crate::core::setting::{ConfigError, Setting};
use crate::oidc::authority::{Authority, AuthorityKind, is_loopback};

/// The well-known path of the metadata (RFC 9728 §3).
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How long clients and caches may keep the document: it changes only with the configuration.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// The resource URI, checked (RFC 9728 §1.2 and RFC 8707 §2): an absolute https URL (http on
/// loopback, for development) with neither a query nor a fragment. Returned as configured,
/// trimmed: it is the string clients send as `resource` and find again in `aud`.
pub(crate) fn check_resource(raw: &str) -> Result<(String, Url), ConfigError> {
    let raw = raw.trim();
    let invalid = |why: &str| {
        ConfigError::invalid(
            Setting::Resource,
            format!("the resource URI `{}` {why}", raw.escape_debug()),
        )
    };
    let url = Url::parse(raw).map_err(|e| invalid(&format!("is not an absolute URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => {
            return Err(invalid(
                "must be an https URL (plain http is allowed on loopback only)",
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must have neither a query nor a fragment"));
    }
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() {
        return Err(invalid("must name a host and no user"));
    }
    Ok((raw.to_owned(), url))
}

/// The issuer a client asks for tokens: the authority for any OpenID provider, the `v2.0`
/// endpoint under Microsoft's authorities (where their discovery documents are).
fn authorization_server(authority: &Authority) -> String {
    match authority.kind {
        AuthorityKind::Oidc => authority.url.clone(),
        _ => format!("{}/v2.0", authority.url),
    }
}

/// The protected-resource metadata of an API with a resource URI: the document, serialized
/// once, and where it is served.
#[derive(Debug)]
pub(crate) struct ResourceMetadata {
    /// The resource URI, as configured.
    pub(crate) resource: String,
    /// The absolute URL of the document in its path-insertion form (RFC 9728 §3.1), which the
    /// challenges name.
    pub(crate) url: String,
    /// The paths the document is served at: the well-known path, and for a resource under a
    /// path its path-insertion form too (`/.well-known/oauth-protected-resource/mcp`).
    pub(crate) paths: Vec<String>,
    pub(crate) document: Value,
    body: Bytes,
}

impl ResourceMetadata {
    pub(crate) fn new(
        resource: String,
        url: &Url,
        authority: &Authority,
        name: Option<&str>,
        scopes: &[String],
    ) -> Self {
        let path = url.path().trim_end_matches('/');
        let mut paths = vec![WELL_KNOWN.to_owned()];
        if !path.is_empty() {
            paths.push(format!("{WELL_KNOWN}{path}"));
        }
        let origin = url.origin().ascii_serialization();
        let mut document = json!({
            "resource": resource,
            "authorization_servers": [authorization_server(authority)],
            // The API reads tokens from the `Authorization` header only (RFC 6750 §2.1).
            "bearer_methods_supported": ["header"],
        });
        if !scopes.is_empty() {
            document["scopes_supported"] = json!(scopes);
        }
        if let Some(name) = name {
            document["resource_name"] = json!(name);
        }
        // No `jwks_uri`: it names keys the resource signs its own answers with, and this API
        // signs none. Nothing secret is in the document: it is built from public settings.
        let body = Bytes::from(document.to_string());
        ResourceMetadata {
            url: format!("{origin}{WELL_KNOWN}{path}"),
            resource,
            paths,
            document,
            body,
        }
    }

    /// The document with the authorization servers of further authorities the API accepts
    /// (an API with several providers lists every one).
    pub(crate) fn with_servers<'a>(
        mut self,
        more: impl IntoIterator<Item = &'a Authority>,
    ) -> Self {
        if let Some(servers) = self.document["authorization_servers"].as_array_mut() {
            for authority in more {
                let server = json!(authorization_server(authority));
                if !servers.contains(&server) {
                    servers.push(server);
                }
            }
        }
        self.body = Bytes::from(self.document.to_string());
        self
    }

    /// Whether `path` is where the document is served.
    pub(crate) fn serves(&self, path: &str) -> bool {
        path.starts_with(WELL_KNOWN) && self.paths.iter().any(|p| p == path)
    }

    /// The answer at the metadata path: the document for `GET` and `HEAD`, `405` otherwise.
    pub(crate) fn answer(&self, method: &Method) -> Response<Body> {
        let mut response = if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(self.body.clone())
            };
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            );
            // A public document: browser-based clients (MCP inspectors) read it from other
            // origins, without credentials.
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            response
        } else {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        response.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> Authority {
        Authority::oidc("https://idp.example").unwrap()
    }

    #[test]
    fn a_resource_uri_is_https_or_loopback_without_query_or_fragment() {
        for good in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com",
            "http://127.0.0.1:8000/mcp",
            "http://localhost:8000",
            " https://api.example/ ",
        ] {
            let (kept, _) = check_resource(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(kept, good.trim());
        }
        for (bad, says) in [
            ("http://mcp.example.com/mcp", "https"),
            ("ftp://mcp.example.com", "https"),
            ("api://my-api", "https"),
            ("mcp.example.com/mcp", "absolute"),
            ("https://mcp.example.com/mcp#x", "fragment"),
            ("https://mcp.example.com/mcp?tenant=a", "query"),
            ("https://user@mcp.example.com/", "user"),
        ] {
            let err = check_resource(bad).unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("RESOURCE"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_document_is_served_at_the_well_known_path_and_its_path_insertion_form() {
        let (resource, url) = check_resource("https://mcp.example.com/tools/mcp/").unwrap();
        let metadata = ResourceMetadata::new(
            resource,
            &url,
            &oidc(),
            Some("Notes"),
            &["notes.read".to_owned()],
        );
        assert_eq!(
            metadata.url,
            "https://mcp.example.com/.well-known/oauth-protected-resource/tools/mcp"
        );
        assert!(metadata.serves("/.well-known/oauth-protected-resource"));
        assert!(metadata.serves("/.well-known/oauth-protected-resource/tools/mcp"));
        assert!(!metadata.serves("/.well-known/oauth-protected-resource/other"));
        assert!(!metadata.serves("/tools/mcp"));
        assert_eq!(
            metadata.document,
            json!({
                "resource": "https://mcp.example.com/tools/mcp/",
                "authorization_servers": ["https://idp.example"],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["notes.read"],
                "resource_name": "Notes",
            })
        );
        let response = metadata.answer(&Method::GET);
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=3600"
        );
        assert_eq!(metadata.answer(&Method::POST).status(), 405);
    }

    #[test]
    fn a_resource_at_the_root_has_one_path_and_microsoft_issuers_are_their_v2_endpoints() {
        let (resource, url) = check_resource("https://api.contoso.com").unwrap();
        let entra = Authority::microsoft("https://login.microsoftonline.com/contoso.com").unwrap();
        let metadata = ResourceMetadata::new(resource, &url, &entra, None, &[]);
        assert_eq!(
            metadata.url,
            "https://api.contoso.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(metadata.paths, [WELL_KNOWN]);
        assert_eq!(
            metadata.document["authorization_servers"],
            json!(["https://login.microsoftonline.com/contoso.com/v2.0"])
        );
        assert!(metadata.document.get("scopes_supported").is_none());
        assert!(metadata.document.get("jwks_uri").is_none());
    }
}
