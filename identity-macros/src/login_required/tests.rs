use proc_macro2::TokenStream;
use quote::quote;

use super::expand;

/// The expansion, pretty-printed.
fn pretty(attr: TokenStream, item: TokenStream) -> String {
    let out = expand(attr, item).unwrap_or_else(|err| panic!("expansion failed: {err}"));
    let file = syn::parse2::<syn::File>(out).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

/// The first argument of the expanded fn, as a token string.
fn first_arg(item: TokenStream) -> String {
    let out = expand(quote!(), item).unwrap();
    let f = syn::parse2::<syn::ItemFn>(out).unwrap();
    quote::ToTokens::to_token_stream(&f.sig.inputs[0]).to_string()
}

/// Every error of an expansion written as source text: (message, text it points at).
fn errors(attr: &str, item: &str) -> Vec<(String, String)> {
    let attr: TokenStream = attr.parse().unwrap();
    let item: TokenStream = item.parse().unwrap();
    let err = expand(attr, item).expect_err("expected an error");
    err.into_iter()
        .map(|e| {
            let at = e.span().source_text().unwrap_or_default();
            (e.to_string(), at)
        })
        .collect()
}

/// The single error of an expansion.
fn error(attr: &str, item: &str) -> (String, String) {
    let all = errors(attr, item);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.into_iter().next().unwrap()
}

// ---- expansions -------------------------------------------------------------------------------

#[test]
fn no_arguments() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn index(context: Context) -> Html<String> {
                Html(format!("{:?}", context.user))
            }
        }
    ));
}

#[test]
fn scopes() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read", "Mail.Read"]),
        quote! {
            async fn call_api(context: Context) -> Response {
                call(&context.access_token).await
            }
        }
    ));
}

#[test]
fn extractors_before_and_after_context() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"]),
        quote! {
            async fn show(
                Path(id): Path<u32>,
                headers: HeaderMap,
                mut ctx: axum_identity::Context,
                Query(q): Query<Params>,
                uri: Uri,
            ) -> impl IntoResponse {
                ctx.user.name.take();
                (id, q, uri)
            }
        }
    ));
}

#[test]
fn body_extractor_last() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn create(context: Context, Json(note): Json<Note>) -> StatusCode {
                StatusCode::CREATED
            }

        }
    ));
}

#[test]
fn body_extractor_without_context() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["Notes.Write"]),
        quote! {
            async fn submit(Form(form): Form<Input>) -> Redirect {
                Redirect::to("/")
            }
        }
    ));
}

#[test]
fn state() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn with_state(State(state): State<AppState>, _: Context) -> String {
                state.name.clone()
            }
        }
    ));
}

#[test]
fn generic_handler() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["api://app/read"]),
        quote! {
            pub async fn generic<T, S>(State(s): State<S>, context: Context, Json(t): Json<T>) -> Json<T>
            where
                T: serde::de::DeserializeOwned + serde::Serialize + Send,
                S: Clone + Send + Sync + 'static,
            {
                Json(t)
            }
        }
    ));
}

#[test]
fn pub_crate() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"]),
        quote! {
            pub(crate) async fn crate_visible(context: Context) {}
        }
    ));
}

#[test]
fn pub_super_and_cfg() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"]),
        quote! {
            #[cfg(feature = "graph")]
            pub(super) async fn parent_visible(context: Context) {}
        }
    ));
}

#[test]
fn attributes_kept() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"]),
        quote! {
            /// Shows the profile.
            ///
            /// Needs `User.Read`.
            #[tracing::instrument(skip_all)]
            #[allow(clippy::unused_async)]
            pub async fn profile(#[allow(unused_variables)] context: Context) -> String {
                String::new()
            }
        }
    ));
}

#[test]
fn debug_handler() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"]),
        quote! {
            #[axum::debug_handler]
            async fn checked(context: Context, body: String) -> String {
                body
            }
        }
    ));
}

#[test]
fn crate_override() {
    insta::assert_snapshot!(pretty(
        quote!(crate = "my_facade::auth", scopes = ["User.Read"]),
        quote! {
            async fn via_facade(context: my_facade::auth::Context) {}
        }
    ));
}

#[test]
fn crate_override_path() {
    insta::assert_snapshot!(pretty(
        quote!(crate = ::my_facade),
        quote! {
            async fn via_facade() {}
        }
    ));
}

#[test]
fn no_context_argument() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn protected(Path(id): Path<u32>) -> String {
                id.to_string()
            }
        }
    ));
}

/// Roles on a handler without a `Context` argument: the guard carries the same marker, so the
/// runtime checks the roles on this path too (one function decides for the guard and the
/// extractor).
#[test]
fn roles_without_context() {
    insta::assert_snapshot!(pretty(
        quote!(roles = ["Admin"]),
        quote! {
            async fn admin_only(Path(id): Path<u32>) -> String {
                id.to_string()
            }
        }
    ));
}

