//! `warden bench dag FILE.json`: Warden's own scheduling overhead on a real DAG, against the
//! floor (forking the same processes with the same parallelism and no bookkeeping).
//!
//! The input is `nodes[]` (`id`, `day`, `cmd`) and `edges[]` as `[from, to]` pairs, the shape
//! of `shared/bench/claims_cycle.json` (757 jobs shaped like the month-end cycle).

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Dag {
    pub nodes: Vec<Node>,
    pub edges: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct Node {
    pub id: String,
    pub day: u32,
    pub cmd: Vec<String>,
}

impl Dag {
    pub fn parse(text: &str) -> Result<Dag, String> {
        serde_json::from_str(text).map_err(|e| format!("not a DAG file (nodes[], edges[]): {e}"))
    }

    /// The DAG as a workflow: one day per `day`, each starting when ready, every node a
    /// shell job, every edge an `after`.
    pub fn to_workflow(&self) -> String {
        let mut after: HashMap<&str, Vec<&str>> = HashMap::new();
        for (from, to) in &self.edges {
            after.entry(to.as_str()).or_default().push(from.as_str());
        }
        let mut days: Vec<u32> = self.nodes.iter().map(|n| n.day).collect();
        days.sort_unstable();
        days.dedup();
        let mut y = String::from(
            "cycle: bench-dag\ntimezone: UTC\nschedule: { cron: \"0 0 * * *\", business_days_only: false }\ndays:\n",
        );
        for d in &days {
            y.push_str(&format!(
                "  - {{ id: d{d}, window: {{ opens: \"00:00\", closes: \"23:59\" }}, start: when_ready }}\n"
            ));
        }
        y.push_str("jobs:\n");
        for n in &self.nodes {
            let deps = after
                .get(n.id.as_str())
                .map(|v| v.join(", "))
                .unwrap_or_default();
            y.push_str(&format!(
                "  - {{ id: {}, day: d{}, run: {:?}, estimate: 1s, after: [{}] }}\n",
                n.id,
                n.day,
                n.cmd.join(" "),
                deps
            ));
        }
        y
    }

    /// The floor: runs every node's command with at most `parallelism` at once, in
    /// dependency order, with no bookkeeping at all.
    pub fn run_baseline(&self, parallelism: usize) -> std::io::Result<Duration> {
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut waiting = vec![0usize; self.nodes.len()];
        let mut successors = vec![Vec::new(); self.nodes.len()];
        for (from, to) in &self.edges {
            if let (Some(&f), Some(&t)) = (index.get(from.as_str()), index.get(to.as_str())) {
                successors[f].push(t);
                waiting[t] += 1;
            }
        }
        let started = Instant::now();
        let mut ready: VecDeque<usize> =
            (0..self.nodes.len()).filter(|i| waiting[*i] == 0).collect();
        let mut running: Vec<(usize, std::process::Child)> = Vec::new();
        let mut done = 0;
        while done < self.nodes.len() {
            while running.len() < parallelism.max(1) {
                let Some(i) = ready.pop_front() else { break };
                let cmd = &self.nodes[i].cmd;
                let child = std::process::Command::new(&cmd[0])
                    .args(&cmd[1..])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                running.push((i, child));
            }
            // Reap one finished child (polling without sleeping keeps the floor honest).
            let mut k = 0;
            while k < running.len() {
                if running[k].1.try_wait()?.is_some() {
                    let (i, _) = running.swap_remove(k);
                    done += 1;
                    for &s in &successors[i] {
                        waiting[s] -= 1;
                        if waiting[s] == 0 {
                            ready.push_back(s);
                        }
                    }
                } else {
                    k += 1;
                }
            }
        }
        Ok(started.elapsed())
    }
}

/// A process's peak resident memory (VmHWM from `/proc`), in KiB; `None` once it is gone.
pub fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Asks each `warden worker` to stop (SIGTERM: it finishes its attempt) and waits for it.
pub fn stop_workers(workers: Vec<std::process::Child>) {
    for w in &workers {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(w.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    for mut w in workers {
        let _ = w.wait();
    }
}
