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
//! A region the browser holds from an earlier update (its hash names it) and the server
//! still remembers is sent as line edits of it (`live_diff.rs`); the first update after a
//! page loads brings each changed region whole. A request without the header gets the page
//! as it is.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::live_diff::{Op, RegionCache, diff};
use crate::state::AppState;

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

/// A changed region: its new content whole (`html`), or as edits (`ops`) of the version
/// the browser has (`base`, its hash).
#[derive(Debug, Serialize, PartialEq)]
pub struct Region {
    pub name: String,
    pub hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<Op>>,
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
/// the header: `name=hash,…`): as edits of the client's version where `cache` still has it,
/// else whole. Every region of `html` goes into `cache`.
pub fn patch(html: &str, have: &str, cache: &RegionCache) -> Patch {
    let known: Vec<(&str, &str)> = have
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .collect();
    let mut unchanged = 0;
    let mut changed = Vec::new();
    for (name, body) in regions(html) {
        let h = hash(body);
        cache.put(&h, body);
        let theirs = known.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
        if theirs == Some(h.as_str()) {
            unchanged += 1;
            continue;
        }
        let base = theirs.and_then(|k| Some((k, cache.get(k)?)));
        changed.push(match base {
            Some((k, old)) => Region {
                name: name.to_string(),
                hash: h,
                html: None,
                base: Some(k.to_string()),
                ops: Some(diff(&old, body)),
            },
            None => Region {
                name: name.to_string(),
                hash: h,
                html: Some(body.to_string()),
                base: None,
                ops: None,
            },
        });
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

/// The layer: a page request carrying [`REGIONS_HEADER`] is answered with a [`Patch`].
pub async fn regions_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let have = request
        .headers()
        .get(REGIONS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = next.run(request).await;
    let Some(have) = have else {
        return response;
    };
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
    let json = serde_json::to_vec(&patch(&html, &have, &state.regions)).unwrap_or_default();
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

    fn text(r: &Region) -> &str {
        r.html.as_deref().unwrap_or_default()
    }

    #[test]
    fn only_changed_regions_are_sent() {
        let cache = RegionCache::default();
        let all = patch(PAGE, "", &cache);
        assert_eq!(all.title, "BREACH · Warden");
        assert_eq!(
            all.regions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(text(&all.regions[0]), "<p>one</p>");
        let have = format!("a={},b=0000", hash("<p>one</p>"));
        let some = patch(PAGE, &have, &cache);
        assert_eq!(some.unchanged, 1);
        assert_eq!(some.regions.len(), 1);
        assert_eq!(some.regions[0].name, "b");
        // Nothing outside a region (the form) is ever sent.
        assert!(some.regions.iter().all(|r| !text(r).contains("<form")));
    }

    #[test]
    fn a_region_the_browser_has_is_sent_as_edits_of_it() {
        let cache = RegionCache::default();
        let v1 = "<html><head><title>t</title></head><body><div data-region=\"g\"><!--region:g-->\n<g>a</g>\n<g>b</g>\n<line now=1/>\n<!--/region:g--></div></body></html>";
        let v2 = v1.replace("now=1", "now=2");
        let first = patch(v1, "", &cache);
        let base = first.regions[0].hash.clone();
        let next = patch(&v2, &format!("g={base}"), &cache);
        let r = &next.regions[0];
        assert_eq!(r.html, None, "sent as edits");
        assert_eq!(r.base.as_deref(), Some(base.as_str()));
        let old = regions(v1)[0].1;
        let new = crate::live_diff::apply(old, r.ops.as_deref().expect("ops")).expect("applies");
        assert_eq!(new, regions(&v2)[0].1);
        // A version the server no longer has is sent whole.
        let unknown = patch(&v2, "g=ffff", &cache);
        assert!(unknown.regions[0].html.is_some());
    }

    #[test]
    fn an_unclosed_region_ends_the_scan_without_panicking() {
        assert!(regions("<!--region:a-->never closed").is_empty());
        assert_eq!(regions("x<!--region:a-->1<!--/region:a-->y").len(), 1);
    }
}
