//! Option parsing shared by the macros: `key = value` options with spanned errors, the runtime
//! path prefix (`crate = ..`), "did you mean" suggestions and an error accumulator.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{
    Ident, LitInt, LitStr, Path, Token,
    ext::IdentExt,
    parse::{Parse, ParseStream},
    token,
};

use crate::spec::{LOGIN_REQUIRED, Spec};

/// The options of `#[login_required(..)]` and `#[authorization_required(..)]`.
#[derive(Default)]
pub(crate) struct LoginRequiredArgs {
    /// `scopes = ["a", "b"]`, already validated.
    pub(crate) scopes: Option<ScopeList>,
    /// `roles = ["Admin"]`, already validated.
    pub(crate) roles: Option<ScopeList>,
    /// `max_age = 300` (`#[login_required]` only), already validated.
    pub(crate) max_age: Option<LitInt>,
    /// `acr = "..."` (`#[login_required]` only), already validated.
    pub(crate) acr: Option<LitStr>,
    /// `provider = "work"` (`#[login_required]` only), already validated.
    pub(crate) provider: Option<LitStr>,
    /// `crate = "path"` or `crate = path`.
    pub(crate) krate: Option<Path>,
}

impl LoginRequiredArgs {
    /// Whether any option but `crate` is given: the handler needs a marker type.
    pub(crate) fn has_requirements(&self) -> bool {
        self.scopes.is_some()
            || self.roles.is_some()
            || self.max_age.is_some()
            || self.acr.is_some()
            || self.provider.is_some()
    }
}

/// A validated, non-empty list of distinct scope (or role) literals.
pub(crate) struct ScopeList {
    pub(crate) scopes: Vec<LitStr>,
}

const LOGIN_REQUIRED_OPTIONS: &[&str] = &["scopes", "roles", "max_age", "acr", "provider", "crate"];
const AUTHORIZATION_REQUIRED_OPTIONS: &[&str] = &["scopes", "roles", "crate"];

/// The longest `max_age` taken: a year. Longer is no step-up at all.
const MAX_AGE_LIMIT: u64 = 365 * 24 * 3600;

/// What a list option holds, for its messages.
struct ListKind<'a> {
    /// `scopes`.
    option: &'static str,
    /// `scope`.
    item: &'static str,
    /// `"User.Read"`.
    example: &'static str,
    /// `"User.Read", "Mail.Read"`.
    examples: &'static str,
    /// Why these characters (and not others).
    charset: &'static str,
    spec: &'a Spec,
}

impl ListKind<'_> {
    /// `` `scopes = ["User.Read"]` ``.
    fn written(&self) -> String {
        format!("`{} = [{}]`", self.option, self.example)
    }
}

fn scopes_kind(spec: &Spec) -> ListKind<'_> {
    ListKind {
        option: "scopes",
        item: "scope",
        example: "\"User.Read\"",
        examples: "\"User.Read\", \"Mail.Read\"",
        charset: "OAuth 2.0 allows only printable ASCII without `\"` and `\\` in a scope \
                  (RFC 6749 §3.3)",
        spec,
    }
}

fn roles_kind(spec: &Spec) -> ListKind<'_> {
    ListKind {
        option: "roles",
        item: "role",
        example: "\"Admin\"",
        examples: "\"Admin\", \"Reports.Read\"",
        charset: "app role values are printable ASCII without spaces, `\"` and `\\`",
        spec,
    }
}

impl Parse for LoginRequiredArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Self::parse_for(input, &LOGIN_REQUIRED)
    }
}

