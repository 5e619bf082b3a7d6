//! What the demo injects, worked out from the workflow and the scenario's text with no I/O:
//! the plan as launched (the declared volumes, the scenario's mode, its waits added as
//! dependencies), and what each job really takes (the estimate at the scenario's larger
//! volume, or the scenario's `actual:` duration held just under the job's timeout).

use chrono::TimeDelta;
use warden_core::plan::{DateSpec, Plan, PlanOptions, VolumeChange};
use warden_core::workflow::{Mode, Workflow};

use crate::cli::whatif::scenario::{self, Actual};
use crate::engine::exec::SimulatedDurations;

/// The demo's plan and what it injects.
pub(super) struct Injected {
    pub workflow: Workflow,
    pub plan: Plan,
    pub volumes: Vec<(String, VolumeChange)>,
    pub simulated: SimulatedDurations,
    /// The scenario's `actual:` durations (after holding them under a timeout), by job.
    pub overrides: Vec<(usize, TimeDelta)>,
    /// Jobs that take their estimate at the injected volume instead of the planned one.
    pub scaled: Vec<usize>,
    pub waits: Vec<String>,
    pub capped: Vec<String>,
    pub title: String,
    pub date: DateSpec,
    pub mode: Mode,
}

/// The injection of the scenario `text` (read from the file `path`, which prefixes every
/// error) into `workflow`.
pub(super) fn inject(workflow: Workflow, path: &str, text: &str) -> Result<Injected, String> {
    let raw = scenario::parse(text).map_err(|e| format!("{path}: {e}"))?;
    if raw.looks.is_empty() {
        return Err(format!("{path}: `looks` is empty: give at least one"));
    }
    let date: DateSpec = raw.date.parse().map_err(|e| format!("{path}: date: {e}"))?;
    let volumes = scenario::volumes(&raw).map_err(|e| format!("{path}: {e}"))?;
    let mode = scenario::look_mode(&raw, 0, workflow.mode).map_err(|e| format!("{path}: {e}"))?;
    // The plan knows the declared volumes: the acquisition's claims arrive without a batch
    // impact test. What the jobs really take is what the larger volume needs.
    let instantiate = |volumes: Vec<(String, VolumeChange)>| {
        workflow
            .instantiate(
                date,
                &PlanOptions {
                    mode: Some(mode),
                    volumes,
                },
            )
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut plan = instantiate(Vec::new())?;
    let grown = instantiate(volumes.clone())?;
    let resolved = scenario::resolve_look(&raw, 0, &plan).map_err(|e| format!("{path}: {e}"))?;
    for &(job, behind) in &resolved.waits {
        if !plan.add_dependency(job, behind) {
            return Err(format!(
                "{path}: waits: `{}` cannot wait behind `{}`: that would close a cycle",
                plan.jobs[job].id, plan.jobs[behind].id
            ));
        }
    }
    let mut simulated: SimulatedDurations = grown
        .jobs
        .iter()
        .zip(&plan.jobs)
        .enumerate()
        .filter(|(_, (g, p))| g.duration != p.duration)
        .map(|(j, (g, _))| (j, g.duration))
        .collect();
    let mut capped = Vec::new();
    let mut overrides = Vec::new();
    for (j, a) in resolved.actual.iter().enumerate() {
        if let Some(Actual::Took(d)) = a {
            let (took, note) = held_under_timeout(&plan, j, *d);
            capped.extend(note);
            simulated.insert(j, took);
            overrides.push((j, took));
        }
    }
    let mut scaled: Vec<usize> = simulated
        .keys()
        .copied()
        .filter(|j| !overrides.iter().any(|(o, _)| o == j))
        .collect();
    scaled.sort_unstable();
    Ok(Injected {
        workflow,
        plan,
        volumes,
        simulated,
        overrides,
        scaled,
        waits: resolved.waits_text,
        capped,
        title: raw.scenario,
        date,
        mode,
    })
}

/// What job `j` takes of the scenario's `took`, and the note if that was cut. A job that
/// overruns its timeout is killed and retried until it fails for good, and the demo would
/// stop there waiting for an operator. It is held just under its timeout instead, and the
/// demo says so.
fn held_under_timeout(plan: &Plan, j: usize, took: TimeDelta) -> (TimeDelta, Option<String>) {
    match plan.jobs[j].timeout {
        Some(limit) if took >= limit => {
            let under = limit * 19 / 20;
            let note = format!(
                "{} is held at {} min: the scenario's {} min would pass its {} min timeout",
                plan.jobs[j].id,
                under.num_minutes(),
                took.num_minutes(),
                limit.num_minutes()
            );
            (under, Some(note))
        }
        _ => (took, None),
    }
}

impl Injected {
    /// How many of the volume-scaled jobs belong to a stream, and how many serve every
    /// stream.
    pub fn scaled_summary(&self) -> String {
        let plan = &self.plan;
        let mut per_stream: Vec<(String, usize)> = Vec::new();
        let mut shared = 0;
        for &j in &self.scaled {
            match plan.jobs[j].stream {
                Some(s) => {
                    let id = &plan.streams[s].id;
                    match per_stream.iter_mut().find(|(x, _)| x == id) {
                        Some((_, n)) => *n += 1,
                        None => per_stream.push((id.clone(), 1)),
                    }
                }
                None => shared += 1,
            }
        }
        let mut parts: Vec<String> = per_stream
            .iter()
            .map(|(id, n)| format!("{n} of stream {id}"))
            .collect();
        if shared > 0 {
            parts.push(format!("{shared} shared by every stream"));
        }
        parts.join(", ")
    }

    /// How much longer than planned the volume-scaled job `j` runs.
    pub fn scaled_extra(&self, j: usize) -> Option<TimeDelta> {
        self.simulated
            .get(&j)
            .map(|took| *took - self.plan.jobs[j].duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "workflows/scenarios/february-2025.yaml";

    fn repo(path: &str) -> String {
        format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
    }

    fn month_end() -> Workflow {
        crate::load::load_workflow(&repo("workflows/month-end.yaml"))
            .expect("month-end loads")
            .compilation
            .workflow
            .expect("month-end is valid")
    }

    fn february() -> Injected {
        let text = std::fs::read_to_string(repo(SCENARIO)).expect("the February scenario");
        inject(month_end(), SCENARIO, &text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A scenario on the month-end cycle with `date` and `rest` (YAML lines).
    fn scenario(date: &str, rest: &str) -> String {
        format!(
            "scenario: test\ndate: {date}\n{rest}\nlooks:\n  - {{ name: one, at: d1 +1d 01:45 }}\n"
        )
    }

    /// Why the scenario `text` is refused.
    fn refused(text: &str) -> String {
        inject(month_end(), "s.yaml", text).err().expect("refused")
    }

    fn job(i: &Injected, id: &str) -> usize {
        i.plan
            .job_index(id)
            .unwrap_or_else(|| panic!("{id} is a job"))
    }

    fn ids(i: &Injected, jobs: &[(usize, TimeDelta)]) -> Vec<(String, i64)> {
        jobs.iter()
            .map(|(j, d)| (i.plan.jobs[*j].id.clone(), d.num_minutes()))
            .collect()
    }

    #[test]
    fn the_overruns_land_on_the_scenarios_jobs_held_under_their_timeouts() {
        let i = february();
        // RX-ADJUD names a template: its one job, of stream E. ADJUD-PHASE1 times out at 4h:
        // the scenario's 250 min is held at 95% of 240.
        assert_eq!(
            ids(&i, &i.overrides),
            [
                ("CLAIM-EXTRACT.A".to_string(), 118),
                ("ADJUD-PHASE1.A".to_string(), 228),
                ("RX-ADJUD.E".to_string(), 390),
            ]
        );
        assert_eq!(
            i.capped,
            [
                "ADJUD-PHASE1.A is held at 228 min: the scenario's 250 min would pass its 240 min timeout"
            ]
        );
        for (j, took) in &i.overrides {
            assert_eq!(i.simulated.get(j), Some(took), "{}", i.plan.jobs[*j].id);
            assert!(
                !i.scaled.contains(j),
                "{} is an override",
                i.plan.jobs[*j].id
            );
        }
        // The plan the watcher projects from keeps the estimate.
        assert_eq!(
            i.plan.jobs[job(&i, "CLAIM-EXTRACT.A")].duration,
            TimeDelta::minutes(95)
        );
    }

    #[test]
    fn a_took_under_the_timeout_is_not_held() {
        let text = scenario("2025-02", "actual: { ADJUD-PHASE1.A: 239m }");
        let i = inject(month_end(), "s.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ids(&i, &i.overrides), [("ADJUD-PHASE1.A".to_string(), 239)]);
        assert!(i.capped.is_empty(), "{:?}", i.capped);
        // No volume: nothing else runs longer than planned.
        assert!(i.scaled.is_empty());
        assert_eq!(i.simulated.len(), 1);
    }

    #[test]
    fn the_volume_scales_only_its_streams_jobs_and_the_plan_keeps_the_declared_one() {
        let i = february();
        assert_eq!(
            i.volumes,
            [("A".to_string(), VolumeChange::Add(12_000_000))]
        );
        // CLAIM-SORT.A: 40 min at 22M, elasticity 1.1, run at 34M.
        let sort = job(&i, "CLAIM-SORT.A");
        assert_eq!(i.plan.jobs[sort].duration, TimeDelta::minutes(40));
        let grown = (2400.0 * (34.0f64 / 22.0).powf(1.1)).round() as i64;
        assert_eq!(i.simulated.get(&sort), Some(&TimeDelta::seconds(grown)));
        assert!(i.scaled.contains(&sort));
        assert_eq!(i.scaled_extra(sort), Some(TimeDelta::seconds(grown - 2400)));
        // Stream B's volume is unchanged: its jobs take their estimates.
        let sort_b = job(&i, "CLAIM-SORT.B");
        assert_eq!(i.simulated.get(&sort_b), None);
        assert!(!i.scaled.contains(&sort_b));
        // Every scaled job runs longer than planned, and is of stream A or shared.
        for &j in &i.scaled {
            assert!(
                i.scaled_extra(j) > Some(TimeDelta::zero()),
                "{}",
                i.plan.jobs[j].id
            );
            assert!(
                i.plan.jobs[j]
                    .stream
                    .is_none_or(|s| i.plan.streams[s].id == "A"),
                "{}",
                i.plan.jobs[j].id
            );
        }
        let of_a = i
            .scaled
            .iter()
            .filter(|j| i.plan.jobs[**j].stream.is_some())
            .count();
        let shared = i.scaled.len() - of_a;
        assert!(of_a > 0 && shared > 0, "{of_a} of A, {shared} shared");
        assert_eq!(
            i.scaled_summary(),
            format!("{of_a} of stream A, {shared} shared by every stream")
        );
    }

    #[test]
    fn the_scenarios_mode_date_title_and_waits_are_the_plans() {
        let i = february();
        assert_eq!(i.mode, Mode::Serial);
        assert_eq!(i.plan.mode, Mode::Serial);
        assert_eq!(
            i.date,
            DateSpec::Month {
                year: 2025,
                month: 2
            }
        );
        assert_eq!(i.title, "February 2025 month-end crisis (case study 002)");
        let phase1 = job(&i, "ADJUD-PHASE1.A");
        for id in ["CLAIM-EXTRACT.B", "CLAIM-EXTRACT.C"] {
            assert!(i.plan.jobs[job(&i, id)].deps.contains(&phase1), "{id}");
        }
        assert!(
            !i.plan.jobs[job(&i, "CLAIM-EXTRACT.D")]
                .deps
                .contains(&phase1)
        );
        assert_eq!(
            i.waits,
            [
                "CLAIM-EXTRACT.B, CLAIM-EXTRACT.C wait behind ADJUD-PHASE1.A (DB2 lock escalation on the audit table blocks the shared provider tables)"
            ]
        );
    }

    #[test]
    fn a_date_the_cycle_does_not_start_on_is_refused() {
        let text = scenario("2025-02-14", "");
        let e = refused(&text);
        assert_eq!(
            e,
            "s.yaml: `month-end` for 2025-02 starts on 2025-02-28, not 2025-02-14; give `--date 2025-02` or `--date 2025-02-28`"
        );
    }

    #[test]
    fn a_scenario_without_looks_is_refused() {
        let text = "scenario: test\ndate: 2025-02\nlooks: []\n";
        let e = refused(text);
        assert_eq!(e, "s.yaml: `looks` is empty: give at least one");
    }

    #[test]
    fn a_wait_that_closes_a_cycle_is_refused() {
        let text = scenario(
            "2025-02",
            "waits:\n  - { jobs: [CLAIM-EXTRACT.A], behind: ADJUD-PHASE1.A }",
        );
        let e = refused(&text);
        assert_eq!(
            e,
            "s.yaml: waits: `CLAIM-EXTRACT.A` cannot wait behind `ADJUD-PHASE1.A`: that would close a cycle"
        );
    }

    #[test]
    fn a_volume_on_a_stream_the_cycle_does_not_have_is_refused() {
        let text = scenario("2025-02", "volumes: { Z: +1M }");
        let e = refused(&text);
        assert!(
            e.starts_with("s.yaml: --volume names stream `Z`, which `month-end` does not have"),
            "{e}"
        );
    }
}
