//! Templates, stylesheet and script, embedded in the binary (no build step, nothing to
//! deploy beside `warden`).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use handlebars::Handlebars;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout", include_str!("../templates/layout.hbs")),
    (
        "deadline_card",
        include_str!("../templates/deadline_card.hbs"),
    ),
    ("overview", include_str!("../templates/overview.hbs")),
    ("detail", include_str!("../templates/detail.hbs")),
    ("job", include_str!("../templates/job.hbs")),
    ("effect", include_str!("../templates/effect.hbs")),
    ("confirm", include_str!("../templates/confirm.hbs")),
    ("whatif", include_str!("../templates/whatif.hbs")),
    ("partitions", include_str!("../templates/partitions.hbs")),
    ("alerts", include_str!("../templates/alerts.hbs")),
    ("audit", include_str!("../templates/audit.hbs")),
    ("workers", include_str!("../templates/workers.hbs")),
    ("impact_list", include_str!("../templates/impact_list.hbs")),
    ("impact", include_str!("../templates/impact.hbs")),
    ("login", include_str!("../templates/login.hbs")),
    ("error", include_str!("../templates/error.hbs")),
];

handlebars::handlebars_helper!(json: |v: Json| serde_json::to_string_pretty(v).unwrap_or_default());

/// Strict mode: a template naming a field its view model lacks is an error, not a blank.
pub fn templates() -> Result<Handlebars<'static>, String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_helper("json", Box::new(json));
    for (name, text) in TEMPLATES {
        hb.register_template_string(name, *text)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    Ok(hb)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (include_str!("../static/app.css"), "text/css; charset=utf-8"),
        "live.js" => (
            include_str!("../static/live.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}
