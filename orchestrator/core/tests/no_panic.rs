//! The compiler never panics, whatever it is given: arbitrary text, and mutations of real
//! workflow files (lines deleted, duplicated, swapped, truncated, tokens replaced,
//! punctuation inserted). Whatever compiles is also planned and simulated, which must not
//! panic either. Every located diagnostic points at line ≥ 1, column ≥ 1, and renders.

use std::path::Path;

use proptest::prelude::*;
use warden_core::diagnostics::{SourceMap, render_text};
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::sched::simulate;
use warden_core::workflow::{NoFiles, compile_bytes, compile_str};

fn read(relative: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../workflows")
            .join(relative),
    )
    .expect("shipped file");
    // Compiled on its own, a file cannot load its calendar; drop the reference.
    text.lines()
        .filter(|l| !l.starts_with("calendar:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn seeds() -> Vec<String> {
    let mut seeds = vec![
        read("nightly.yaml"),
        read("nightly-serial.yaml"),
        read("month-end.yaml"),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/invalid");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    for p in names
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .take(24)
    {
        // The corpus has a deliberately non-UTF-8 file; the byte-level test covers it.
        if let Ok(text) = std::fs::read_to_string(p) {
            seeds.push(text);
        }
    }
    seeds
}

/// Compiles, checks every diagnostic's place, renders; plans and simulates what compiles.
fn check(text: &str) -> Result<(), TestCaseError> {
    let (sources, compilation) = compile_str("fuzz.yaml", text);
    for d in &compilation.diagnostics {
        if let Some(span) = d.span {
            prop_assert!(span.line >= 1 && span.column >= 1, "{:?}", d);
        }
    }
    let _ = render_text(&sources, &compilation.diagnostics);
    if let Some(w) = compilation.workflow {
        for date in ["2025-02", "2025-03-04", "2025-11-01", "2024-02"] {
            let date: DateSpec = date.parse().expect("date");
            if let Ok(plan) = w.instantiate(date, &PlanOptions::default()) {
                let schedule = simulate(&plan);
                prop_assert_eq!(schedule.jobs.len(), plan.jobs.len());
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    ReplaceToken(usize, usize),
    Insert(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let punct = prop::sample::select(vec![
        "{", "}", "[", "]", ":", "- ", "&a", "*a", "!!", "'", "\"", "\t", "\n  ", "~", "? ",
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::ReplaceToken(a, b)),
        (any::<usize>(), punct).prop_map(|(a, p)| Mutation::Insert(a, p)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Truncate(at) => {
            let mut cut = at % (text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
        Mutation::ReplaceToken(a, b) => {
            let tokens: Vec<&str> = text.split_whitespace().collect();
            if tokens.len() > 1 {
                let (from, to) = (tokens[a % tokens.len()], tokens[b % tokens.len()]);
                return text.replacen(from, to, 1);
            }
        }
        Mutation::Insert(at, what) => {
            let mut pos = at % (text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            return format!("{}{}{}", &text[..pos], what, &text[pos..]);
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text)?;
    }

    #[test]
    fn yaml_shaped_noise_never_panics(text in "([a-z_]{1,8}: ?(\\[|\\{|-|[0-9a-zA-Z:.\"' ]{0,12}|\\]|\\})\n {0,4}){0,30}") {
        check(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        seed in 0usize..1000,
        at in any::<usize>(),
        junk in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        // A real workflow with a few arbitrary bytes spliced in (often not UTF-8).
        let seeds = seeds();
        let mut bytes = seeds[seed % seeds.len()].clone().into_bytes();
        let at = at % (bytes.len() + 1);
        bytes.splice(at..at, junk);
        let mut sources = SourceMap::new();
        let compilation = compile_bytes(&mut sources, "fuzz.yaml", bytes, &NoFiles);
        for d in &compilation.diagnostics {
            if let Some(span) = d.span {
                prop_assert!(span.line >= 1 && span.column >= 1, "{:?}", d);
            }
        }
        let _ = render_text(&sources, &compilation.diagnostics);
    }

    #[test]
    fn mutated_workflows_never_panic(seed in 0usize..1000, mutations in prop::collection::vec(mutation(), 1..4)) {
        let seeds = seeds();
        let mut text = seeds[seed % seeds.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check(&text)?;
    }
}
