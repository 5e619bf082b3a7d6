//! Printing a store's URL without its secrets.

/// The store URL with any password replaced by `***`: the userinfo's
/// (`postgres://user:PW@host/db`) and a `password=` query parameter's. Every message and log
/// line that names a store prints it through here; a SQLite path comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first `/`, `?` or `#`; a password may hold none of them
    // unescaped, but may hold `@`, so the userinfo ends at the authority's last `@`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_url("postgres://user:s3cr3t@db.example:5432/warden"),
            "postgres://user:***@db.example:5432/warden"
        );
        assert_eq!(
            redact_url("postgresql://u:p@ss@host/db?sslmode=require"),
            "postgresql://u:***@host/db?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://host/db?user=u&password=s3cr3t&sslmode=require"),
            "postgres://host/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact_url("warden.db"), "warden.db");
        assert_eq!(redact_url("sqlite://dir/w.db"), "sqlite://dir/w.db");
    }
}
