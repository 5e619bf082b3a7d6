//! Progress reporting, injected: the CLI draws bars, tests and jobs count nothing.

/// Told about stages and claims done; must be cheap (called every few thousand claims).
pub trait Progress: Sync {
    /// A stage starts with `total` units (claims or rows) to do.
    fn stage(&self, _name: &str, _total: u64) {}
    /// `n` more units done in the current stage.
    fn advance(&self, _n: u64) {}
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
