//! The OpenAPI 3.1 document served at `/api/openapi.json`, written out here rather than
//! derived by macros: the API is small, and the tests hold it to the router (every API route
//! documented, every documented route answered).

use serde_json::{Value, json};

/// (method, path, summary, role needed) for every API route.
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/api/runs",
        "Every cycle run with its deadlines (margin, state, P(miss), margin history)",
        "viewer",
    ),
    (
        "get",
        "/api/runs/{run}",
        "A run's detail: deadlines, critical path, every job's bar and slack, the Gantt SVG",
        "viewer",
    ),
    (
        "get",
        "/api/runs/{run}/jobs/{job}",
        "A job: attempts, log tail, duration history, checkpoint, slack, the actions that fit now",
        "viewer",
    ),
    (
        "post",
        "/api/runs/{run}/jobs/{job}/actions/{action}",
        "Queue an operator action (hold, release, rerun, skip, kill, force-complete); skip and force-complete need a reason",
        "operator",
    ),
    (
        "get",
        "/api/runs/{run}/partitions",
        "Adjudication partitions: progress, claims per second, exception rate, deferred, imbalance",
        "viewer",
    ),
    (
        "get",
        "/api/runs/{run}/alerts",
        "Alerts with deliveries and acknowledgements; the escalation ladders' decisions",
        "viewer",
    ),
    (
        "post",
        "/api/runs/{run}/alerts/ack-all",
        "Acknowledge every unacknowledged alert of the run, or of one incident (`deadline` and `level` in the body), with one note",
        "operator or compliance",
    ),
    (
        "post",
        "/api/runs/{run}/alerts/{alert}/ack",
        "Acknowledge an alert",
        "operator or compliance",
    ),
    (
        "get",
        "/api/audit",
        "The audit trail, newest first (operator actions, acknowledgements, sign-ins; the ladder's decisions with `ladder=1`), filterable",
        "viewer",
    ),
    (
        "get",
        "/api/workers",
        "Every `warden worker` process of the store: host, pid, version, state (idle, running, stopping, stopped, or silent when unheard of for 20 s), the attempt it runs, seconds since its last heartbeat",
        "viewer",
    ),
    (
        "get",
        "/api/impact",
        "Every stored batch impact test of the cycles the server knows, newest first: verdict, tested volumes, approval state",
        "viewer",
    ),
    (
        "get",
        "/api/impact/{test}",
        "One batch impact test: its stored report (as `warden impact show --format json`) and its approval",
        "viewer",
    ),
    (
        "post",
        "/api/impact/{test}/approve",
        "Approve a batch impact test that came back `review` (a named architect; a note is required); 409 for a pass, a fail or one approved already",
        "architect",
    ),
    (
        "get",
        "/api/events",
        "Server-sent events: `update` whenever any run changes; 503 (with Retry-After) past the server's cap on live-update clients (--max-sse-clients)",
        "viewer",
    ),
    (
        "post",
        "/api/route",
        "Route one claim (a JSON object of its fields, `claim_id` required) by the serving rule set: rule, stream, platform and the set's SHA-256, answered once the decision is in the audit; 422 when a rule cannot be evaluated for it (also audited); 503 when the decision could not be recorded (nothing is given out); 404 on a server started without --routing",
        "viewer",
    ),
    (
        "get",
        "/api/routing",
        "The serving routing rule set (rules, SHA-256, tests passed), reload counts and the last refusal",
        "viewer",
    ),
    (
        "get",
        "/api/routing/decisions",
        "The routing audit of one claim (`?claim_id=N`), oldest first: every decision online and in batch, with its time, channel, who or what asked, the rule set's SHA-256, the rule, and the route or why there was none",
        "viewer",
    ),
    (
        "post",
        "/api/routing/reload",
        "Reload the routing rule set from its file now (a named architect); 422 with the located reason when it is refused, the old set serving on",
        "architect",
    ),
    ("get", "/api/openapi.json", "This document", "none"),
];

