//! An Azure managed identity: tokens from the platform's identity endpoint, with no secret and
//! no certificate anywhere. Two endpoints, as Microsoft documents them: the one App Service,
//! Functions and Container Apps expose (`IDENTITY_ENDPOINT` with `IDENTITY_HEADER`), and the
//! instance metadata service (IMDS) of virtual machines and AKS nodes. The tokens serve
//! app-only calls (`services/managed_identity.rs` adds `token_for_client`) and, for the audience
//! `api://AzureADTokenExchange`, as the client assertion of an app registration's federated
//! credential (`credential.rs`). Each resource's token is cached here, until shortly before it
//! expires, and asked for once for every caller waiting at the time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::core::clock::Clock;
use crate::core::error::{ConfigError, Error, Setting};
use crate::core::http::default_client_builder;
use crate::store::session::CachedToken;
use crate::store::token_slot::TokenSlot;

mod request;

/// The resource of the tokens Entra ID accepts as a federated credential's client assertion.
pub(crate) const TOKEN_EXCHANGE_RESOURCE: &str = "api://AzureADTokenExchange";

/// IMDS's address on every Azure virtual machine.
const IMDS_BASE: &str = "http://169.254.169.254";

/// Which managed identity a token is for: the resource's own (system-assigned), or one of
/// the user-assigned identities attached to it, named by its client id, its Azure resource id
/// or its object (principal) id.
///
/// ```
/// use axum_identity_runtime::ManagedIdentityId;
///
/// assert_eq!("system".parse::<ManagedIdentityId>(), Ok(ManagedIdentityId::SystemAssigned));
/// assert_eq!(
///     "0b0e6a4c-4f1b-4d67-9d2a-7c3b2f1e0a9d".parse(),
///     Ok(ManagedIdentityId::ClientId("0b0e6a4c-4f1b-4d67-9d2a-7c3b2f1e0a9d".into()))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// The identity of the VM, app or container itself.
    SystemAssigned,
    /// A user-assigned identity by its client (application) id.
    ClientId(String),
    /// A user-assigned identity by its Azure resource id (`/subscriptions/.../userAssignedIdentities/<name>`).
    ResourceId(String),
    /// A user-assigned identity by its object (principal) id.
    ObjectId(String),
}

impl std::str::FromStr for ManagedIdentityId {
    type Err = String;

    /// What `MANAGED_IDENTITY_CLIENT_ID` says: `system`, or a user-assigned identity's client
    /// id.
    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("system") {
            Ok(ManagedIdentityId::SystemAssigned)
        } else if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            Ok(ManagedIdentityId::ClientId(raw.to_owned()))
        } else {
            Err(format!(
                "`{raw}` is neither `system` nor the client id (a GUID) of a user-assigned identity"
            ))
        }
    }
}

/// Where the tokens come from. By default it is chosen from the environment: App Service's
/// endpoint when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, IMDS otherwise.
///
/// ```
/// use axum_identity_runtime::{ManagedIdentity, ManagedIdentityId, ManagedIdentitySource};
///
/// let identity = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
///     .source(ManagedIdentitySource::Imds)
///     .build()?;
/// assert_eq!(identity.source(), ManagedIdentitySource::Imds);
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagedIdentitySource {
    /// App Service, Azure Functions and Container Apps: `IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER`, API version `2019-08-01`.
    AppService,
    /// The instance metadata service of VMs, scale sets and AKS nodes, API version
    /// `2018-02-01`.
    Imds,
}

/// An Azure managed identity that asks its platform for tokens: app-only tokens with
/// [`token_for_client`](ManagedIdentity::token_for_client), and, given to
/// [`AuthBuilder::client_assertion_managed_identity`](crate::AuthBuilder::client_assertion_managed_identity),
/// the client assertion of an app registration's federated credential. Cheap to clone; the
/// clones share one cache.
///
/// ```no_run
/// use axum_identity_runtime::{ManagedIdentity, ManagedIdentityId};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // System-assigned, from App Service's endpoint or IMDS, whichever the platform offers.
/// let identity = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned).build()?;
/// let token = identity.token_for_client(&["https://vault.azure.net/.default"]).await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    id: ManagedIdentityId,
    endpoint: Endpoint,
    http: reqwest::Client,
    retry: Retry,
    clock: Clock,
    /// One slot per resource: an application asks for a handful.
    slots: std::sync::Mutex<HashMap<String, Arc<TokenSlot>>>,
}

/// The endpoint asked, with what it needs.
enum Endpoint {
    AppService { url: Url, header: Secret },
    Imds { url: Url },
}

/// The value of `X-IDENTITY-HEADER`: it lets any code that reads it take the identity's
/// tokens, so it is never printed.
struct Secret(String);

/// How often and how long a refused request is tried again (Microsoft's guidance for IMDS:
/// exponential back-off, 1 s, 2 s, 4 s).
#[derive(Clone, Copy)]
struct Retry {
    max_retries: u32,
    first_delay: Duration,
}

