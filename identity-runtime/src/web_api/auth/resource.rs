//! Serving the protected-resource metadata (RFC 9728 §3): the routes, and the answer the
//! routes and the tower layer share.

use super::ApiAuth;

impl ApiAuth {
    /// The routes that serve the [protected-resource metadata](Self::resource_metadata)
    /// (RFC 9728 §3) at `/.well-known/oauth-protected-resource` and, for a resource under a
    /// path, at its path-insertion form too (`/.well-known/oauth-protected-resource/mcp`),
    /// with `Cache-Control`; merge them into the app's router, outside of any protection.
    /// Without a resource URI they serve nothing (and log a warning). The tower layer
    /// ([`bearer_layer`](Self::bearer_layer)) serves the same document by itself.
    ///
    /// ```
    /// use axum::Router;
    /// use axum_identity_runtime::ApiAuth;
    ///
    /// let api = ApiAuth::builder()
    ///     .client_id("notes-api")
    ///     .oidc_authority("https://idp.example")
    ///     .resource("https://notes.example/mcp")
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     // .route("/mcp", ..) and the other protected routes
    ///     .layer(api.layer())
    ///     .merge(api.metadata_routes());
    /// assert_eq!(
    ///     api.resource_metadata_url(),
    ///     Some("https://notes.example/.well-known/oauth-protected-resource/mcp")
    /// );
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn metadata_routes<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        let mut router = axum::Router::new();
        let Some(metadata) = self.resource_meta() else {
            tracing::warn!(
                "`metadata_routes` without a resource URI serves nothing: set `resource` \
                 (environment variable RESOURCE) on the `ApiAuth` builder"
            );
            return router;
        };
        for path in &metadata.paths {
            let api = self.clone();
            router = router.route(
                path,
                axum::routing::any(move |method: axum::http::Method| async move {
                    api.metadata_answer(&method)
                }),
            );
        }
        router
    }

    /// The metadata document's answer, for the routes and the layer.
    pub(crate) fn metadata_answer(
        &self,
        method: &axum::http::Method,
    ) -> axum::http::Response<axum::body::Body> {
        match self.resource_meta() {
            Some(metadata) => metadata.answer(method),
            None => {
                let mut response = axum::http::Response::new(axum::body::Body::empty());
                *response.status_mut() = axum::http::StatusCode::NOT_FOUND;
                response
            }
        }
    }

    /// Whether `path` is where the metadata document is served.
    pub(crate) fn serves_metadata(&self, path: &str) -> bool {
        self.resource_meta().is_some_and(|m| m.serves(path))
    }
}
