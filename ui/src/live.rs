//! Live updates that patch a page instead of replacing it.
//!
//! A page marks the parts that change with the run as regions:
//! `<div data-region="cards"><!--region:cards-->…<!--/region:cards--></div>`. When the
//! store changes, `static/live.js` asks for the page again with the header
//! `X-Warden-Regions: cards=HASH,gantt=HASH,…` (the regions it has, each with a hash of its
//! content). This layer renders the page as usual and answers with only the regions whose
//! content changed, as JSON, with the page's title: the browser swaps those in and leaves
//! everything else (scroll positions, open forms, typed text) alone.
//!
//! A request without the header gets the page as it is, with the hashes of its regions in
//! a `<script type="application/json" id="region-hashes">` before `</body>`, so the first
//! update already sends only what changed.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The request header carrying the regions the page has.
pub const REGIONS_HEADER: &str = "x-warden-regions";

/// Pages are rendered whole before regions are cut out; none comes near this.
const MAX_PAGE: usize = 16 * 1024 * 1024;

/// What a live update carries.
#[derive(Debug, Serialize, PartialEq)]
pub struct Patch {
    pub title: String,
    /// Region name → its new content (only those that changed).
    pub regions: Vec<Region>,
    /// Regions the page has, unchanged (so the client knows they were looked at).
    pub unchanged: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Region {
    pub name: String,
    pub hash: String,
    pub html: String,
}

/// FNV-1a, 64 bits, as hex: a region's content changed or not (not a security check).
pub fn hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Every region of a page, in order: (name, content).
pub fn regions(html: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<!--region:") {
        let after = &rest[at + "<!--region:".len()..];
        let Some(name_end) = after.find("-->") else {
            break;
        };
        let name = &after[..name_end];
        let body = &after[name_end + 3..];
        let close = format!("<!--/region:{name}-->");
        let Some(end) = body.find(&close) else {
            break;
        };
        out.push((name, &body[..end]));
        rest = &body[end + close.len()..];
    }
    out
}

/// The regions of `html` whose hash differs from what the client has (`have`, as sent in
/// the header: `name=hash,…`).
pub fn patch(html: &str, have: &str) -> Patch {
    let known: Vec<(&str, &str)> = have
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .collect();
    let mut unchanged = 0;
    let mut changed = Vec::new();
    for (name, body) in regions(html) {
        let h = hash(body);
        if known.iter().any(|(n, k)| *n == name && *k == h) {
            unchanged += 1;
        } else {
            changed.push(Region {
                name: name.to_string(),
                hash: h,
                html: body.to_string(),
            });
        }
    }
    let title = html
        .split_once("<title>")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map_or(String::new(), |(t, _)| t.to_string());
    Patch {
        title,
        regions: changed,
        unchanged,
    }
}

/// The page with its regions' hashes embedded before `</body>` (unchanged without regions).
pub fn with_hashes(html: &str) -> String {
    let found = regions(html);
    let Some(at) = html.rfind("</body>").filter(|_| !found.is_empty()) else {
        return html.to_string();
    };
    let map: serde_json::Map<String, serde_json::Value> = found
        .iter()
        .map(|(n, b)| ((*n).to_string(), serde_json::Value::String(hash(b))))
        .collect();
    format!(
        "{}<script type=\"application/json\" id=\"region-hashes\">{}</script>{}",
        &html[..at],
        serde_json::Value::Object(map),
        &html[at..]
    )
}

/// The layer: a page request carrying [`REGIONS_HEADER`] is answered with a [`Patch`].
pub async fn regions_only(request: Request, next: Next) -> Response {
    let have = request
        .headers()
        .get(REGIONS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if response.status() != StatusCode::OK || !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_PAGE).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("live update: {e}"),
            )
                .into_response();
        }
    };
    let html = String::from_utf8_lossy(&bytes);
    parts.headers.remove(header::CONTENT_LENGTH);
    let Some(have) = have else {
        return Response::from_parts(parts, Body::from(with_hashes(&html)));
    };
    let json = serde_json::to_vec(&patch(&html, &have)).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<html><head><title>BREACH · Warden</title></head><body>\
        <div data-region=\"a\"><!--region:a--><p>one</p><!--/region:a--></div>\
        <form><input name=\"note\"></form>\
        <div data-region=\"b\"><!--region:b--><p>two</p><!--/region:b--></div></body></html>";

    #[test]
    fn only_changed_regions_are_sent() {
        let all = patch(PAGE, "");
        assert_eq!(all.title, "BREACH · Warden");
        assert_eq!(
            all.regions.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(all.regions[0].html, "<p>one</p>");
        let have = format!("a={},b=0000", hash("<p>one</p>"));
        let some = patch(PAGE, &have);
        assert_eq!(some.unchanged, 1);
        assert_eq!(some.regions.len(), 1);
        assert_eq!(some.regions[0].name, "b");
        // Nothing outside a region (the form) is ever sent.
        assert!(some.regions.iter().all(|r| !r.html.contains("<form")));
    }

    #[test]
    fn a_full_page_carries_its_regions_hashes() {
        let page = with_hashes(PAGE);
        let json = page
            .split_once(r#"id="region-hashes">"#)
            .and_then(|(_, r)| r.split_once("</script>"))
            .map(|(j, _)| j)
            .expect("hashes embedded");
        let v: serde_json::Value = serde_json::from_str(json).expect("json");
        assert_eq!(v["a"], hash("<p>one</p>"));
        assert!(page.ends_with("</body></html>"));
        assert_eq!(with_hashes("<html><body>no regions</body></html>"), "<html><body>no regions</body></html>");
    }

    #[test]
    fn an_unclosed_region_ends_the_scan_without_panicking() {
        assert!(regions("<!--region:a-->never closed").is_empty());
        assert_eq!(regions("x<!--region:a-->1<!--/region:a-->y").len(), 1);
    }
}
