//! What differs between the handler attributes, as data: the one expansion
//! (`login_required::expand_with`) and the option parser (`attr`) both read a [`Spec`], so that
//! neither has to know the other's attribute.

/// What differs between the handler attributes: their name, the extractor they put in place of
/// the context argument, and the words of their messages.
pub(crate) struct Spec {
    /// The attribute, `login_required`.
    pub(crate) name: &'static str,
    /// The runtime's extractor, `LoginRequired`.
    pub(crate) extractor: &'static str,
    /// The extractor added when the handler has no context argument the macro can see:
    /// `LoginGuard`.
    pub(crate) guard: &'static str,
    /// The context type, recognized by its last path segment: `Context`.
    pub(crate) context: &'static str,
    /// What the context argument is, for messages: "the signed-in user's".
    pub(crate) context_is: &'static str,
    /// Who the attribute turns away, for messages: "signed-out visitors".
    pub(crate) turned_away: &'static str,
    /// What an empty option list means instead: "only require a signed-in user".
    pub(crate) without_options: &'static str,
}

/// `#[login_required]`.
pub(crate) const LOGIN_REQUIRED: Spec = Spec {
    name: "login_required",
    extractor: "LoginRequired",
    guard: "LoginGuard",
    context: "Context",
    context_is: "the signed-in user's `axum_identity::Context`",
    turned_away: "signed-out visitors",
    without_options: "only require a signed-in user",
};

/// `#[authorization_required]`.
pub(crate) const AUTHORIZATION_REQUIRED: Spec = Spec {
    name: "authorization_required",
    extractor: "AuthorizationRequired",
    guard: "AuthorizationRequired",
    context: "ApiContext",
    context_is: "the caller's verified `axum_identity::ApiContext`",
    turned_away: "requests without a valid access token",
    without_options: "only require a valid access token",
};
