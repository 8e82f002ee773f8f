//! `#[login_required]`: rewrites the signature of an `async fn` handler so that it extracts
//! `LoginRequired<Marker>` (which rejects signed-out requests) instead of plain `Context`:
//!
//! ```text
//! #[login_required(scopes = ["a"])]        struct __axum_identity_scopes_h;  // + impl Scopes
//! async fn h(ctx: Context, ..)       =>    async fn h(
//!                                              LoginRequired { 0: ctx @ Context { .. }, .. }:
//!                                                  LoginRequired<__axum_identity_scopes_h>, ..)
//! ```

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{
    FnArg, GenericArgument, Item, ItemFn, Pat, PatType, Path, PathArguments, Type, parse::Parser,
    parse_quote_spanned, spanned::Spanned,
};

use crate::attr::{Errors, LoginRequiredArgs, private_path};
use crate::spec::{AUTHORIZATION_REQUIRED, LOGIN_REQUIRED, Spec};

/// axum implements `Handler` for functions of at most this many extractors.
const AXUM_MAX_ARGS: usize = 16;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    expand_with(&LOGIN_REQUIRED, attr, item)
}

/// Expands one of the handler attributes described by `spec`.
pub(crate) fn expand_with(
    spec: &Spec,
    attr: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    // Options and item are both checked, so that one compile shows every mistake.
    let parser = |input: syn::parse::ParseStream<'_>| LoginRequiredArgs::parse_for(input, spec);
    let args = errors.push_result(parser.parse2(attr));
    let item = errors.push_result(syn::parse2::<Item>(item));
    let Some(Item::Fn(mut handler)) = item else {
        if let Some(item) = &item {
            errors.push(not_a_fn(spec, item));
        }
        return Err(errors.into_error());
    };

    check_fn(spec, &handler, &mut errors);
    let context = find_context(spec, &handler, &mut errors);
    if context.is_none() && handler.sig.inputs.len() >= AXUM_MAX_ARGS {
        errors.push(syn::Error::new(
            handler.sig.paren_token.span.join(),
            format!(
                "this handler already takes {} arguments, the most axum allows, and \
                 `#[{}]` would add one: take `context: {}` in place of one of \
                 them",
                handler.sig.inputs.len(),
                spec.name,
                spec.context,
            ),
        ));
    }
    errors.finish()?;
    let args = args.expect("options parsed without error");
    if spec.name == AUTHORIZATION_REQUIRED.name {
        let list = |list: &Option<crate::attr::ScopeList>| {
            list.as_ref().map(|l| l.scopes.clone()).unwrap_or_default()
        };
        crate::openapi::add_security(&mut handler, &list(&args.scopes), &list(&args.roles));
    }

    let prefix = private_path(args.krate.as_ref());
    let (marker, marker_items) = if args.has_requirements() {
        let marker = format_ident!(
            "__axum_identity_scopes_{}",
            handler.sig.ident,
            span = handler.sig.ident.span()
        );
        let vis = &handler.vis;
        // The marker lives and dies with the handler under `#[cfg]`.
        let cfgs: Vec<_> = handler
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .collect();
        let scopes = args.scopes.iter().flat_map(|list| &list.scopes);
        // Only written when given: the trait's defaults are no role and no step-up.
        let roles = args.roles.as_ref().map(|list| {
            let roles = &list.scopes;
            quote!(const ROLES: &'static [&'static str] = &[#(#roles),*];)
        });
        let max_age = args
            .max_age
            .as_ref()
            .map(|seconds| quote!(const MAX_AGE: ::core::option::Option<u64> = ::core::option::Option::Some(#seconds);));
        let acr = args
            .acr
            .as_ref()
            .map(|acr| quote!(const ACR: ::core::option::Option<&'static str> = ::core::option::Option::Some(#acr);));
        let provider = args.provider.as_ref().map(|provider| {
            quote!(const PROVIDER: ::core::option::Option<&'static str> = ::core::option::Option::Some(#provider);)
        });
        let items = quote! {
            #(#cfgs)*
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #marker;

            #(#cfgs)*
            impl #prefix::Scopes for #marker {
                const SCOPES: &'static [&'static str] = &[#(#scopes),*];
                #roles
                #max_age
                #acr
                #provider
            }
        };
        (Some(marker), items)
    } else {
        (None, TokenStream::new())
    };
    let generics = marker.map(|m| quote!(<#m>));

    match context {
        Some((index, context_path)) => {
            let Some(FnArg::Typed(arg)) = handler.sig.inputs.iter_mut().nth(index) else {
                unreachable!("find_context returns a typed argument");
            };
            // Spanned at the user's `Context`, so that errors about the extractor point there.
            let span = arg.ty.span();
            let pat = bind_context(&arg.pat, &context_path, span);
            let extractor = Ident::new(spec.extractor, span);
            *arg.pat = parse_quote_spanned!(span=> #prefix::#extractor { 0: #pat, .. });
            *arg.ty = parse_quote_spanned!(span=> #prefix::#extractor #generics);
        }
        None => {
            // No context argument it can see (none, or one under another name, such as
            // `use axum_identity::Context as Identity`): the guard, which for
            // `#[login_required]` leaves the context on the request for such an argument.
            let guard = Ident::new(spec.guard, Span::call_site());
            let arg: PatType =
                parse_quote_spanned!(Span::call_site()=> _: #prefix::#guard #generics);
            handler.sig.inputs.insert(0, FnArg::Typed(arg));
        }
    }

    Ok(quote! {
        #marker_items
        #handler
    })
}

/// The pattern that takes the `Context` out of `LoginRequired`. It names the user's `Context`
/// path in a struct pattern (`context @ Context { .. }`), so that the path is still used (no
/// "unused import" once the type is rewritten) and is checked to be the runtime's `Context`.
fn bind_context(pat: &Pat, context: &Path, span: Span) -> TokenStream {
    let check = quote_spanned!(span=> #context { .. });
    match pat {
        Pat::Wild(_) => check,
        Pat::Ident(ident) if ident.subpat.is_none() => quote!(#ident @ #check),
        // Any other pattern (`Context { user, .. }`, `ctx @ ..`) is kept as written.
        pat => pat.to_token_stream(),
    }
}

/// Handlers must be free-standing `async fn`s.
fn check_fn(spec: &Spec, handler: &ItemFn, errors: &mut Errors) {
    let sig = &handler.sig;
    if let Some(receiver) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            receiver,
            format!(
                "`#[{}]` is for free-standing handler functions, not methods: move the \
                 handler out of the `impl` block and drop `self`",
                spec.name
            ),
        ));
    }
    if sig.asyncness.is_none() {
        let fn_token = sig.fn_token;
        let ident = &sig.ident;
        errors.push(syn::Error::new_spanned(
            quote!(#fn_token #ident),
            format!(
                "`#[{}]` handlers must be `async`: write `async fn {ident}`",
                spec.name
            ),
        ));
    }
}

/// The position of the `Context` argument, if any; reports the arguments that look like a
/// `Context` but cannot be one.
fn find_context(spec: &Spec, handler: &ItemFn, errors: &mut Errors) -> Option<(usize, Path)> {
    let mut found: Option<(usize, Path)> = None;
    let context = spec.context;
    let name = spec.name;
    for (index, arg) in handler.sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = arg else { continue };
        match classify(spec, &arg.ty) {
            Kind::Context(path) => {
                if found.is_some() {
                    errors.push(syn::Error::new_spanned(
                        arg,
                        format!("only one `{context}` argument is allowed: remove this one"),
                    ));
                } else {
                    found = Some((index, path.clone()));
                }
            }
            // Not the runtime's `Context` (which has no parameters): rustc says so clearly.
            Kind::ContextWithArgs => {}
            Kind::Optional(wrapper) => {
                let wrapper = wrapper.replace("Context", context);
                errors.push(syn::Error::new_spanned(
                    &arg.ty,
                    format!(
                        "`{wrapper}` would let {} in, but `#[{name}]` \
                         turns them away: take `{context}`, or remove `#[{name}]` to keep \
                         the page open with `{wrapper}`",
                        spec.turned_away
                    ),
                ))
            }
            Kind::Reference => errors.push(syn::Error::new_spanned(
                &arg.ty,
                format!("extractors are taken by value: write `{context}`, not a reference to it"),
            )),
            Kind::Other if is_named_context(&arg.pat) => errors.push(syn::Error::new_spanned(
                &arg.ty,
                format!(
                    "expected `{context}`: in a `#[{name}]` handler the argument named \
                     `context` is {}; write `context: {context}`, or rename this argument",
                    spec.context_is
                ),
            )),
            Kind::Other => {}
        }
    }
    found
}

enum Kind<'a> {
    /// `Context`, `axum_identity::Context`, ...: recognized by the last path segment.
    Context(&'a Path),
    /// `Context<..>`.
    ContextWithArgs,
    /// `Option<Context>` or `Result<Context, _>`, as written in messages.
    Optional(&'static str),
    /// `&Context`, `&mut Context`.
    Reference,
    Other,
}

fn classify<'a>(spec: &Spec, ty: &'a Type) -> Kind<'a> {
    match strip(ty) {
        Type::Reference(r) if is_context(spec, &r.elem) => Kind::Reference,
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return Kind::Other;
            };
            if last.ident == spec.context {
                return match &last.arguments {
                    PathArguments::None => Kind::Context(&p.path),
                    _ => Kind::ContextWithArgs,
                };
            }
            if (last.ident == "Option" || last.ident == "Result")
                && let PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(GenericArgument::Type(inner)) = args.args.first()
                && is_context(spec, inner)
            {
                return Kind::Optional(if last.ident == "Option" {
                    "Option<Context>"
                } else {
                    "Result<Context, _>"
                });
            }
            Kind::Other
        }
        _ => Kind::Other,
    }
}

fn is_context(spec: &Spec, ty: &Type) -> bool {
    matches!(classify(spec, ty), Kind::Context(_) | Kind::ContextWithArgs)
}

/// Types as they come out of `macro_rules!` (`$t:ty`) or with parentheses.
fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip(&g.elem),
        Type::Paren(p) => strip(&p.elem),
        ty => ty,
    }
}

fn is_named_context(pat: &Pat) -> bool {
    matches!(pat, Pat::Ident(p) if p.ident == "context")
}

/// For an item that is not a fn: point at its head (`struct Foo`, `impl Foo for Bar`, ...).
fn not_a_fn(spec: &Spec, item: &Item) -> syn::Error {
    let mut head = TokenStream::new();
    let mut tokens = item.to_token_stream().into_iter().peekable();
    // Skip the outer attributes: `#` followed by a bracket group.
    while let Some(TokenTree::Punct(p)) = tokens.peek() {
        if p.as_char() != '#' {
            break;
        }
        tokens.next();
        tokens.next();
    }
    for tt in tokens {
        let end = match &tt {
            TokenTree::Group(g) => g.delimiter() != Delimiter::Parenthesis,
            TokenTree::Punct(p) => matches!(p.as_char(), ';' | '=' | ':' | '<'),
            _ => false,
        };
        if end {
            break;
        }
        tt.to_tokens(&mut head);
    }
    let which = if matches!(item, Item::Impl(_)) {
        "each handler"
    } else {
        "the handler"
    };
    let msg = format!(
        "`#[{name}]` goes on an `async fn` handler, not on {}: put it on {which}, \
         e.g. `#[{name}] async fn index(context: {context}) {{ .. }}`",
        item_kind(item),
        name = spec.name,
        context = spec.context,
    );
    if head.is_empty() {
        syn::Error::new_spanned(item, msg)
    } else {
        syn::Error::new_spanned(head, msg)
    }
}

/// What an item is, with its article, for messages.
fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Const(_) => "a `const`",
        Item::Enum(_) => "an `enum`",
        Item::ExternCrate(_) => "an `extern crate`",
        Item::ForeignMod(_) => "an `extern` block",
        Item::Impl(_) => "an `impl` block",
        Item::Macro(_) => "a macro",
        Item::Mod(_) => "a module",
        Item::Static(_) => "a `static`",
        Item::Struct(_) => "a `struct`",
        Item::Trait(_) | Item::TraitAlias(_) => "a trait",
        Item::Type(_) => "a type alias",
        Item::Union(_) => "a `union`",
        Item::Use(_) => "a `use` declaration",
        _ => "this item",
    }
}

#[cfg(test)]
mod tests;
