//! `warden bench route`: claims routing measured side by side in one run (issue #15).
//!
//! 1. **Batch**: generated claims routed by `RuleSet::route` on one thread, `--repeat` times;
//!    the median's claims per second (target: at least 500,000). Then the batch's decisions
//!    recorded in the routing audit, timed apart.
//! 2. **Online**: a real `warden serve --routing` (this binary, its own process, a store of
//!    its own, bearer tokens) and an open-loop load generator on loopback: `--rate` requests
//!    a second for `--seconds`, each sent at its scheduled instant whatever the earlier ones
//!    are doing, its latency counted from that instant to the last byte of the answer (so a
//!    stall is never hidden by the generator waiting for it). Target: p99 under 1 ms.
//! 3. **Reloads under that load**: `--reloads` times during it, the rule set's file is
//!    replaced by the other of two versions (the same rules, other bytes) and an architect's
//!    `POST /api/routing/reload` swaps it in. Every answer must give the batch's route for
//!    its claim and name one of the two sets: none may fail or be misrouted.
//! 4. **Audit**: the online decisions the store recorded must equal the answers given.
//!
//! Exit 1 when a request failed or was misrouted, a reload was refused, or the audit does
//! not reconcile; the speed targets are reported, met or not.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use warden_workers::generate::{Config, generate};
use warden_workers::io::claims_csv;
use warden_workers::pipeline::NoProgress;
use warden_workers::routing::{self, RuleSet, claim_fields};

use super::open_run::store_error;
use super::route::{RULES, load_rules, record_batch};
use super::serve::RoutingAudit;
use super::{CliError, CliResult, load_plans, reported_if};

#[derive(Debug, Args)]
pub struct RouteBenchArgs {
    /// The rule set (its tests file beside it).
    #[arg(long, default_value = RULES)]
    pub rules: PathBuf,
    /// Claims generated for the batch (the online requests cycle through them), 1 to
    /// 200,000,000.
    #[arg(long, default_value_t = 200_000, value_parser = super::limits::amount(1, super::limits::MAX_CLAIMS))]
    pub claims: u64,
    /// Members the claims are spread over, 1 to 50,000,000.
    #[arg(long, default_value_t = 40_000, value_parser = super::limits::amount(1, super::limits::MAX_MEMBERS))]
    pub members: u64,
    /// Seed of the generated claims.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Batch routings; the median is reported. 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = super::limits::count(super::limits::MAX_REPEAT))]
    pub repeat: usize,
    /// Online requests a second, 1 to 20,000.
    #[arg(long, default_value_t = 1_000, value_parser = super::limits::amount(1, 20_000))]
    pub rate: u64,
    /// Seconds of online load, 1 to 3,600 (after one second of warm-up, not counted).
    #[arg(long, default_value_t = 60, value_parser = super::limits::amount(1, 3_600))]
    pub seconds: u64,
    /// Rule-set reloads during the load, spread evenly, 0 to 10,000.
    #[arg(long, default_value_t = 100, value_parser = super::limits::amount(0, 10_000))]
    pub reloads: u64,
    /// Where the bench's store, rule-set copies, auth file and server log go (made anew).
    #[arg(long, default_value = "target/bench-route")]
    pub dir: PathBuf,
    /// The store the audit goes to: a postgres:// URL, or a SQLite file (default: a new
    /// `bench.db` in `--dir`).
    #[arg(long)]
    pub db: Option<String>,
    /// The server's audit modes measured, one after the other (`--routing-audit` of
    /// `warden serve`).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [RoutingAudit::BeforeAnswer, RoutingAudit::Journal, RoutingAudit::AfterAnswer])]
    pub audit: Vec<RoutingAudit>,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is there,
    /// else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
}

/// What every request may be answered: the batch's rule, stream and platform for a claim.
type Expected = HashMap<u64, (String, String, String)>;

/// What one online request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// `micros` from the request's due instant to its whole answer; `late`, of those, before
    /// it was handed to the client (the generator's own lag).
    Routed {
        micros: u64,
        late: u64,
        sha256: String,
    },
    Failed(String),
    Misrouted(String),
}