#[test]
fn other_patterns() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn patterns(_: Context) {}
        }
    ));
    let out = first_arg(quote!(
        async fn f(Context { user, .. }: Context) {}
    ));
    assert_eq!(
        out,
        ":: axum_identity :: __private :: LoginRequired { 0 : Context { user , .. } , .. } : \
         :: axum_identity :: __private :: LoginRequired"
    );
    let out = first_arg(quote!(
        async fn f(mut ctx: my::Context) {}
    ));
    assert!(
        out.contains("LoginRequired { 0 : mut ctx @ my :: Context { .. } , .. }"),
        "{out}"
    );
    let out = first_arg(quote!(
        async fn f(ref c @ Context { .. }: Context) {}
    ));
    assert!(
        out.contains("LoginRequired { 0 : ref c @ Context { .. } , .. }"),
        "{out}"
    );
}

#[test]
fn raw_identifier_name() {
    let out = pretty(
        quote!(scopes = ["a"]),
        quote!(
            async fn r#type(context: Context) {}
        ),
    );
    assert!(out.contains("struct __axum_identity_scopes_type;"), "{out}");
    assert!(out.contains("async fn r#type("), "{out}");
}

#[test]
fn nested_macro_types() {
    // `$t:ty` from `macro_rules!` arrives wrapped in an invisible group.
    let ty = proc_macro2::Group::new(proc_macro2::Delimiter::None, quote!(Context));
    let out = first_arg(quote!(async fn f(c: #ty) {}));
    assert!(
        out.contains("LoginRequired { 0 : c @ Context { .. } , .. }"),
        "{out}"
    );
}

#[test]
fn body_and_return_type_untouched() {
    let item = quote! {
        #[doc = "x"]
        async fn f<'a>(context: Context, x: Extension<&'a str>) -> Result<String, Error> where 'a: 'static {
            let user = context.user;
            Ok(format!("{user:?}"))
        }
    };
    let before = syn::parse2::<syn::ItemFn>(item.clone()).unwrap();
    let out = expand(quote!(), item).unwrap();
    let after = syn::parse2::<syn::ItemFn>(out).unwrap();
    let tokens = |t: &dyn quote::ToTokens| t.to_token_stream().to_string();
    assert_eq!(tokens(&before.block), tokens(&after.block));
    assert_eq!(tokens(&before.sig.output), tokens(&after.sig.output));
    assert_eq!(tokens(&before.sig.generics), tokens(&after.sig.generics));
    assert_eq!(
        tokens(&before.sig.generics.where_clause),
        tokens(&after.sig.generics.where_clause)
    );
    let (b, a) = (&before.attrs, &after.attrs);
    assert_eq!(quote!(#(#b)*).to_string(), quote!(#(#a)*).to_string());
    assert_eq!(before.sig.inputs.len(), after.sig.inputs.len());
    assert_eq!(tokens(&before.sig.inputs[1]), tokens(&after.sig.inputs[1]));
}

// ---- errors -----------------------------------------------------------------------------------

#[test]
fn not_a_fn() {
    assert_eq!(
        error("", "struct Index;"),
        (
            "`#[login_required]` goes on an `async fn` handler, not on a `struct`: put it on the \
             handler, e.g. `#[login_required] async fn index(context: Context) { .. }`"
                .to_owned(),
            "struct Index".to_owned()
        )
    );
    assert_eq!(
        error("", "#[derive(Clone)] pub(crate) struct Index { a: u32 }").1,
        "pub(crate) struct Index"
    );
    let (msg, at) = error("", "impl<T> Foo for Bar {}");
    assert!(msg.contains("not on an `impl` block"), "{msg}");
    assert_eq!(at, "impl");
    assert_eq!(error("", "const X: u32 = 1;").1, "const X");
}

#[test]
fn not_async() {
    assert_eq!(
        error("", "fn index(context: Context) {}"),
        (
            "`#[login_required]` handlers must be `async`: write `async fn index`".to_owned(),
            "fn index".to_owned()
        )
    );
}

#[test]
fn method_with_self() {
    let (msg, at) = error("", "async fn index(&self, context: Context) {}");
    assert!(
        msg.starts_with("`#[login_required]` is for free-standing handler functions"),
        "{msg}"
    );
    assert_eq!(at, "&self");
    assert_eq!(
        error("", "async fn index(self: Arc<Self>) {}").1,
        "self: Arc<Self>"
    );
}

#[test]
fn context_named_argument_of_another_type() {
    let (msg, at) = error("", "async fn index(context: String) {}");
    assert!(msg.starts_with("expected `Context`"), "{msg}");
    assert_eq!(at, "String");
    // The name is only checked for a plain binding; other names are other extractors.
    assert!(
        expand(
            quote!(),
            quote!(
                async fn f(ctx: String) {}
            )
        )
        .is_ok()
    );
    assert!(
        expand(
            quote!(),
            quote!(
                async fn f(State(context): State<String>) {}
            )
        )
        .is_ok()
    );
}

#[test]
fn two_contexts() {
    let (msg, at) = error(
        "",
        "async fn index(a: Context, b: axum_identity::Context) {}",
    );
    assert_eq!(
        msg,
        "only one `Context` argument is allowed: remove this one"
    );
    assert_eq!(at, "b: axum_identity::Context");
}

#[test]
fn optional_context() {
    let (msg, at) = error("", "async fn index(context: Option<Context>) {}");
    assert!(
        msg.starts_with("`Option<Context>` would let signed-out visitors in"),
        "{msg}"
    );
    assert!(msg.contains("remove `#[login_required]`"), "{msg}");
    assert_eq!(at, "Option<Context>");
    let (msg, at) = error("", "async fn index(c: Result<Context, Rejection>) {}");
    assert!(msg.starts_with("`Result<Context, _>` would let"), "{msg}");
    assert_eq!(at, "Result<Context, Rejection>");
}

#[test]
fn reference_to_context() {
    for (item, at) in [
        ("async fn index(context: &Context) {}", "&Context"),
        (
            "async fn index(context: &'static mut Context) {}",
            "&'static mut Context",
        ),
    ] {
        assert_eq!(
            error("", item),
            (
                "extractors are taken by value: write `Context`, not a reference to it".to_owned(),
                at.to_owned()
            )
        );
    }
}

#[test]
fn context_with_generic_arguments_is_left_to_rustc() {
    // Not the runtime's `Context`; rustc reports the generic arguments on the original item, and
    // the handler is protected by an inserted extractor meanwhile.
    let out = first_arg(quote!(
        async fn index(context: Context<User>) {}
    ));
    assert_eq!(out, "_ : :: axum_identity :: __private :: LoginGuard");
}

#[test]
fn too_many_arguments_for_axum() {
    let args = (0..16).map(|i| format!("a{i}: A{i}")).collect::<Vec<_>>();
    let item = format!("async fn big({}) {{}}", args.join(", "));
    let (msg, at) = error("", &item);
    assert!(
        msg.starts_with("this handler already takes 16 arguments"),
        "{msg}"
    );
    assert!(at.starts_with("(a0: A0"), "{at}");
    // With a `Context` among them, the count does not grow.
    let item = item.replace("a0: A0", "context: Context");
    assert!(expand(quote!(), item.parse().unwrap()).is_ok());
}

#[test]
fn option_and_fn_errors_together() {
    let all = errors(r#"scope = ["a"]"#, "fn index(context: &Context) {}");
    let messages: Vec<&str> = all.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown option `scope`; did you mean `scopes`?",
            "`#[login_required]` handlers must be `async`: write `async fn index`",
            "extractors are taken by value: write `Context`, not a reference to it",
        ]
    );
}

#[test]
fn scope_errors_are_spanned() {
    assert_eq!(
        error(r#"scopes = ["a", "b", "a"]"#, "async fn f() {}"),
        (
            r#"scope "a" is listed twice: remove this one"#.to_owned(),
            r#""a""#.to_owned()
        )
    );
    let all = errors(r#"scopes = ["a", "b", "a"]"#, "async fn f() {}");
    // The second "a": column of the last `"a"` in the attribute.
    let attr = r#"scopes = ["a", "b", "a"]"#;
    let err = expand(
        attr.parse().unwrap(),
        quote!(
            async fn f() {}
        ),
    )
    .unwrap_err();
    assert_eq!(err.span().start().column, attr.rfind("\"a\"").unwrap());
    assert_eq!(all.len(), 1);
}

#[test]
fn roles() {
    insta::assert_snapshot!(pretty(
        quote!(roles = ["Admin"]),
        quote! {
            async fn admin(context: Context) -> String {
                context.user.subject().to_owned()
            }
        }
    ));
}

#[test]
fn scopes_and_roles() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["User.Read"], roles = ["Admin", "Auditor"]),
        quote! {
            async fn audit(context: Context) -> String {
                context.access_token
            }
        }
    ));
}

#[test]
fn step_up() {
    insta::assert_snapshot!(pretty(
        quote!(max_age = 300, acr = "c1"),
        quote! {
            async fn payout(context: Context) -> String {
                context.user.subject().to_owned()
            }
        }
    ));
}

#[test]
fn provider() {
    insta::assert_snapshot!(pretty(
        quote!(provider = "work"),
        quote! {
            async fn staff(context: Context) -> String {
                context.provider().to_owned()
            }
        }
    ));
}