impl LoginRequiredArgs {
    /// Parses the options of the attribute `spec` describes.
    pub(crate) fn parse_for(input: ParseStream<'_>, spec: &Spec) -> syn::Result<Self> {
        let mut args = Self::default();
        let mut errors = Errors::default();
        while !input.is_empty() {
            // A list or a string straight in the parentheses: the user forgot the option name.
            if input.peek(token::Bracket) || input.peek(LitStr) {
                let tt: proc_macro2::TokenTree = input.parse()?;
                return Err(syn::Error::new_spanned(
                    tt,
                    format!(
                        "expected an option name: write `#[{}(scopes = [\"User.Read\"])]`",
                        spec.name
                    ),
                ));
            }
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            match name.as_str() {
                "scopes" | "roles" => {
                    let kind = if name == "scopes" {
                        scopes_kind(spec)
                    } else {
                        roles_kind(spec)
                    };
                    expect_eq(input, &key, &kind.written())?;
                    let list = parse_scopes(input, &mut errors, &kind)?;
                    let slot = if name == "scopes" {
                        &mut args.scopes
                    } else {
                        &mut args.roles
                    };
                    set_once(
                        slot,
                        &key,
                        list,
                        &format!(
                            "list every {} in one `{} = [..]`, e.g. `{} = [{}]`",
                            kind.item, kind.option, kind.option, kind.examples
                        ),
                    )?;
                }
                "crate" => {
                    expect_eq(input, &key, "`crate = \"path\"`")?;
                    let path = parse_crate_path(input)?;
                    set_once(&mut args.krate, &key, path, "keep one")?;
                }
                "max_age" if spec.name == LOGIN_REQUIRED.name => {
                    expect_eq(input, &key, "`max_age = 300` (seconds)")?;
                    let max_age = parse_max_age(input)?;
                    set_once(&mut args.max_age, &key, max_age, "keep one")?;
                }
                "acr" if spec.name == LOGIN_REQUIRED.name => {
                    expect_eq(input, &key, "`acr = \"c1\"`")?;
                    let acr = parse_acr(input)?;
                    set_once(&mut args.acr, &key, acr, "keep one")?;
                }
                "provider" if spec.name == LOGIN_REQUIRED.name => {
                    expect_eq(input, &key, "`provider = \"work\"`")?;
                    let provider = parse_provider(input)?;
                    set_once(&mut args.provider, &key, provider, "keep one")?;
                }
                _ if spec.name == LOGIN_REQUIRED.name => {
                    return Err(unknown_option(&key, LOGIN_REQUIRED_OPTIONS));
                }
                _ => return Err(unknown_option(&key, AUTHORIZATION_REQUIRED_OPTIONS)),
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        errors.finish()?;
        Ok(args)
    }
}

/// The path through which generated code names runtime items: `::axum_identity::__private` by
/// default, `<path>::__private` with `crate = path`.
///
/// With `crate = path`, `__private` is spanned at the end of the user's path, so that a path
/// that does not lead to the facade is reported there ("could not find `__private` in `x`"),
/// not on the whole attribute.
pub(crate) fn private_path(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => {
            let span = path
                .segments
                .last()
                .map_or_else(Span::call_site, |s| s.ident.span());
            let private = Ident::new("__private", span);
            quote!(#path::#private)
        }
        None => quote!(::axum_identity::__private),
    }
}

fn expect_eq(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(syn::Error::new(
            key.span(),
            format!("expected `{key} = ..`: write {example}"),
        ))
    }
}

/// Stores an option, or fails with "`key` specified more than once: <fix>" at the second key.
fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T, fix: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` specified more than once: {fix}"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown_option(key: &Ident, known: &[&str]) -> syn::Error {
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut msg = format!("unknown option `{key}`");
    match did_you_mean(&key.to_string(), known) {
        Some(suggestion) => msg.push_str(&format!("; did you mean `{suggestion}`?")),
        None => msg.push_str(&format!("; the options are {list}")),
    }
    syn::Error::new(key.span(), msg)
}

/// `scopes = [..]` (or `roles = [..]`): a bracketed list of string literals, checked here.
/// Syntax errors end the parse; errors about individual scopes are collected so all of them are
/// reported at once.
fn parse_scopes(
    input: ParseStream<'_>,
    errors: &mut Errors,
    kind: &ListKind<'_>,
) -> syn::Result<ScopeList> {
    let option = kind.option;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let value = lit.value();
        let parts: Vec<&str> = value.split_whitespace().collect();
        let suggestion = if parts.is_empty() {
            kind.written()
        } else {
            format!(
                "`{option} = [{}]`",
                parts
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(syn::Error::new(
            lit.span(),
            format!("`{option}` takes a list of string literals: write {suggestion}"),
        ));
    }
    if !input.peek(token::Bracket) {
        let value = take_item(input);
        return Err(syn::Error::new_spanned(
            value,
            format!(
                "`{option}` takes a bracketed list of string literals, written out here \
                 (they are checked at compile time and become part of the handler's type): \
                 write {}",
                kind.written()
            ),
        ));
    }
    let content;
    let bracket = syn::bracketed!(content in input);
    let mut scopes: Vec<LitStr> = Vec::new();
    while !content.is_empty() {
        if content.peek(LitStr) {
            let lit: LitStr = content.parse()?;
            if let Err(err) = check_scope(&lit, &scopes, kind) {
                errors.push(err);
            }
            scopes.push(lit);
        } else {
            let item = take_item(&content);
            errors.push(syn::Error::new_spanned(
                item,
                format!(
                    "expected a string literal such as {}: {option} are written out as \
                     literals (they are checked at compile time and become part of the \
                     handler's type), not constants or expressions",
                    kind.example
                ),
            ));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if scopes.is_empty() && errors.is_empty() {
        return Err(syn::Error::new(
            bracket.span.join(),
            format!(
                "`{option}` is empty: list at least one {}, e.g. {}, \
                 or write `#[{}]` without options to {}",
                kind.item,
                kind.written(),
                kind.spec.name,
                kind.spec.without_options
            ),
        ));
    }
    Ok(ScopeList { scopes })
}

