//! Dependency cycles, printed as the path an architect can follow.

use std::collections::{HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::ctx::Ctx;
use super::jobs::CompiledJobs;
use crate::diagnostics::Diagnostic;

/// Reports every dependency cycle once (per set of templates it runs through).
pub(super) fn check_cycles(cx: &mut Ctx<'_>, compiled: &CompiledJobs) {
    let jobs = &compiled.jobs;
    let mut graph = DiGraph::<usize, ()>::with_capacity(jobs.len(), jobs.len());
    let nodes: Vec<NodeIndex> = (0..jobs.len()).map(|i| graph.add_node(i)).collect();
    for (i, job) in jobs.iter().enumerate() {
        for &dep in &job.after {
            graph.add_edge(nodes[dep], nodes[i], ());
        }
    }
    let mut reported: HashSet<Vec<String>> = HashSet::new();
    for scc in tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let path = cycle_path(&graph, &scc);
        let mut signature: Vec<String> = path
            .iter()
            .map(|n| jobs[graph[*n]].template.clone())
            .collect();
        signature.sort();
        signature.dedup();
        if !reported.insert(signature) {
            continue;
        }
        let ids: Vec<&str> = path.iter().map(|n| jobs[graph[*n]].id.as_str()).collect();
        let first = graph[path[0]];
        let last = graph[path[path.len() - 1]];
        let closing = compiled
            .edge_spans
            .get(&(last, first))
            .copied()
            .unwrap_or_default();
        let message = if self_loop {
            format!("job `{}` runs after itself", ids[0])
        } else {
            let mut shown = ids.clone();
            shown.push(ids[0]);
            format!("dependency cycle: {}", shown.join(" -> "))
        };
        let mut diagnostic = Diagnostic::error(message)
            .at(closing)
            .label(format!(
                "`{}` waits for `{}` here",
                jobs[first].template, jobs[last].template
            ))
            .help("`a -> b` means b runs after a; remove one of these dependencies");
        for pair in path.windows(2) {
            let (from, to) = (graph[pair[0]], graph[pair[1]]);
            if let Some(span) = compiled.edge_spans.get(&(from, to)) {
                diagnostic = diagnostic.note(
                    *span,
                    format!(
                        "`{}` waits for `{}`",
                        jobs[to].template, jobs[from].template
                    ),
                );
            }
        }
        cx.push(diagnostic);
    }
}

/// A shortest cycle through the strongly connected component's first node.
fn cycle_path(graph: &DiGraph<usize, ()>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    let Some(&start) = scc.iter().min_by_key(|n| graph[**n]) else {
        return Vec::new();
    };
    if graph.contains_edge(start, start) {
        return vec![start];
    }
    let mut parent = vec![None; graph.node_count()];
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors(node) {
            if next == start {
                let mut path = vec![node];
                let mut cursor = node;
                while let Some(p) = parent[cursor.index()] {
                    path.push(p);
                    cursor = p;
                }
                path.reverse();
                return path;
            }
            if members.contains(&next) && seen.insert(next) {
                parent[next.index()] = Some(node);
                queue.push_back(next);
            }
        }
    }
    scc.to_vec()
}