impl std::fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (source, url) = match &self.inner.endpoint {
            // The header is left out: it is a secret.
            Endpoint::AppService { url, .. } => ("AppService", url),
            Endpoint::Imds { url } => ("Imds", url),
        };
        f.debug_struct("ManagedIdentity")
            .field("id", &self.inner.id)
            .field("source", &source)
            .field("endpoint", &url.as_str())
            .finish_non_exhaustive()
    }
}

impl ManagedIdentity {
    /// Starts the configuration of the identity `id`. The platform's variables are read by
    /// [`build`](ManagedIdentityBuilder::build) (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`,
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`) unless the builder sets their values itself.
    pub fn builder(id: ManagedIdentityId) -> ManagedIdentityBuilder {
        ManagedIdentityBuilder {
            id: Ok(id),
            source: None,
            app_service: None,
            imds: None,
            http: None,
            retry: Retry {
                max_retries: 3,
                first_delay: Duration::from_secs(1),
            },
        }
    }

    /// The identity `MANAGED_IDENTITY_CLIENT_ID` names (`system`, or a user-assigned
    /// identity's client id), from the endpoint the platform offers.
    pub fn from_env() -> Result<ManagedIdentity, ConfigError> {
        Self::builder_from_env().build()
    }

    /// Like [`ManagedIdentity::from_env`], returning the builder.
    pub fn builder_from_env() -> ManagedIdentityBuilder {
        let id = match std::env::var("MANAGED_IDENTITY_CLIENT_ID") {
            Ok(raw) if !raw.trim().is_empty() => raw
                .parse()
                .map_err(|e| ConfigError::invalid(Setting::ManagedIdentityClientId, e)),
            _ => Err(ConfigError::missing(
                Setting::ManagedIdentityClientId,
                Some("say `system` for the system-assigned identity"),
            )),
        };
        ManagedIdentityBuilder {
            id,
            ..Self::builder(ManagedIdentityId::SystemAssigned)
        }
    }

    /// The identity this is.
    pub fn id(&self) -> &ManagedIdentityId {
        &self.inner.id
    }

    /// Where its tokens come from.
    pub fn source(&self) -> ManagedIdentitySource {
        match self.inner.endpoint {
            Endpoint::AppService { .. } => ManagedIdentitySource::AppService,
            Endpoint::Imds { .. } => ManagedIdentitySource::Imds,
        }
    }

    /// A token for `resource`: the cached one while it is fresh, else one request to the
    /// endpoint, made once for every caller waiting at the time (the others share its answer,
    /// or its failure, which is never cached for the next caller).
    pub(crate) async fn token(&self, resource: &str) -> Result<CachedToken, Arc<Error>> {
        let slot = {
            let mut slots = self
                .inner
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            slots.entry(resource.to_owned()).or_default().clone()
        };
        let fetch = request::fetch(&self.inner, resource);
        slot.get(
            &self.inner.clock,
            None,
            fetch,
            |_| {},
            |token| token.clone(),
        )
        .await
    }

    /// The client assertion of a federated credential: a token for
    /// `api://AzureADTokenExchange`.
    pub(crate) async fn assertion(&self) -> Result<String, Error> {
        self.token(TOKEN_EXCHANGE_RESOURCE)
            .await
            .map(|token| token.access_token)
            .map_err(Error::ClientToken)
    }
}

/// The resource a managed identity's token is asked for: `<resource>/.default` asks for
/// `<resource>`, as MSAL maps it. The endpoints issue a token for one resource at a time, with
/// every permission the identity was granted there, so any other scope shape cannot be served.
pub(crate) fn scope_to_resource(scopes: &[&str]) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::invalid(Setting::Scopes, reason);
    let [scope] = scopes else {
        return Err(invalid(format!(
            "a managed identity's token is for one resource: ask for one scope \
             `<resource>/.default`, not {scopes:?}"
        )));
    };
    match scope.trim().strip_suffix("/.default") {
        Some(resource) if !resource.is_empty() && !resource.contains(char::is_whitespace) => {
            Ok(resource.to_owned())
        }
        _ => Err(invalid(format!(
            "a managed identity's token is asked for by `<resource>/.default` (such as \
             `https://vault.azure.net/.default`), not `{scope}`: the identity gets every \
             permission granted to it on the resource"
        ))),
    }
}

/// Builds a [`ManagedIdentity`]; from [`ManagedIdentity::builder`].
///
/// ```
/// use std::time::Duration;
/// use axum_identity_runtime::{ManagedIdentity, ManagedIdentityId, ManagedIdentitySource};
///
/// // A user-assigned identity, at an IMDS on loopback (as a test would run it).
/// let identity = ManagedIdentity::builder(ManagedIdentityId::ObjectId(
///     "4d3c2b1a-0f9e-4d8c-b7a6-958473625140".into(),
/// ))
/// .source(ManagedIdentitySource::Imds)
/// .imds_endpoint("http://127.0.0.1:50342")
/// .retries(2, Duration::from_millis(100))
/// .build()?;
/// assert_eq!(identity.source(), ManagedIdentitySource::Imds);
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[must_use]
pub struct ManagedIdentityBuilder {
    id: Result<ManagedIdentityId, ConfigError>,
    source: Option<ManagedIdentitySource>,
    app_service: Option<(String, Secret)>,
    imds: Option<String>,
    http: Option<reqwest::Client>,
    retry: Retry,
}

