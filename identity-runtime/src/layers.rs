//! Keeps the module graph a stack of layers: a module may import only from a lower layer.

/// Each module and its layer, bottom up (the same order as in `lib.rs`).
const LAYERS: &[(&str, u8, &str)] = &[
    ("clock", 0, include_str!("clock.rs")),
    ("error", 0, include_str!("error.rs")),
    ("grants", 0, include_str!("grants.rs")),
    ("lock", 0, include_str!("lock.rs")),
    ("return_path", 0, include_str!("return_path.rs")),
    ("start_limit", 0, include_str!("start_limit.rs")),
    ("credential", 1, include_str!("credential.rs")),
    ("http", 1, include_str!("http.rs")),
    ("jws", 1, include_str!("jws.rs")),
    ("pages", 1, include_str!("pages.rs")),
    ("params", 1, include_str!("params.rs")),
    ("seal", 1, include_str!("seal.rs")),
    ("claims", 1, include_str!("claims.rs")),
    ("verified", 2, include_str!("verified.rs")),
    ("authority", 2, include_str!("authority.rs")),
    ("session", 2, include_str!("session.rs")),
    ("checks", 3, include_str!("checks.rs")),
    ("provider", 3, include_str!("provider.rs")),
    ("client", 4, include_str!("client.rs")),
    ("access_token", 5, include_str!("access_token.rs")),
    ("id_token", 5, include_str!("id_token.rs")),
    ("single_use", 6, include_str!("single_use.rs")),
    ("introspection", 6, include_str!("introspection.rs")),
    ("backchannel", 7, include_str!("backchannel.rs")),
    ("tokens", 7, include_str!("tokens.rs")),
    ("app_tokens", 8, include_str!("app_tokens.rs")),
    ("on_behalf_of", 9, include_str!("on_behalf_of.rs")),
    ("auth", 10, include_str!("auth.rs")),
    ("api", 11, include_str!("api.rs")),
    ("login", 11, include_str!("login.rs")),
    ("logout", 12, include_str!("logout.rs")),
    ("device", 12, include_str!("device.rs")),
    ("config", 13, include_str!("config.rs")),
    ("extract", 13, include_str!("extract.rs")),
    ("layer", 13, include_str!("layer.rs")),
    ("routes", 13, include_str!("routes.rs")),
    ("api_extract", 14, include_str!("api_extract.rs")),
];

/// The crate-root re-exports, and the module each comes from: importing `crate::Error` is an
/// edge to `error` like importing `crate::error::Error`.
fn root_item(name: &str) -> Option<&'static str> {
    Some(match name {
        "Auth" => "auth",
        "ApiAuth" | "ApiAuthBuilder" => "api",
        "ApiClaims"
        | "ApiContext"
        | "ApiRejection"
        | "AuthorizationRequired"
        | "require_authorization" => "api_extract",
        "GroupsOverage" => "grants",
        "ClientToken" => "app_tokens",
        "Clock" => "clock",
        "AuthBuilder" => "config",
        "BoxError" | "ConfigError" | "Error" | "Setting" => "error",
        "Context" | "LoginGuard" | "LoginRejection" | "LoginRequired" | "NoScopes" | "Scopes"
        | "User" | "require_access" | "require_sign_in" => "extract",
        "AuthLayer" => "layer",
        "RedisRefreshLock" | "PostgresRefreshLock" | "LockFuture" | "RefreshLock" => "lock",
        "DefaultPages"
        | "DeviceCodePage"
        | "DeviceCodeStartPage"
        | "ErrorPage"
        | "Pages"
        | "SignOutPage"
        | "SignedOutPage"
        | "escape_html" => "pages",
        "Prompt" => "params",
        "safe_return_path" => "return_path",
        "routes" => "routes",
        _ => return None,
    })
}

/// The code of a module without its `#[cfg(test)]` tail, comments and doc comments.
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module a source names through `crate::`, directly or by a root re-export.
fn imports(source: &str) -> Vec<String> {
    let code = code(source);
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let mut names = vec![];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            names.extend(group[..end].split(',').map(str::trim));
        } else {
            names.push(rest);
        }
        for name in names {
            let ident: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let module = if LAYERS.iter().any(|(m, _, _)| *m == ident) {
                Some(ident.clone())
            } else {
                root_item(&ident).map(str::to_owned)
            };
            if let Some(module) = module {
                found.push(module);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn layer_of(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(m, _, _)| *m == module)
        .map(|(_, layer, _)| *layer)
        .unwrap_or_else(|| panic!("`{module}` is missing from LAYERS"))
}

#[test]
fn every_module_imports_only_from_lower_layers() {
    let mut upward = Vec::new();
    for (module, layer, source) in LAYERS {
        for import in imports(source) {
            if import != *module && layer_of(&import) >= *layer {
                upward.push(format!(
                    "{module} (layer {layer}) imports {import} (layer {})",
                    layer_of(&import)
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not point down:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_module_is_listed() {
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';'))
            && name != "layers"
        {
            layer_of(name);
        }
    }
}

#[test]
fn the_checker_sees_direct_grouped_and_root_imports() {
    let source = "use crate::session::{self, Record};\nuse crate::{Auth, params};\nfn f() { crate::tokens::keep(); }\n// use crate::routes;\n#[cfg(test)]\nmod tests { use crate::config; }";
    assert_eq!(imports(source), vec!["auth", "params", "session", "tokens"]);
}

#[test]
fn no_module_is_over_500_lines_of_code() {
    for (module, _, source) in LAYERS {
        let lines = code(source)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert!(lines <= 500, "{module} has {lines} lines of code");
    }
}
