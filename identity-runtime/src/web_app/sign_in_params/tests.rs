use super::*;

fn parse(pairs: &[(&str, &str)]) -> SignInParams {
    SignInParams::from_query(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn good_values_pass() {
    let params = parse(&[
        ("login_hint", "ada@contoso.com"),
        ("domain_hint", "contoso.com"),
        ("prompt", "select_account"),
        ("ui_locales", "fr-CA fr en"),
        (
            "claims",
            r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#,
        ),
        ("max_age", "300"),
        ("acr", "urn:mace:incommon:iap:silver"),
    ]);
    assert_eq!(params.login_hint.as_deref(), Some("ada@contoso.com"));
    assert_eq!(params.domain_hint.as_deref(), Some("contoso.com"));
    assert_eq!(params.prompt, Some(Prompt::SelectAccount));
    assert_eq!(params.ui_locales.as_deref(), Some("fr-CA fr en"));
    assert!(params.claims.is_some());
    let step_up = params.step_up.unwrap();
    assert_eq!(step_up.max_age, Some(300));
    assert_eq!(step_up.acr.as_deref(), Some("urn:mace:incommon:iap:silver"));
}

#[test]
fn bad_values_are_dropped_not_forwarded() {
    let long = "a".repeat(257);
    let params = parse(&[
        ("login_hint", "ada\r\nSet-Cookie: x"),
        ("domain_hint", "contoso.com/evil"),
        ("prompt", "create"),
        ("ui_locales", "en_US"),
        ("claims", "[1]"),
        ("max_age", "-1"),
        ("acr", "a b"),
    ]);
    assert_eq!(params, SignInParams::default());
    assert_eq!(parse(&[("login_hint", &long)]).login_hint, None);
    assert_eq!(
        parse(&[("login_hint", &long[..256])]).login_hint.as_deref(),
        Some(&long[..256])
    );
    assert_eq!(parse(&[("prompt", "login consent")]).prompt, None);
    assert_eq!(
        parse(&[("ui_locales", "a b c d e f g h i")]).ui_locales,
        None
    );
    assert_eq!(parse(&[("max_age", "99999999999")]).step_up, None);
}

#[test]
fn max_age_zero_is_kept() {
    let step_up = parse(&[("max_age", "0")]).step_up.unwrap();
    assert_eq!(step_up.max_age, Some(0));
}

#[test]
fn languages_the_provider_does_not_list_are_dropped() {
    let mut params = parse(&[("ui_locales", "tlh fr-CA EN")]);
    params.keep_locales(Some(&["en".to_owned(), "fr-CA".to_owned()]));
    assert_eq!(params.ui_locales.as_deref(), Some("fr-CA EN"));
    params.keep_locales(Some(&["de".to_owned()]));
    assert_eq!(params.ui_locales, None);
    let mut unlisted = parse(&[("ui_locales", "tlh")]);
    unlisted.keep_locales(None);
    assert_eq!(unlisted.ui_locales.as_deref(), Some("tlh"));
}

#[test]
fn a_login_url_round_trips_through_the_query() {
    let url = LoginUrl::new("/login?next=%2Fa".into())
        .login_hint("ada lovelace@contoso.com")
        .domain_hint("contoso.com")
        .prompt(Prompt::None)
        .ui_locales("fr en")
        .to_string();
    let query = url.split_once('?').unwrap().1;
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let params = SignInParams::from_query(&pairs);
    assert_eq!(
        params.login_hint.as_deref(),
        Some("ada lovelace@contoso.com")
    );
    assert_eq!(params.prompt, Some(Prompt::None));
    assert_eq!(pairs.get("next").map(String::as_str), Some("/a"));
    assert_eq!(String::from(LoginUrl::new("/login".into())), "/login");
}
