//! The shipped month-end cycle (757 jobs) as a snapshot without a store, for the render
//! benchmark and the tests that hold the cycle page to its size: the cycle run `hours` into
//! its first night with every job taking `slowdown` times its estimate.

use std::path::Path;
use std::sync::Arc;

use chrono::TimeDelta;
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, Plan, PlanOptions};
use warden_core::sched::simulate_until;
use warden_core::workflow::{FsLoader, compile};
use warden_store::RunRecord;

use crate::snapshot::{RunSnapshot, Stored};

/// The month-end plan for February 2025, compiled from the repository's `workflows/`.
pub fn month_end(repository: &Path) -> Result<Plan, String> {
    let path = repository.join("workflows/month-end.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = SourceMap::new();
    let file = sources.add("workflows/month-end.yaml", text.as_str());
    let compiled = compile(&mut sources, file, &FsLoader::rooted(repository));
    let date: DateSpec = "2025-02"
        .parse()
        .map_err(|e: <DateSpec as std::str::FromStr>::Err| e.to_string())?;
    compiled
        .workflow
        .ok_or("workflows/month-end.yaml does not compile")?
        .instantiate(date, &PlanOptions::default())
        .map_err(|e| e.to_string())
}

/// The plan run `hours` in, every job taking `slowdown` times its estimate.
pub fn snapshot(plan: &Arc<Plan>, hours: i64, slowdown: f64) -> RunSnapshot {
    snapshot_at(plan, TimeDelta::hours(hours), slowdown)
}

/// The plan run `elapsed` in, every job taking `slowdown` times its estimate.
pub fn snapshot_at(plan: &Arc<Plan>, elapsed: TimeDelta, slowdown: f64) -> RunSnapshot {
    let now = plan.start + elapsed;
    let (machine, timeline) = simulate_until(plan, now, |j| {
        TimeDelta::milliseconds((plan.jobs[j].duration.num_milliseconds() as f64 * slowdown) as i64)
    });
    let run = RunRecord {
        id: 1,
        cycle: plan.cycle.clone(),
        business_date: plan.date.clone(),
        workflow_sha256: String::new(),
        mode: plan.mode.as_str().into(),
        options: "{}".into(),
        status: "running".into(),
        created_at: now,
    };
    RunSnapshot::from_state(run, plan.clone(), Stored::default(), machine, timeline, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gantt::GanttFilter;
    use crate::pages::Page;
    use crate::views::detail::{JOBS_PER_PAGE, detail_view};

    fn plan() -> Arc<Plan> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Arc::new(month_end(&root).expect("the shipped month-end cycle"))
    }

    #[test]
    fn the_757_job_cycle_page_shows_at_most_80_rows_with_the_critical_lane_open() {
        let plan = plan();
        assert_eq!(plan.jobs.len(), 757);
        let s = snapshot(&plan, 6, 1.2);
        let view = detail_view(&s, &GanttFilter::default(), JOBS_PER_PAGE);
        assert!(view.gantt.rows <= 80, "{} rows", view.gantt.rows);
        let open: Vec<&str> = view
            .gantt
            .lanes
            .iter()
            .filter(|l| l.open)
            .map(|l| l.key.as_str())
            .collect();
        assert_eq!(open.len(), 1, "one lane open by default: {open:?}");
        // The open lane holds the job to look at first for the tightest deadline.
        let focus = s
            .diagnoses
            .iter()
            .filter(|d| d.first_look.is_some())
            .min_by_key(|d| d.margin)
            .and_then(|d| d.first_look.map(|i| d.steps[i].job))
            .expect("a job to look at");
        let pj = &plan.jobs[focus];
        let key = format!(
            "{}:{}",
            plan.nights[pj.day].day_id,
            pj.stream.map_or("cycle", |st| plan.streams[st].id.as_str())
        );
        assert_eq!(open, [key.as_str()]);
        // Every row asked for: one per job (lane heads apart).
        let all = detail_view(
            &s,
            &GanttFilter {
                expand: Some("all".into()),
                ..GanttFilter::default()
            },
            JOBS_PER_PAGE,
        );
        assert_eq!(all.gantt.rows, 757);
        // The jobs table shows a page, and says how many match.
        assert_eq!(view.jobs.len(), JOBS_PER_PAGE);
        assert_eq!(view.jobs_table.matching, 757);
        let templates = crate::assets::templates().expect("templates");
        let html = templates
            .render("detail", &Page::local("month-end", Some(1), view))
            .expect("renders");
        assert!(html.contains(r#"class="gantt-axis""#));
    }

    /// What a live update of the cycle page sends when a minute, five minutes and an hour
    /// of the night have passed, mid-crisis. The browser test measures the same against a
    /// demo running 4,000 times real time, where one update covers however much of the
    /// night the machine's speed lets pass (on a loaded machine, hours); this one is exact.
    #[test]
    fn a_minute_of_the_night_is_a_small_live_update() {
        let plan = plan();
        let templates = crate::assets::templates().expect("templates");
        let page = |elapsed: TimeDelta| {
            let s = snapshot_at(&plan, elapsed, 2.0);
            let view = detail_view(&s, &GanttFilter::default(), JOBS_PER_PAGE);
            templates
                .render("detail", &Page::local("month-end", Some(1), view))
                .expect("renders")
        };
        let before = page(TimeDelta::hours(8));
        let cache = crate::live_diff::RegionCache::default();
        let have: Vec<String> = crate::live::regions(&before)
            .iter()
            .map(|(name, body)| {
                cache.put(&crate::live::hash(body), body);
                format!("{name}={}", crate::live::hash(body))
            })
            .collect();
        let mut sizes = Vec::new();
        for minutes in [1, 5, 60] {
            let after = page(TimeDelta::hours(8) + TimeDelta::minutes(minutes));
            let update = crate::live::patch(&after, &have.join(","), &cache);
            let bytes = serde_json::to_vec(&update).expect("json").len();
            assert!(update.unchanged > 0, "some regions did not change");
            sizes.push((minutes, bytes, bytes as f64 / before.len() as f64));
        }
        eprintln!("page {} bytes; updates: {sizes:?}", before.len());
        // Mid-crisis every projected number moves each minute (margins, moves' effects, the
        // bars after the running job), so even a minute costs about a tenth of the page.
        assert!(sizes[0].2 < 0.15, "a minute later: {sizes:?}");
        assert!(sizes[1].2 < 0.18, "five minutes later: {sizes:?}");
        assert!(sizes[2].2 < 0.25, "an hour later: {sizes:?}");
    }

    #[test]
    fn a_why_names_the_step_furthest_over_its_estimate() {
        let plan = plan();
        // Every job 1.5× its estimate: the done steps of each chain ran over.
        let s = snapshot(&plan, 8, 1.5);
        let whys = crate::views::why::whys(&s, &[], false);
        let d = s
            .diagnoses
            .iter()
            .find(|d| {
                d.steps
                    .iter()
                    .any(|st| st.state == warden_deadlines::StepState::Done)
            })
            .expect("a chain under way");
        let w = whys
            .iter()
            .find(|w| w.deadline == plan.deadlines[d.deadline].id)
            .expect("its why");
        let worst = d.steps.iter().max_by_key(|st| st.overrun).expect("steps");
        let worst_id = &plan.jobs[worst.job].id;
        if w.first_job.as_deref() != Some(worst_id.as_str()) {
            assert!(
                w.cause.contains(worst_id.as_str()) && w.cause.contains(" min ("),
                "{}",
                w.cause
            );
        }
        assert!(!w.headline.is_empty());
    }

    #[test]
    fn the_jobs_table_searches_and_orders() {
        let plan = plan();
        let s = snapshot(&plan, 6, 1.2);
        let view = detail_view(
            &s,
            &GanttFilter {
                q: Some("fraud-scan".into()),
                sort: Some("job".into()),
                ..GanttFilter::default()
            },
            JOBS_PER_PAGE,
        );
        assert!(view.jobs_table.matching > 0);
        assert!(
            view.jobs
                .iter()
                .all(|r| r.id.to_lowercase().contains("fraud-scan")
                    || r.template.to_lowercase().contains("fraud-scan"))
        );
        let ids: Vec<&str> = view.jobs.iter().map(|r| r.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }
}