fn parameters(path: &str) -> Vec<Value> {
    let mut out: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let (kind, what) = match name {
                "run" => ("integer", "the run id (GET /api/runs)"),
                "alert" => ("integer", "the alert id (GET /api/runs/{run}/alerts)"),
                "job" => ("string", "the concrete job id, e.g. ADJUD-PHASE1.A"),
                "test" => ("integer", "the impact test id (GET /api/impact)"),
                _ => ("string", "hold | release | rerun | skip | kill | force-complete"),
            };
            json!({ "name": name, "in": "path", "required": true, "description": what, "schema": { "type": kind } })
        })
        .collect();
    if path == "/api/audit" {
        for q in ["run", "job", "actor", "action"] {
            out.push(json!({ "name": q, "in": "query", "required": false, "schema": { "type": "string" } }));
        }
    }
    if path == "/api/routing/decisions" {
        out.push(json!({ "name": "claim_id", "in": "query", "required": true, "description": "the claim's id", "schema": { "type": "integer" } }));
    }
    if path == "/api/runs/{run}" {
        for q in ["day", "stream"] {
            out.push(json!({ "name": q, "in": "query", "required": false, "schema": { "type": "string" } }));
        }
    }
    out
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, role) in ROUTES {
        let mut op = json!({
            "summary": summary,
            "description": format!("Role: {role}."),
            "parameters": parameters(path),
            "responses": {
                "200": { "description": "OK", "content": { "application/json": {} } },
                "400": { "$ref": "#/components/responses/Error" },
                "401": { "$ref": "#/components/responses/Error" },
                "403": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" }
            }
        });
        if *method == "post" {
            let body = if path.ends_with("/approve") {
                json!({ "type": "object", "required": ["note"], "properties": { "note": { "type": "string", "description": "what the review found, and why the volume may go live" } } })
            } else if path.ends_with("/ack") {
                json!({ "type": "object", "properties": { "note": { "type": "string" } } })
            } else {
                json!({ "type": "object", "properties": { "reason": { "type": "string" } } })
            };
            op["requestBody"] = json!({
                "required": path.ends_with("/approve"),
                "content": { "application/json": { "schema": body } }
            });
            op["responses"]["409"] = json!({ "$ref": "#/components/responses/Error" });
            if path.contains("/actions/") {
                op["responses"]["202"] =
                    json!({ "description": "Queued for the run's orchestrator" });
            }
        }
        if path.starts_with("/api/impact/") && *method == "get" {
            op["responses"]["503"] = json!({ "$ref": "#/components/responses/Error" });
        }
        if *path == "/api/events" {
            op["responses"]["200"] =
                json!({ "description": "An event stream", "content": { "text/event-stream": {} } });
            op["responses"]["503"] = json!({ "$ref": "#/components/responses/Error" });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Warden",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Batch-cycle control for claims processing: runs, deadlines, jobs, partitions, alerts, audit, batch impact tests. Authenticate with `Authorization: Bearer TOKEN` (or the browser session)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": {
                "Error": {
                    "description": "What is wrong",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["status", "error"],
                        "properties": { "status": { "type": "integer" }, "error": { "type": "string" } }
                    } } }
                }
            }
        },
        "security": [{ "bearer": [] }]
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_api_route_of_the_router_is_documented() {
        let source = include_str!("lib.rs");
        // Every `.route("PATH", ...)` call, however rustfmt wraps it.
        let routed: Vec<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"'))
            .filter_map(|rest| rest.split('"').next())
            .filter(|p| p.starts_with("/api"))
            .collect();
        assert_eq!(routed.len(), super::ROUTES.len(), "{routed:?}");
        for path in routed {
            assert!(
                super::ROUTES.iter().any(|(_, p, _, _)| *p == path),
                "{path} is routed but not in the OpenAPI document"
            );
        }
    }
}