/// One scope: non-empty, no whitespace, only the characters RFC 6749 §3.3 allows, not a repeat.
/// App role values follow the same rules.
fn check_scope(lit: &LitStr, before: &[LitStr], kind: &ListKind<'_>) -> syn::Result<()> {
    let value = lit.value();
    let item = kind.item;
    if value.is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "empty {item}: remove it or write the {item}'s name, e.g. {}",
                kind.example
            ),
        ));
    }
    if value.chars().any(char::is_whitespace) {
        let parts = value
            .split_whitespace()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "a {item} cannot contain whitespace: list each {item} as its own string: [{parts}]"
            ),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
    {
        return Err(syn::Error::new(
            lit.span(),
            format!("a {item} cannot contain {bad:?}: {}", kind.charset),
        ));
    }
    if before.iter().any(|b| b.value() == value) {
        return Err(syn::Error::new(
            lit.span(),
            format!("{item} {value:?} is listed twice: remove this one"),
        ));
    }
    Ok(())
}

/// `max_age = 300`: whole seconds since the user last authenticated, at most a year.
fn parse_max_age(input: ParseStream<'_>) -> syn::Result<LitInt> {
    const HELP: &str = "`max_age` takes the seconds since the user last signed in as an integer \
                        literal, e.g. `max_age = 300` (`0`: sign in again on every visit)";
    if !input.peek(LitInt) {
        return Err(syn::Error::new_spanned(take_item(input), HELP));
    }
    let lit: LitInt = input.parse()?;
    match lit.base10_parse::<u64>() {
        Ok(seconds) if seconds <= MAX_AGE_LIMIT && lit.suffix().is_empty() => Ok(lit),
        Ok(seconds) if seconds > MAX_AGE_LIMIT => Err(syn::Error::new(
            lit.span(),
            format!(
                "`max_age = {seconds}` is over a year ({MAX_AGE_LIMIT} seconds): a page that old needs no step-up, remove `max_age`"
            ),
        )),
        _ => Err(syn::Error::new(lit.span(), HELP)),
    }
}

/// `acr = "c1"`: one authentication context class reference.
fn parse_acr(input: ParseStream<'_>) -> syn::Result<LitStr> {
    const HELP: &str = "`acr` takes one authentication context class reference as a string \
                        literal, e.g. `acr = \"c1\"`";
    if !input.peek(LitStr) {
        return Err(syn::Error::new_spanned(take_item(input), HELP));
    }
    let lit: LitStr = input.parse()?;
    let value = lit.value();
    if value.is_empty()
        || !value
            .chars()
            .all(|c| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
    {
        return Err(syn::Error::new(
            lit.span(),
            format!("{HELP}: one value of printable ASCII without spaces, `\"` or `\\`"),
        ));
    }
    Ok(lit)
}

/// `provider = "work"`: the name of one of the application's providers.
fn parse_provider(input: ParseStream<'_>) -> syn::Result<LitStr> {
    const HELP: &str = "`provider` takes the name of one of the application's providers as a \
                        string literal, e.g. `provider = \"work\"`";
    if !input.peek(LitStr) {
        return Err(syn::Error::new_spanned(take_item(input), HELP));
    }
    let lit: LitStr = input.parse()?;
    let value = lit.value();
    if value.is_empty()
        || value.len() > 32
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(syn::Error::new(
            lit.span(),
            format!("{HELP}: up to 32 letters, digits, `-` and `_`"),
        ));
    }
    Ok(lit)
}

