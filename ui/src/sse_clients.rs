//! How many live-update (server-sent events) clients are served at once. Each holds a
//! connection and its buffers for as long as its page is open, so they are capped
//! (`--max-sse-clients`, default `DEFAULT_MAX_SSE_CLIENTS`): past the cap a client is
//! answered 503 and counted. A client's slot is returned when its stream is dropped, which
//! is when it disconnects (noticed at once, or at the latest at the next keep-alive).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The cap when none is given: far above one operations team's open tabs, far below what
/// would strain the server.
pub const DEFAULT_MAX_SSE_CLIENTS: usize = 64;

#[derive(Debug)]
pub struct SseClients {
    cap: usize,
    current: AtomicUsize,
    rejected: AtomicU64,
}

/// One client's place; dropping it gives the place back.
#[derive(Debug)]
pub struct SseSlot(Arc<SseClients>);

impl Drop for SseSlot {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SseClients {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            current: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// A place for one more client, or `None` (counted as rejected) at the cap.
    pub fn join(self: &Arc<Self>) -> Option<SseSlot> {
        let joined = self
            .current
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .is_ok();
        if joined {
            Some(SseSlot(Arc::clone(self)))
        } else {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            None
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Clients connected now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::SeqCst)
    }

    /// Clients refused at the cap since the server started.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_beyond_the_cap_are_refused_until_a_slot_is_returned() {
        let clients = Arc::new(SseClients::new(2));
        let a = clients.join().expect("first");
        let b = clients.join().expect("second");
        assert!(clients.join().is_none(), "the third is beyond the cap");
        assert_eq!((clients.current(), clients.rejected()), (2, 1));
        drop(a);
        assert_eq!(clients.current(), 1, "a dropped client's slot is returned");
        let c = clients.join().expect("a returned slot is usable");
        assert!(clients.join().is_none());
        assert_eq!((clients.current(), clients.rejected()), (2, 2));
        drop((b, c));
        assert_eq!(clients.current(), 0);
        assert_eq!(clients.cap(), 2);
    }
}