impl std::fmt::Debug for ManagedIdentityBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityBuilder")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ManagedIdentityBuilder {
    /// Asks this source only; without it, App Service's endpoint is asked when
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, IMDS otherwise. With
    /// [`ManagedIdentitySource::AppService`], [`build`](Self::build) fails when the endpoint is
    /// unknown.
    pub fn source(mut self, source: ManagedIdentitySource) -> Self {
        self.source = Some(source);
        self
    }

    /// App Service's endpoint and the value of its `X-IDENTITY-HEADER`, instead of the
    /// variables `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` the platform sets.
    pub fn app_service_endpoint(
        mut self,
        endpoint: impl Into<String>,
        header: impl Into<String>,
    ) -> Self {
        self.app_service = Some((endpoint.into(), Secret(header.into())));
        self
    }

    /// IMDS's base address (`http://169.254.169.254` on Azure), instead of the variable
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` MSAL reads; the token path is added to it.
    pub fn imds_endpoint(mut self, base: impl Into<String>) -> Self {
        self.imds = Some(base.into());
        self
    }

    /// The HTTP client of the requests to the endpoint. By default one without proxy (the
    /// endpoints are local to the machine), redirects or cookies, with a 10-second timeout.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How many times a refused request (IMDS's 404, 408, 410, 429 and 5xx; App Service's 429
    /// and 5xx) is tried again, and the first wait, doubled at each retry; a `Retry-After` is
    /// honoured up to the longest of those waits. Default: 3 retries, from 1 second (1, 2,
    /// 4 s, as Microsoft advises); at most 10 retries.
    pub fn retries(mut self, max_retries: u32, first_delay: Duration) -> Self {
        self.retry = Retry {
            max_retries: max_retries.min(10),
            first_delay,
        };
        self
    }

    /// The managed identity, with its endpoint chosen and checked.
    pub fn build(self) -> Result<ManagedIdentity, ConfigError> {
        self.build_with(&|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`build`](Self::build) with the platform's variables read by `var`.
    pub(crate) fn build_with(
        self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ManagedIdentity, ConfigError> {
        let id = self.id?;
        let app_service = self
            .app_service
            .or_else(|| Some((var("IDENTITY_ENDPOINT")?, Secret(var("IDENTITY_HEADER")?))));
        let source = match (self.source, &app_service) {
            (Some(source), _) => source,
            (None, Some(_)) => ManagedIdentitySource::AppService,
            (None, None) => ManagedIdentitySource::Imds,
        };
        let endpoint = match source {
            ManagedIdentitySource::AppService => {
                let Some((raw, header)) = app_service else {
                    let missing = if var("IDENTITY_ENDPOINT").is_none() {
                        Setting::IdentityEndpoint
                    } else {
                        Setting::IdentityHeader
                    };
                    return Err(ConfigError::missing(
                        missing,
                        Some(
                            "App Service's managed identity was asked for, and it needs both \
                             IDENTITY_ENDPOINT and IDENTITY_HEADER, which App Service, Functions \
                             and Container Apps set when the app has a managed identity",
                        ),
                    ));
                };
                let url = http_url(&raw, Setting::IdentityEndpoint)?;
                if header.0.trim().is_empty() {
                    return Err(ConfigError::missing(Setting::IdentityHeader, None));
                }
                Endpoint::AppService { url, header }
            }
            ManagedIdentitySource::Imds => {
                let base = self
                    .imds
                    .or_else(|| var("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
                    .unwrap_or_else(|| IMDS_BASE.to_owned());
                let url = http_url(
                    &format!(
                        "{}/metadata/identity/oauth2/token",
                        base.trim_end_matches('/')
                    ),
                    Setting::ImdsEndpoint,
                )?;
                Endpoint::Imds { url }
            }
        };
        let http = match self.http {
            Some(http) => http,
            // The endpoints are local to the machine: no proxy may stand between.
            None => default_client_builder(Duration::from_secs(10))
                .no_proxy()
                .build()
                .map_err(|e| {
                    ConfigError::Provider(format!(
                        "the managed identity's HTTP client cannot be made: {e}"
                    ))
                })?,
        };
        Ok(ManagedIdentity {
            inner: Arc::new(Inner {
                id,
                endpoint,
                http,
                retry: self.retry,
                clock: Clock::default(),
                slots: std::sync::Mutex::default(),
            }),
        })
    }
}

/// An `http` or `https` URL without query or fragment, or a configuration error naming
/// `setting`.
fn http_url(raw: &str, setting: Setting) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ConfigError::invalid(setting, format!("`{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            setting,
            format!("`{raw}` is not an http(s) URL without fragment"),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