pub(super) fn run(args: &RouteBenchArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let set = load_rules(&args.rules)?;
    let plans = load_plans(args.plans.as_deref(), err)?;
    let _ = std::fs::remove_dir_all(&args.dir);
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return Err(CliError::unavailable(format!(
            "{}: {e}",
            args.dir.display()
        )));
    }
    let cfg = Config {
        members: args.members,
        claims: args.claims,
        seed: args.seed,
        ..Config::default()
    };
    let (mut members, mut generated) = (Vec::new(), Vec::new());
    if let Err(e) = generate(&cfg, &plans, &mut members, &mut generated, &NoProgress) {
        return Err(CliError::invalid(format!(
            "cannot generate the claims: {e}"
        )));
    }
    let text = String::from_utf8_lossy(&generated).into_owned();
    drop((members, generated));
    let claims = claims_csv::well_formed(&text, &plans);
    let ids: Vec<String> = plans.ids().map(str::to_string).collect();

    // 1. Batch, on this thread.
    let mut seconds = Vec::with_capacity(args.repeat);
    let mut tally = routing::Tally::default();
    for _ in 0..args.repeat {
        let started = Instant::now();
        tally = routing::route_all(&set, &claims, &ids, "", |_, _| {});
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let per_second = claims.len() as f64 / median;
    writeln!(
        out,
        "batch routing: {} claims by {} rules on one core: median {:.3} s of {} = {:.0} claims/s (target at least 500,000: {})",
        claims.len(),
        set.rules.len(),
        median,
        args.repeat,
        per_second,
        met(per_second >= 500_000.0)
    )?;
    let routed = routing::route_csv(&set, &text, &plans, "");
    let db_url = args
        .db
        .clone()
        .unwrap_or_else(|| args.dir.join("bench.db").display().to_string());
    let started = Instant::now();
    let recorded = match record_batch(&db_url, "bench route", &set, &routed) {
        Ok(n) => n,
        Err(e) => {
            return Err(CliError::unavailable(e));
        }
    };
    writeln!(
        out,
        "batch audit: {recorded} decisions recorded in {:.2} s (one transaction)",
        started.elapsed().as_secs_f64()
    )?;
    if !tally.reconciles() || recorded != tally.claims {
        return Err(CliError::invalid(format!(
            "the batch does not reconcile: {} claims, {} routed, {} errors, {recorded} recorded",
            tally.claims, tally.routed, tally.errors
        )));
    }
    let mut expected = Expected::new();
    let mut bodies = Vec::with_capacity(claims.len());
    for (id, outcome) in &routed.decisions {
        if let Ok(d) = outcome {
            expected.insert(
                *id,
                (
                    d.rule.to_string(),
                    d.route.stream.letter().to_string(),
                    d.route.platform.to_string(),
                ),
            );
        }
    }
    for claim in &claims {
        if expected.contains_key(&claim.id) {
            let facts = routing::Facts {
                claim,
                plan: ids.get(usize::from(claim.plan)).map_or("", String::as_str),
                partner: "",
            };
            bodies.push((claim.id, claim_fields::to_json(&facts).to_string()));
        }
    }
    drop(routed);

    // 2–4. Online, with reloads, then the audit: once per audit mode asked for.
    let bodies = Arc::new(bodies);
    let expected = Arc::new(expected);
    let mut correct = true;
    for mode in &args.audit {
        let online = Online::prepare(&args.dir, &set)?;
        let runtime = super::runtime::current_thread()?;
        let mut server = match online.start(&db_url, *mode) {
            Ok(s) => s,
            Err(e) => {
                return Err(CliError::unavailable(format!("the server: {e}")));
            }
        };
        let result = runtime.block_on(online.load(
            &db_url,
            &server.url,
            Arc::clone(&bodies),
            Arc::clone(&expected),
            args,
        ));
        // A graceful stop (SIGINT): an `after-answer` server writes what it queued first.
        let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let stopped = server.child.wait();
        let mut report = match result {
            Ok(r) => r,
            Err(e) => {
                return Err(CliError::unavailable(e));
            }
        };
        if !stopped.is_ok_and(|s| s.success()) {
            return Err(CliError::unavailable(format!(
                "the server did not stop cleanly; its log is {}",
                online.log.display()
            )));
        }
        report.audit_decisions = match runtime.block_on(async {
            let store =
                warden_store::Store::open(&db_url, warden_store::OpenMode::MustExist).await?;
            store.count_routing_decisions(report.mark).await
        }) {
            Ok(c) => c.decisions,
            Err(e) => {
                return Err(CliError::unavailable(store_error(&db_url, &e)));
            }
        };
        report.mode = mode.as_str();
        report.write(out, args)?;
        correct &= report.correct();
    }
    reported_if(!correct)
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "MISSED" }
}

/// The two versions of the rule set swapped under load, the tokens, the server's files.
struct Online {
    rules: PathBuf,
    versions: [(String, String); 2],
    router_token: String,
    architect_token: String,
    auth: PathBuf,
    log: PathBuf,
}

