//! The groups of a user whose token could not carry them all (Entra's groups overage), read
//! from Microsoft Graph with the user's own token: `POST /v1.0/me/getMemberObjects` with
//! `securityEnabledOnly: false` (delegated `User.Read` is enough for the signed-in user), every
//! page of its answer followed through `@odata.nextLink`. The web app calls it once, when the
//! user signs in, and keeps the answer with the session's claims.

use serde::Deserialize;
use url::Url;

use crate::core::http::{BodyError, read_limited};

/// The scope of the user's token for Graph: `User.Read` lets the signed-in user read their own
/// memberships.
pub(crate) const GRAPH_SCOPE: &str = "User.Read";

/// Microsoft Graph, worldwide.
pub(crate) const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// At most this many pages are followed (Graph's pages hold hundreds of ids).
const MAX_PAGES: usize = 50;
/// The largest page read: 11,000 ids (Graph's documented most for a user) with room to spare.
const MAX_PAGE_BYTES: usize = 2 << 20;

/// Why Graph's answer could not be had; it goes to the log, never into the groups.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("Microsoft Graph answered {status}: {head}")]
    Status {
        status: reqwest::StatusCode,
        head: String,
    },
    #[error("Microsoft Graph could not be reached: {0}")]
    Transport(reqwest::Error),
    #[error("Microsoft Graph's answer is unreadable: {0}")]
    Unreadable(String),
    #[error("Microsoft Graph's paging is unusable: {0}")]
    Paging(String),
}

/// One page of `getMemberObjects`: the ids, and where the next page is.
#[derive(Deserialize)]
struct Page {
    value: Vec<String>,
    #[serde(rename = "@odata.nextLink", default)]
    next: Option<String>,
}

/// The ids of every group (and directory role and administrative unit, as Graph counts
/// memberships) the user of `token` is a transitive member of, read at `graph`.
pub(crate) async fn member_objects(
    http: &reqwest::Client,
    graph: &Url,
    token: &str,
) -> Result<Vec<String>, GraphError> {
    let base = graph.as_str().trim_end_matches('/');
    let mut request = http
        .post(format!("{base}/v1.0/me/getMemberObjects"))
        .json(&serde_json::json!({ "securityEnabledOnly": false }));
    let mut ids: Vec<String> = Vec::new();
    // Graph pages hold distinct ids, but a page may repeat one of an earlier page; up to
    // 11,000 of them, so looked up in a set rather than in the list.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let response = request
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| GraphError::Transport(e.without_url()))?;
        let status = response.status();
        let body = read_limited(response, MAX_PAGE_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => GraphError::Transport(e.without_url()),
                too_large => GraphError::Unreadable(too_large.to_string()),
            })?;
        if !status.is_success() {
            let head = String::from_utf8_lossy(&body[..body.len().min(300)]);
            return Err(GraphError::Status {
                status,
                head: crate::core::error::escape_controls(&head),
            });
        }
        let page: Page = serde_json::from_slice(&body).map_err(|e| {
            GraphError::Unreadable(format!("not the JSON of getMemberObjects: {e}"))
        })?;
        for id in page.value {
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        let Some(next) = page.next else {
            return Ok(ids);
        };
        // The user's token goes only where Graph is: a next link elsewhere is refused.
        let next = Url::parse(&next)
            .ok()
            .filter(|url| url.origin() == graph.origin())
            .ok_or_else(|| GraphError::Paging("a next link to another origin".into()))?;
        request = http.get(next);
    }
    Err(GraphError::Paging(format!("more than {MAX_PAGES} pages")))
}

/// Whether `scope`, as a token response grants it, is Graph's `User.Read` (bare, or under
/// Graph's URL).
pub(crate) fn is_graph_user_read(scope: &str, graph: &Url) -> bool {
    let Some((resource, name)) = scope.rsplit_once('/') else {
        return scope.eq_ignore_ascii_case(GRAPH_SCOPE);
    };
    name.eq_ignore_ascii_case(GRAPH_SCOPE)
        && [DEFAULT_GRAPH_URL, graph.as_str()]
            .iter()
            .any(|g| g.trim_end_matches('/').eq_ignore_ascii_case(resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_read_is_recognised_bare_or_under_graphs_url() {
        let graph = Url::parse("http://127.0.0.1:9/").unwrap();
        for yes in [
            "User.Read",
            "user.read",
            "https://graph.microsoft.com/User.Read",
            "http://127.0.0.1:9/User.Read",
        ] {
            assert!(is_graph_user_read(yes, &graph), "{yes}");
        }
        for no in [
            "api://reports/User.Read",
            "User.ReadWrite",
            "https://graph.microsoft.com/Mail.Read",
        ] {
            assert!(!is_graph_user_read(no, &graph), "{no}");
        }
    }
}
