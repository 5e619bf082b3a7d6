//! The UI's cookies: read from a request, and written as `Set-Cookie` headers. Every cookie
//! is `HttpOnly` (no script reads it) and `SameSite=Strict` (no other site's page sends it);
//! with `--secure-cookies` also `Secure`, so a browser sends it over https only (for a
//! server behind a TLS-terminating proxy: Warden itself speaks plain http).

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in the request, if it sent one.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let text = format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    // Names, paths and values are Warden's own (hex secrets): always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Appends a `Set-Cookie` to a response's headers (a response may set several).
pub fn append(headers: &mut HeaderMap, cookie: HeaderValue) {
    headers.append(header::SET_COOKIE, cookie);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_written_with_their_flags() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; warden_session=abc; b=2"),
        );
        assert_eq!(read(&headers, "warden_session").as_deref(), Some("abc"));
        assert_eq!(read(&headers, "warden"), None);
        assert_eq!(
            set("s", "v", "/", 60, false),
            "s=v; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert_eq!(
            set("s", "v", "/login", 0, true),
            "s=v; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0; Secure"
        );
    }
}