struct Server {
    child: Child,
    url: String,
}

impl Online {
    fn prepare(dir: &Path, set: &RuleSet) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(&set.file)?;
        let other = format!("# bench route: the same rules, other bytes\n{text}");
        let rules = dir.join("claims.yaml");
        std::fs::write(&rules, &text)?;
        std::fs::copy(routing::tests_path(&set.file), routing::tests_path(&rules))?;
        let router_token = warden_ui::auth::secret();
        let architect_token = warden_ui::auth::secret();
        let auth = dir.join("auth.yaml");
        std::fs::write(
            &auth,
            format!(
                "users:\n  - {{ name: bench-router, role: viewer, token_sha256: {} }}\n  - {{ name: bench-architect, role: architect, token_sha256: {} }}\n",
                warden_ui::auth::digest(&router_token),
                warden_ui::auth::digest(&architect_token)
            ),
        )?;
        Ok(Self {
            rules,
            versions: [
                (routing::hex_sha256(text.as_bytes()), text),
                (routing::hex_sha256(other.as_bytes()), other),
            ],
            router_token,
            architect_token,
            auth,
            log: dir.join("serve.log"),
        })
    }

    /// Starts `warden serve` on a free loopback port; its log goes to `serve.log`.
    fn start(&self, db: &str, mode: RoutingAudit) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(&self.log).map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--routing")
            .arg(&self.rules)
            .arg("--auth")
            .arg(&self.auth)
            .arg("--routing-audit")
            .arg(mode.as_str())
            .arg("--routing-journal")
            .arg(
                self.log
                    .with_file_name(format!("{}.journal", mode.as_str())),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start `warden serve`: {e}"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|u| u.trim_end_matches('/').to_string());
        match url {
            Some(url) => Ok(Server { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "it printed no URL; its log is {}",
                    self.log.display()
                ))
            }
        }
    }

    async fn load(
        &self,
        db: &str,
        url: &str,
        bodies: Arc<Vec<(u64, String)>>,
        expected: Arc<Expected>,
        args: &RouteBenchArgs,
    ) -> Result<Report, String> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| e.to_string())?;
        let shas = Arc::new([self.versions[0].0.clone(), self.versions[1].0.clone()]);
        let store = warden_store::Store::open(db, warden_store::OpenMode::MustExist)
            .await
            .map_err(|e| store_error(db, &e))?;
        let period = Duration::from_secs_f64(1.0 / args.rate as f64);
        // Warm-up: connections opened, caches filled; not counted.
        let warm = fire(
            &client,
            url,
            &self.router_token,
            &bodies,
            &expected,
            &shas,
            period,
            args.rate,
            0,
        )
        .await;
        // The warm-up's decisions are all in the store before the mark (an `after-answer`
        // server writes them just after answering; a `journal` one loads them behind).
        for _ in 0..500 {
            let status = self.status(&client, url).await?;
            let in_store = if status["audit"]["mode"] == "journal" {
                "loaded"
            } else {
                "written"
            };
            if status["audit"][in_store].as_u64() >= Some(warm.len() as u64) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A PostgreSQL store may hold earlier runs' decisions: count from here.
        let mark = store
            .count_routing_decisions(0)
            .await
            .map_err(|e| store_error(db, &e))?;
        let total = args.rate * args.seconds;
        let reloads = self.reload_under_load(&client, url, args);
        let started = Instant::now();
        let (answers, reloaded) = tokio::join!(
            fire(
                &client,
                url,
                &self.router_token,
                &bodies,
                &expected,
                &shas,
                period,
                total,
                args.rate,
            ),
            reloads
        );
        let wall = started.elapsed().as_secs_f64();
        let status = self.status(&client, url).await?;
        Ok(Report {
            warm_up_failed: warm
                .iter()
                .filter(|a| !matches!(a, Answer::Routed { .. }))
                .count(),
            answers,
            wall,
            reloaded,
            // Counted once the server has stopped (`after-answer` writes after answering).
            audit_decisions: 0,
            mark: mark.last_id,
            mode: "",
            server_swaps: status["reloads"]["swapped"].as_u64().unwrap_or(0),
            shas: [self.versions[0].0.clone(), self.versions[1].0.clone()],
            store: warden_store::redact_url(db),
        })
    }

    /// What `GET /api/routing` says.
    async fn status(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> Result<serde_json::Value, String> {
        client
            .get(format!("{url}/api/routing"))
            .bearer_auth(&self.router_token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())
    }

    /// Swaps the two versions `--reloads` times, evenly over the load; each swap is the file
    /// replaced whole, then an architect's reload. Returns each reload's outcome and time.
    async fn reload_under_load(
        &self,
        client: &reqwest::Client,
        url: &str,
        args: &RouteBenchArgs,
    ) -> Vec<Result<Duration, String>> {
        let mut outcomes = Vec::new();
        if args.reloads == 0 {
            return outcomes;
        }
        let every = Duration::from_secs_f64(args.seconds as f64 / (args.reloads as f64 + 1.0));
        let start = tokio::time::Instant::now();
        for i in 0..args.reloads {
            tokio::time::sleep_until(start + every * (i as u32 + 1)).await;
            let (sha, text) = &self.versions[(i as usize + 1) % 2];
            let temporary = self.rules.with_extension("yaml.new");
            let swapped = std::fs::write(&temporary, text)
                .and_then(|()| std::fs::rename(&temporary, &self.rules));
            if let Err(e) = swapped {
                outcomes.push(Err(format!("cannot replace the rule set: {e}")));
                continue;
            }
            let asked = Instant::now();
            let answer = client
                .post(format!("{url}/api/routing/reload"))
                .bearer_auth(&self.architect_token)
                .send()
                .await;
            let outcome = match answer {
                Ok(r) if r.status().is_success() => {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    if v["sha256"] == sha.as_str() {
                        Ok(asked.elapsed())
                    } else {
                        Err(format!("reload {i}: {v}"))
                    }
                }
                Ok(r) => Err(format!(
                    "reload {i}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )),
                Err(e) => Err(format!("reload {i}: {e}")),
            };
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// Sends `count` requests, one every `period` from now (open loop), starting at the
/// `first`-th body; returns each one's answer. The pace is kept by a thread of its own
/// (`std::thread::sleep` wakes within tens of microseconds; tokio's timer only to the
/// millisecond, which would count against the server), and each request's latency runs
/// from its due instant.
#[allow(clippy::too_many_arguments)]
async fn fire(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: &Arc<Vec<(u64, String)>>,
    expected: &Arc<Expected>,
    shas: &Arc<[String; 2]>,
    period: Duration,
    count: u64,
    first: u64,
) -> Vec<Answer> {
    let (due_now, mut due) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let pacer = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..count {
            let at = start + period.mul_f64(i as f64);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if due_now.send((i, at)).is_err() {
                break;
            }
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    while let Some((i, at)) = due.recv().await {
        let (claim, body) = bodies[((first + i) % bodies.len() as u64) as usize].clone();
        let request = client
            .post(format!("{url}/api/route"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        let (expected, shas) = (Arc::clone(expected), Arc::clone(shas));
        tasks.spawn(async move {
            let late = at.elapsed().as_micros() as u64;
            let answer = match request.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.map_err(|e| e.to_string()),
                Ok(r) => Err(format!(
                    "{} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )),
                Err(e) => Err(e.to_string()),
            };
            // From the instant it was due: a late send counts against the server's time.
            let micros = at.elapsed().as_micros() as u64;
            match answer {
                Err(e) => Answer::Failed(format!("claim {claim}: {e}")),
                Ok(bytes) => judge(claim, &bytes, micros, late, &expected, &shas),
            }
        });
    }
    let _ = pacer.join();
    tasks.join_all().await
}

fn judge(
    claim: u64,
    bytes: &[u8],
    micros: u64,
    late: u64,
    expected: &Expected,
    shas: &[String; 2],
) -> Answer {
    let v: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Answer::Failed(format!("claim {claim}: not JSON: {e}")),
    };
    let got = (
        v["rule"].as_str().unwrap_or(""),
        v["stream"].as_str().unwrap_or(""),
        v["platform"].as_str().unwrap_or(""),
    );
    let sha = v["rule_set_sha256"].as_str().unwrap_or("");
    match expected.get(&claim) {
        Some((rule, stream, platform))
            if got == (rule.as_str(), stream.as_str(), platform.as_str())
                && v["claim_id"].as_u64() == Some(claim)
                && shas.iter().any(|s| s == sha) =>
        {
            Answer::Routed {
                micros,
                late,
                sha256: sha.to_string(),
            }
        }
        _ => Answer::Misrouted(format!("claim {claim}: {v}")),
    }
}

struct Report {
    warm_up_failed: usize,
    answers: Vec<Answer>,
    wall: f64,
    reloaded: Vec<Result<Duration, String>>,
    audit_decisions: i64,
    server_swaps: u64,
    /// The two sets' SHA-256s (the file as given first).
    shas: [String; 2],
    /// The store the decisions were audited in (its password never shown).
    store: String,
    /// The audit's last row before the load.
    mark: i64,
    /// The server's `--routing-audit`.
    mode: &'static str,
}

impl Report {
    fn routed(&self) -> usize {
        self.answers
            .iter()
            .filter(|a| matches!(a, Answer::Routed { .. }))
            .count()
    }

    fn correct(&self) -> bool {
        self.warm_up_failed == 0
            && self.routed() == self.answers.len()
            && self.reloaded.iter().all(Result::is_ok)
            && self.audit_decisions == self.answers.len() as i64
    }

    fn write(&self, out: &mut dyn Write, args: &RouteBenchArgs) -> std::io::Result<()> {
        // Of the routed answers, one timing each, sorted (both fields are microseconds).
        let sorted = |pick: fn(u64, u64) -> u64| {
            let mut v: Vec<u64> = self
                .answers
                .iter()
                .filter_map(|a| match a {
                    Answer::Routed { micros, late, .. } => Some(pick(*micros, *late)),
                    _ => None,
                })
                .collect();
            v.sort_unstable();
            v
        };
        let micros = sorted(|micros, _| micros);
        let late = sorted(|_, late| late);
        let quantile = |sorted: &[u64], q: f64| -> f64 {
            if sorted.is_empty() {
                return f64::NAN;
            }
            let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[i] as f64 / 1000.0
        };
        let at = |q: f64| quantile(&micros, q);
        let failed = self
            .answers
            .iter()
            .filter(|a| matches!(a, Answer::Failed(_)))
            .count();
        let misrouted = self
            .answers
            .iter()
            .filter(|a| matches!(a, Answer::Misrouted(_)))
            .count();
        let mean = micros.iter().sum::<u64>() as f64 / micros.len().max(1) as f64 / 1000.0;
        let mut by_set = [0usize; 2];
        for a in &self.answers {
            if let Answer::Routed { sha256, .. } = a {
                by_set[usize::from(*sha256 != self.shas[0])] += 1;
            }
        }
        writeln!(
            out,
            "online, audit {} in {}: {} requests at {}/s over {:.1} s on loopback: {} routed, {failed} failed, {misrouted} misrouted",
            self.mode,
            self.store,
            self.answers.len(),
            args.rate,
            self.wall,
            self.routed()
        )?;
        writeln!(
            out,
            "online latency (ms, from each request's due instant to its whole answer): mean {mean:.3}, p50 {:.3}, p90 {:.3}, p99 {:.3}, p99.9 {:.3}, max {:.3} (target p99 under 1 ms: {})",
            at(0.50),
            at(0.90),
            at(0.99),
            at(0.999),
            at(1.0),
            met(at(0.99) < 1.0)
        )?;
        writeln!(
            out,
            "load generator: requests handed to the client p50 {:.3} ms, p99 {:.3} ms after their due instant (counted in the latency above)",
            quantile(&late, 0.5),
            quantile(&late, 0.99)
        )?;
        let ok: Vec<Duration> = self
            .reloaded
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let mut ms: Vec<f64> = ok.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        writeln!(
            out,
            "reloads under load: {} of {} swapped by an architect's POST /api/routing/reload (median {:.1} ms, max {:.1} ms); the server counted {} swaps; answers by set: {} by the first, {} by the second",
            ok.len(),
            self.reloaded.len(),
            ms.get(ms.len() / 2).copied().unwrap_or(0.0),
            ms.last().copied().unwrap_or(0.0),
            self.server_swaps,
            by_set[0],
            by_set[1]
        )?;
        writeln!(
            out,
            "audit: {} online decisions recorded for {} answers, counted after the server stopped ({})",
            self.audit_decisions,
            self.answers.len(),
            if self.audit_decisions == self.answers.len() as i64 {
                "reconciled"
            } else {
                "NOT RECONCILED"
            }
        )?;
        let problems = self
            .answers
            .iter()
            .filter_map(|a| match a {
                Answer::Failed(e) | Answer::Misrouted(e) => Some(e.as_str()),
                Answer::Routed { .. } => None,
            })
            .chain(
                self.reloaded
                    .iter()
                    .filter_map(|r| r.as_ref().err().map(String::as_str)),
            );
        for p in problems.take(10) {
            writeln!(out, "  {p}")?;
        }
        if self.warm_up_failed > 0 {
            writeln!(
                out,
                "  {} warm-up requests failed or were misrouted",
                self.warm_up_failed
            )?;
        }
        Ok(())
    }
}
