//! Several providers in one application: each is a complete [`Auth`] (its own authority,
//! client, credential, scopes, token cache) with the application's settings (paths, cookie,
//! session policy, pages), and the first, the default one, holds the others. A sign-in in
//! progress and a signed-in user name their provider, and every flow runs on that provider's
//! `Auth`: the callback checks that provider's issuer (RFC 9207 per provider), tokens come
//! from and are refreshed at its token endpoint, logout ends its session.

use std::borrow::Cow;

use crate::web_app::auth::Auth;

impl Auth {
    /// The name of the provider this `Auth` signs in with: the name given to
    /// [`AuthBuilder::provider`](crate::AuthBuilder::provider) (or in `IDENTITY_PROVIDERS`);
    /// `""` for the one provider of an application that names none.
    pub fn provider_name(&self) -> &str {
        &self.settings().links.provider
    }

    /// The names of the application's providers, the default one first; `[""]` for an
    /// application with one provider it did not name.
    ///
    /// ```
    /// use axum_identity_runtime::Auth;
    ///
    /// let auth = Auth::builder()
    ///     .client_secret("shared-secret")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .provider("work", Auth::builder().client_id("staff-app").authority("https://login.microsoftonline.com/contoso.onmicrosoft.com"))
    ///     .provider("customer", Auth::builder().client_id("shop-app").oidc_authority("https://id.example.com"))
    ///     .build()?;
    /// assert_eq!(auth.provider_names(), ["work", "customer"]);
    /// assert_eq!(auth.provider_name(), "work");
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn provider_names(&self) -> Vec<&str> {
        std::iter::once(self.provider_name())
            .chain(self.others().iter().map(Auth::provider_name))
            .collect()
    }

    /// Whether the application has more than one provider.
    pub(crate) fn has_several_providers(&self) -> bool {
        !self.others().is_empty()
    }

    /// The `Auth` of the provider called `name` (this one, or another of the application's),
    /// in front of the same session store.
    pub(crate) fn named(&self, name: &str) -> Option<Cow<'_, Auth>> {
        if name == self.provider_name() {
            return Some(Cow::Borrowed(self));
        }
        self.others()
            .iter()
            .find(|other| other.provider_name() == name)
            .map(|other| Cow::Owned(self.beside(other)))
    }

    /// The `Auth` of a signed-in user's (or a pending sign-in's) provider: this one when the
    /// record names none. `None` when it names a provider the application no longer has.
    pub(crate) fn for_provider(&self, name: Option<&str>) -> Option<Cow<'_, Auth>> {
        match name {
            None => Some(Cow::Borrowed(self)),
            Some(name) => self.named(name),
        }
    }

    /// The `Auth` of the provider whose issuer is `issuer` (its discovery document says so),
    /// for an answer that names its issuer (a back-channel logout token); `None` when none of
    /// the application's providers is it.
    pub(crate) async fn by_issuer(&self, issuer: &str) -> Option<Cow<'_, Auth>> {
        for name in self.provider_names() {
            let auth = self.named(name)?;
            match auth.provider().metadata().await {
                Ok(meta) if meta.issuer == issuer => return Some(auth),
                _ => continue,
            }
        }
        None
    }

    /// What a record keeps as this `Auth`'s provider: its name, when the application has
    /// named providers.
    pub(crate) fn provider_key(&self) -> Option<String> {
        let name = self.provider_name();
        (!name.is_empty()).then(|| name.to_owned())
    }
}
