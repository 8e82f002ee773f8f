//! `identity_routes!(auth)`: the sign-in routes (login, redirect, logout, device pages) as a
//! `Router`, built by a plain runtime function.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{
    Expr, Token,
    parse::{Parse, ParseStream},
    spanned::Spanned,
};

use crate::attr::private_path;

const ONLY_AUTH: &str = "identity_routes! takes the `Auth` value only — paths are configured on \
                         `Auth::builder()`";

struct Input {
    auth: Expr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "identity_routes! needs the `Auth` value: write `identity_routes!(auth)`",
            ));
        }
        let auth: Expr = input.parse()?;
        // `identity_routes!(login_path = "/x")` parses as an assignment expression.
        if let Expr::Assign(assign) = &auth {
            return Err(syn::Error::new_spanned(
                assign,
                format!("unexpected option; {ONLY_AUTH}"),
            ));
        }
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(syn::Error::new_spanned(
                rest,
                format!("unexpected argument; {ONLY_AUTH}"),
            ));
        }
        Ok(Self { auth })
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Input { auth } = syn::parse2(input)?;
    let prefix = private_path(None);
    // Spanned at the argument, so that a value that is not an `Auth` is reported there.
    let arg = quote_spanned!(auth.span()=> &(#auth));
    Ok(quote!(#prefix::routes(#arg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(src: &str) -> (String, Option<String>) {
        let tokens: TokenStream = src.parse().unwrap();
        let err = expand(tokens).expect_err("expected an error");
        (err.to_string(), err.span().source_text())
    }

    #[test]
    fn expands_to_the_runtime_call() {
        let out = expand(quote!(auth)).unwrap();
        assert_eq!(
            out.to_string(),
            ":: axum_identity :: __private :: routes (& (auth))"
        );
        let out = expand(quote!(state.auth.clone(),)).unwrap();
        assert_eq!(
            out.to_string(),
            ":: axum_identity :: __private :: routes (& (state . auth . clone ()))"
        );
        let out = expand(quote!(&auth)).unwrap();
        assert_eq!(
            out.to_string(),
            ":: axum_identity :: __private :: routes (& (& auth))"
        );
    }

    #[test]
    fn no_argument() {
        let err = expand(TokenStream::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "identity_routes! needs the `Auth` value: write `identity_routes!(auth)`"
        );
    }

    #[test]
    fn extra_arguments() {
        assert_eq!(
            message("auth, foo = 1"),
            (
                format!("unexpected argument; {ONLY_AUTH}"),
                Some("foo = 1".to_owned())
            )
        );
        assert_eq!(
            message("auth, other"),
            (
                format!("unexpected argument; {ONLY_AUTH}"),
                Some("other".to_owned())
            )
        );
        assert_eq!(
            message("auth other"),
            (
                format!("unexpected argument; {ONLY_AUTH}"),
                Some("other".to_owned())
            )
        );
        assert_eq!(
            message(r#"login_path = "/signin""#),
            (
                format!("unexpected option; {ONLY_AUTH}"),
                Some(r#"login_path = "/signin""#.to_owned())
            )
        );
    }

    #[test]
    fn not_an_expression() {
        let (msg, at) = message("struct X;");
        assert!(msg.starts_with("expected"), "{msg}");
        assert_eq!(at.as_deref(), Some("struct"));
    }
}
