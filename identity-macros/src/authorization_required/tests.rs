use proc_macro2::TokenStream;
use quote::quote;

use super::expand;

/// The expansion, pretty-printed.
fn pretty(attr: TokenStream, item: TokenStream) -> String {
    let out = expand(attr, item).unwrap_or_else(|err| panic!("expansion failed: {err}"));
    let file = syn::parse2::<syn::File>(out).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

/// Every error of an expansion: (message, source text it points at).
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

fn error(attr: &str, item: &str) -> (String, String) {
    let all = errors(attr, item);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.into_iter().next().unwrap()
}

#[test]
fn no_arguments() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            async fn resource(context: ApiContext) -> Json<Value> {
                Json(json!({"sub": context.claims.subject()}))
            }
        }
    ));
}

#[test]
fn scopes_and_roles() {
    insta::assert_snapshot!(pretty(
        quote!(scopes = ["api.read", "api.write"], roles = ["Writer"]),
        quote! {
            pub async fn write(State(db): State<Db>, ctx: axum_identity::ApiContext, Json(body): Json<Value>) -> StatusCode {
                db.write(ctx.claims.subject(), body).await
            }
        }
    ));
}

#[test]
fn roles_only_without_context() {
    insta::assert_snapshot!(pretty(
        quote!(roles = ["Reports.Read.All"], crate = my::facade),
        quote! {
            async fn reports() -> &'static str {
                "reports"
            }
        }
    ));
}

#[test]
fn errors_name_this_attribute_and_api_context() {
    let (msg, at) = error("", "async fn h(context: Option<ApiContext>) {}");
    assert_eq!(
        msg,
        "`Option<ApiContext>` would let requests without a valid access token in, but \
         `#[authorization_required]` turns them away: take `ApiContext`, or remove \
         `#[authorization_required]` to keep the page open with `Option<ApiContext>`"
    );
    assert_eq!(at, "Option<ApiContext>");

    let (msg, _) = error("", "fn h(context: ApiContext) {}");
    assert_eq!(
        msg,
        "`#[authorization_required]` handlers must be `async`: write `async fn h`"
    );

    let (msg, at) = error("", "async fn h(context: Context) {}");
    assert!(
        msg.starts_with("expected `ApiContext`: in a `#[authorization_required]` handler"),
        "{msg}"
    );
    assert_eq!(at, "Context");

    let (msg, _) = error("roles = []", "async fn h() {}");
    assert_eq!(
        msg,
        "`roles` is empty: list at least one role, e.g. `roles = [\"Admin\"]`, or write \
         `#[authorization_required]` without options to only require a valid access token"
    );

    let all = errors(
        r#"roles = ["Admin", "Admin", "Read All"]"#,
        "async fn h() {}",
    );
    let messages: Vec<&str> = all.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "role \"Admin\" is listed twice: remove this one",
            "a role cannot contain whitespace: list each role as its own string: [\"Read\", \"All\"]",
        ]
    );

    let (msg, at) = error(r#"role = ["Admin"]"#, "async fn h() {}");
    assert_eq!(msg, "unknown option `role`; did you mean `roles`?");
    assert_eq!(at, "role");

    let (msg, _) = error("", "struct S;");
    assert!(
        msg.starts_with(
            "`#[authorization_required]` goes on an `async fn` handler, not on a `struct`"
        ),
        "{msg}"
    );
}
