//! Names to concrete jobs.
//!
//! A name in `after` or `covers` is one of:
//! - a template id (`CLAIM-SORT`): from a job of the same per-stream template family, the
//!   instance for the referrer's own stream (and, between two jobs fanned out into the same
//!   number of partitions, the same partition); otherwise every instance (fan-in);
//! - `TEMPLATE.*`: every instance, explicitly;
//! - `TEMPLATE.STREAM`: that stream's instance (all its partitions);
//! - a concrete id (`CLMADJUD-P03`, `ADJUD-PHASE1.A-P02`);
//! - `T?`: like `T`, but from a per-stream job whose stream `T` does not run for, nothing
//!   (for "wait for whichever of these runs for my stream"). A single job bound to one
//!   stream with `stream: E` runs for that stream only, so `X?` binds it from stream E's
//!   instance and from no other (plain `X` is still a fan-in: every stream waits for it).

use std::collections::HashMap;

use crate::workflow::model::{Job, JobIdx};

/// A job template as written, with the concrete jobs it expanded into.
#[derive(Debug)]
pub(super) struct Template {
    pub id: String,
    /// Declared with `streams:` (expands once per stream).
    pub per_stream: bool,
    pub instances: Vec<JobIdx>,
}

#[derive(Debug, Default)]
pub(super) struct RefIndex {
    pub templates: HashMap<String, usize>,
    pub concrete: HashMap<String, JobIdx>,
    /// `TEMPLATE.STREAM` for partitioned per-stream templates.
    pub groups: HashMap<String, Vec<JobIdx>>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum RefError {
    Unknown,
    /// A per-stream template that has no instance for the referrer's stream.
    NoInstanceForStream {
        template: String,
    },
}

impl RefIndex {
    /// Every name a user could have meant, for "did you mean".
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates
            .keys()
            .chain(self.concrete.keys())
            .map(String::as_str)
    }

    /// Resolves a name in `after` of `referrer`.
    pub fn resolve_after(
        &self,
        templates: &[Template],
        jobs: &[Job],
        referrer: &Job,
        referrer_per_stream: bool,
        name: &str,
    ) -> Result<Vec<JobIdx>, RefError> {
        if let Some(required) = name.strip_suffix('?') {
            // A single job bound to one stream (`stream: E`) runs for that stream only: from
            // a per-stream job of another stream, `X?` names nothing.
            if referrer_per_stream
                && let Some(bound) = self.bound_stream(templates, jobs, required)
                && referrer.stream != Some(bound)
            {
                return Ok(Vec::new());
            }
            return match self.resolve_after(
                templates,
                jobs,
                referrer,
                referrer_per_stream,
                required,
            ) {
                Err(RefError::NoInstanceForStream { .. }) => Ok(Vec::new()),
                other => other,
            };
        }
        if let Some(template) = name.strip_suffix(".*") {
            return self
                .templates
                .get(template)
                .map(|t| templates[*t].instances.clone())
                .ok_or(RefError::Unknown);
        }
        if let Some(t) = self.templates.get(name) {
            let template = &templates[*t];
            let mut chosen: Vec<JobIdx> = template.instances.clone();
            if template.per_stream && referrer_per_stream {
                chosen.retain(|j| jobs[*j].stream == referrer.stream);
                if chosen.is_empty() {
                    return Err(RefError::NoInstanceForStream {
                        template: template.id.clone(),
                    });
                }
            }
            if let Some(p) = referrer.partition {
                let same_count = chosen
                    .iter()
                    .all(|j| jobs[*j].partition.is_some_and(|q| q.count == p.count));
                if same_count {
                    chosen.retain(|j| jobs[*j].partition.is_some_and(|q| q.index == p.index));
                }
            }
            return Ok(chosen);
        }
        self.resolve_exact(name).ok_or(RefError::Unknown)
    }

    /// The stream a single (non-template) job named `name` is bound to with `stream:`.
    fn bound_stream(&self, templates: &[Template], jobs: &[Job], name: &str) -> Option<usize> {
        let template = &templates[*self.templates.get(name)?];
        if template.per_stream {
            return None;
        }
        let first = jobs.get(*template.instances.first()?)?.stream?;
        template
            .instances
            .iter()
            .all(|j| jobs.get(*j).is_some_and(|job| job.stream == Some(first)))
            .then_some(first)
    }

    /// Resolves a name with no referrer (deadlines, milestones): a template means all of it.
    pub fn resolve_all(&self, templates: &[Template], name: &str) -> Option<Vec<JobIdx>> {
        let template = name.strip_suffix(".*").unwrap_or(name);
        if let Some(t) = self.templates.get(template) {
            return Some(templates[*t].instances.clone());
        }
        self.resolve_exact(name)
    }

    fn resolve_exact(&self, name: &str) -> Option<Vec<JobIdx>> {
        if let Some(group) = self.groups.get(name) {
            return Some(group.clone());
        }
        self.concrete.get(name).map(|j| vec![*j])
    }
}