/// `crate = "path"` or `crate = path`.
fn parse_crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    const HELP: &str = "`crate` takes the path of the crate that re-exports axum-identity: \
                        write `crate = \"my_facade\"` or `crate = my_facade`";
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return lit
            .parse_with(Path::parse_mod_style)
            .map_err(|_| syn::Error::new(lit.span(), HELP));
    }
    let fork = input.fork();
    match fork.call(Path::parse_mod_style) {
        Ok(_) if fork.is_empty() || fork.peek(Token![,]) => input.call(Path::parse_mod_style),
        _ => Err(syn::Error::new_spanned(take_item(input), HELP)),
    }
}

/// The tokens of a malformed value or list item: everything up to the next top-level comma.
fn take_item(input: ParseStream<'_>) -> TokenStream {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<proc_macro2::TokenTree>() {
            Ok(tt) => tt.to_tokens(&mut tokens),
            Err(_) => break,
        }
    }
    if tokens.is_empty() {
        // Nothing to point at (e.g. `scopes =` at the end): point at the end of the input.
        quote::quote_spanned!(input.span()=> _)
    } else {
        tokens
    }
}

/// The closest known name to a misspelled one: case-insensitive, edit distance (with
/// transpositions) of at most 2 and less than half the name's length.
pub(crate) fn did_you_mean<'a>(found: &str, known: &[&'a str]) -> Option<&'a str> {
    let found = found.to_lowercase();
    known
        .iter()
        .map(|k| (k, edit_distance(&found, k)))
        .filter(|&(k, d)| d <= 2 && d * 2 < k.len().max(found.len()))
        .min_by_key(|&(_, d)| d)
        .map(|(k, _)| *k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Collects errors so that one expansion reports every problem it found.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn push_result<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|err| self.push(err)).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }

    /// The collected errors; only call after pushing at least one.
    pub(crate) fn into_error(self) -> syn::Error {
        self.0
            .unwrap_or_else(|| syn::Error::new(Span::call_site(), "internal error: no error"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> syn::Result<LoginRequiredArgs> {
        syn::parse_str(src)
    }

    fn messages(src: &str) -> Vec<String> {
        match parse(src) {
            Ok(_) => vec![],
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn message(src: &str) -> String {
        let all = messages(src);
        assert_eq!(all.len(), 1, "expected one error for {src:?}, got {all:#?}");
        all.into_iter().next().unwrap()
    }

    /// The source text the (single) error points at.
    fn pointed(src: &str) -> String {
        let err = parse(src).err().expect("expected an error");
        err.span().source_text().expect("source text of the span")
    }

    #[test]
    fn empty_and_valid_options() {
        let args = parse("").unwrap();
        assert!(args.scopes.is_none() && args.krate.is_none());

        let args =
            parse(r#"scopes = ["User.Read", "https://graph.microsoft.com/Mail.Read",]"#).unwrap();
        let scopes: Vec<String> = args
            .scopes
            .unwrap()
            .scopes
            .iter()
            .map(LitStr::value)
            .collect();
        assert_eq!(
            scopes,
            ["User.Read", "https://graph.microsoft.com/Mail.Read"]
        );

        let args = parse(r#"crate = "my::facade", scopes = [r"api://x/y"],"#).unwrap();
        let krate = args.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), "my :: facade");

        let args = parse("crate = ::my_facade").unwrap();
        let krate = args.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), ":: my_facade");

        let args = parse("crate = crate").unwrap();
        assert_eq!(
            private_path(args.krate.as_ref()).to_string(),
            "crate :: __private"
        );
        assert_eq!(
            private_path(None).to_string(),
            ":: axum_identity :: __private"
        );
    }

    #[test]
    fn a_wrong_crate_path_is_reported_at_the_path() {
        let args = parse("crate = my::facade").unwrap();
        let last = private_path(args.krate.as_ref())
            .into_iter()
            .last()
            .unwrap();
        assert_eq!(last.to_string(), "__private");
        assert_eq!(last.span().source_text().as_deref(), Some("facade"));
    }

    #[test]
    fn unknown_options_suggest_the_near_one() {
        for (src, near) in [
            (r#"scope = ["a"]"#, "scopes"),
            (r#"scopse = ["a"]"#, "scopes"),
            (r#"Scopes = ["a"]"#, "scopes"),
            (r#"crates = "x""#, "crate"),
            (r#"krate = "x""#, "crate"),
        ] {
            let key = src.split(' ').next().unwrap();
            assert_eq!(
                message(src),
                format!("unknown option `{key}`; did you mean `{near}`?")
            );
            assert_eq!(pointed(src), key);
        }
        assert_eq!(
            message("path = \"/x\""),
            "unknown option `path`; the options are `scopes`, `roles`, `max_age`, `acr`, `provider`, `crate`"
        );
    }

    #[test]
    fn option_given_twice_points_at_the_second() {
        let src = r#"scopes = ["a"], crate = x, scopes = ["b"]"#;
        assert_eq!(
            message(src),
            "`scopes` specified more than once: list every scope in one `scopes = [..]`, e.g. \
             `scopes = [\"User.Read\", \"Mail.Read\"]`"
        );
        let err = parse(src).err().unwrap();
        assert_eq!(err.span().start().column, src.rfind("scopes").unwrap());

        assert_eq!(
            message("crate = a, crate = b"),
            "`crate` specified more than once: keep one"
        );
    }

    #[test]
    fn scopes_must_be_a_list_of_literals() {
        assert_eq!(
            message(r#"scopes = "User.Read Mail.Read""#),
            r#"`scopes` takes a list of string literals: write `scopes = ["User.Read", "Mail.Read"]`"#
        );
        assert_eq!(pointed(r#"scopes = "a""#), r#""a""#);

        let msg = message("scopes = SCOPES");
        assert!(
            msg.starts_with("`scopes` takes a bracketed list of string literals"),
            "{msg}"
        );
        assert_eq!(pointed("scopes = SCOPES"), "SCOPES");
        assert_eq!(pointed(r#"scopes = vec!["a"]"#), r#"vec!["a"]"#);
        assert_eq!(
            pointed(r#"scopes = ("a", "b"), crate = x"#),
            r#"("a", "b")"#
        );

        let msg = message(r#"scopes = ["a", SCOPE_B]"#);
        assert!(msg.starts_with("expected a string literal"), "{msg}");
        assert_eq!(pointed(r#"scopes = ["a", SCOPE_B]"#), "SCOPE_B");
        assert_eq!(pointed(r#"scopes = [1]"#), "1");
        assert_eq!(pointed(r#"scopes = [b"a"]"#), r#"b"a""#);

        assert_eq!(
            message("scopes"),
            r#"expected `scopes = ..`: write `scopes = ["User.Read"]`"#
        );
        assert!(message(r#"["User.Read"]"#).starts_with("expected an option name"));
        assert!(message(r#""User.Read""#).starts_with("expected an option name"));
    }

    #[test]
    fn empty_list() {
        let msg = message("scopes = []");
        assert!(msg.starts_with("`scopes` is empty"), "{msg}");
        assert_eq!(pointed("scopes = []"), "[]");
    }

    #[test]
    fn bad_scope_strings() {
        assert_eq!(
            message(r#"scopes = ["a", ""]"#),
            r#"empty scope: remove it or write the scope's name, e.g. "User.Read""#
        );
        assert_eq!(pointed(r#"scopes = ["a", ""]"#), r#""""#);

        assert_eq!(
            message(r#"scopes = ["User.Read Mail.Read"]"#),
            r#"a scope cannot contain whitespace: list each scope as its own string: ["User.Read", "Mail.Read"]"#
        );
        assert_eq!(pointed(r#"scopes = [" a"]"#), r#"" a""#);

        let msg = message(r#"scopes = ["Usér.Read"]"#);
        assert!(msg.starts_with("a scope cannot contain 'é'"), "{msg}");
        let msg = message(r#"scopes = ["a\"b"]"#);
        assert!(msg.starts_with("a scope cannot contain '\"'"), "{msg}");
    }

    #[test]
    fn duplicate_scope_points_at_the_second() {
        let src = r#"scopes = ["a", "b", "a"]"#;
        assert_eq!(
            message(src),
            r#"scope "a" is listed twice: remove this one"#
        );
        let err = parse(src).err().unwrap();
        assert_eq!(err.span().start().column, src.rfind("\"a\"").unwrap());
        // Scopes are case-sensitive (RFC 6749 §3.3).
        assert!(parse(r#"scopes = ["a", "A"]"#).is_ok());
    }

    #[test]
    fn every_bad_scope_is_reported() {
        let all = messages(r#"scopes = ["", "a b", "c", "c", X]"#);
        assert_eq!(all.len(), 4, "{all:#?}");
    }

    #[test]
    fn max_age_and_acr() {
        let args = parse(r#"max_age = 300, acr = "c1""#).unwrap();
        assert_eq!(args.max_age.unwrap().base10_parse::<u64>().unwrap(), 300);
        assert_eq!(args.acr.unwrap().value(), "c1");
        assert!(parse("max_age = 0").unwrap().has_requirements());
        for (src, start) in [
            ("max_age = \"300\"", "`max_age` takes the seconds"),
            ("max_age = -1", "`max_age` takes the seconds"),
            ("max_age = 3.5", "`max_age` takes the seconds"),
            ("max_age = 300s", "`max_age` takes the seconds"),
            (
                "max_age = 99999999999",
                "`max_age = 99999999999` is over a year",
            ),
            ("acr = c1", "`acr` takes one"),
            ("acr = \"a b\"", "`acr` takes one"),
            ("acr = \"\"", "`acr` takes one"),
        ] {
            let msg = message(src);
            assert!(msg.starts_with(start), "{src}: {msg}");
        }
        assert_eq!(pointed("max_age = -1"), "-1");
        assert_eq!(
            parse(r#"provider = "work""#)
                .unwrap()
                .provider
                .unwrap()
                .value(),
            "work"
        );
        for bad in [
            r#"provider = work"#,
            r#"provider = "a b""#,
            r#"provider = """#,
        ] {
            assert!(message(bad).starts_with("`provider` takes"), "{bad}");
        }
        assert_eq!(pointed("acr = \"a b\""), "\"a b\"");
        assert_eq!(
            message("max_age = 1, max_age = 2"),
            "`max_age` specified more than once: keep one"
        );
        // Step-up is a sign-in's; an API's token says nothing about it.
        let api = |input: ParseStream<'_>| {
            LoginRequiredArgs::parse_for(input, &crate::spec::AUTHORIZATION_REQUIRED)
        };
        let err = syn::parse::Parser::parse_str(api, "max_age = 5")
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "unknown option `max_age`; the options are `scopes`, `roles`, `crate`"
        );
    }

    #[test]
    fn crate_path() {
        let msg = message("crate = 1");
        assert!(msg.starts_with("`crate` takes the path"), "{msg}");
        assert_eq!(pointed("crate = 1"), "1");
        assert_eq!(pointed(r#"crate = "not a path""#), r#""not a path""#);
        assert_eq!(pointed("crate = a b, scopes = [\"x\"]"), "a b");
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("scope", LOGIN_REQUIRED_OPTIONS),
            Some("scopes")
        );
        assert_eq!(
            did_you_mean("SCOPES", LOGIN_REQUIRED_OPTIONS),
            Some("scopes")
        );
        assert_eq!(
            did_you_mean("scopse", LOGIN_REQUIRED_OPTIONS),
            Some("scopes")
        );
        assert_eq!(
            did_you_mean("crates", LOGIN_REQUIRED_OPTIONS),
            Some("crate")
        );
        assert_eq!(did_you_mean("path", LOGIN_REQUIRED_OPTIONS), None);
        assert_eq!(did_you_mean("s", LOGIN_REQUIRED_OPTIONS), None);
        assert_eq!(edit_distance("scopse", "scopes"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
