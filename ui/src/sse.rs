//! Live updates. One task polls the store's run fingerprints (`Store::run_versions`, one
//! cheap query) twice a second and bumps a watch channel when anything changed; every
//! connected page listens on that channel, so 200 clients cost one query, not 200. A page
//! reloads its own content when told (`static/live.js`). Clients are capped
//! (`sse_clients.rs`): each holds its slot in its stream, so a client that goes away gives
//! it back. A client that closes its connection is noticed at once; one that vanishes
//! without closing it (a dropped network) could hold its slot until TCP gives up, so every
//! stream ends after `LIFETIME` and the browser reconnects by itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::sse_clients::SseSlot;
use crate::state::AppState;

const POLL: Duration = Duration::from_millis(500);
/// How long one event stream lasts before the browser reconnects (at once, by itself).
const LIFETIME: Duration = Duration::from_secs(600);

/// Polls the store until the server stops.
pub async fn feed(state: AppState) {
    let mut last: HashMap<i64, String> = HashMap::new();
    loop {
        match state.store.run_versions().await {
            Ok(versions) => {
                let now: HashMap<i64, String> = versions.into_iter().collect();
                if now != last {
                    last = now;
                    state.changes.send_modify(|n| *n += 1);
                }
            }
            Err(e) => tracing::warn!(%e, "live updates: cannot read the store; trying again"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `GET /api/events`: an `update` event (data: the change counter) whenever any run changes;
/// 503 when `--max-sse-clients` clients are connected already.
pub async fn events(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    who.require(Permission::Read)?;
    let slot = state.sse_clients.join().ok_or_else(|| {
        ApiError::Busy(format!(
            "this server already serves its {} live-update clients (--max-sse-clients); \
             close other Warden tabs, or reload later: pages work without live updates",
            state.sse_clients.cap()
        ))
    })?;
    let mut rx = state.changes.subscribe();
    rx.mark_unchanged();
    Ok(Sse::new(updates(rx, slot, LIFETIME))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A client's `update` events, for `lifetime` at most. The slot lives in the stream's
/// state: it is dropped with the stream, when the client goes or the lifetime ends.
fn updates(
    rx: watch::Receiver<u64>,
    slot: SseSlot,
    lifetime: Duration,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let end = tokio::time::Instant::now() + lifetime;
    stream::unfold((rx, slot), move |(mut rx, slot)| async move {
        tokio::time::timeout_at(end, rx.changed())
            .await
            .ok()?
            .ok()?;
        let n = *rx.borrow_and_update();
        Some((
            Ok(Event::default().event("update").data(n.to_string())),
            (rx, slot),
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::StreamExt;

    use super::*;
    use crate::sse_clients::SseClients;

    #[tokio::test]
    async fn a_stream_ends_after_its_lifetime_and_returns_its_slot() {
        let clients = Arc::new(SseClients::new(1));
        let changes = watch::Sender::new(0u64);
        let slot = clients.join().expect("a slot");
        let mut stream = Box::pin(updates(
            changes.subscribe(),
            slot,
            Duration::from_millis(200),
        ));
        changes.send_modify(|n| *n += 1);
        assert!(stream.next().await.is_some(), "an update while it lasts");
        assert_eq!(clients.current(), 1);
        assert!(stream.next().await.is_none(), "ended after its lifetime");
        assert_eq!(clients.current(), 0, "its slot returned when it ended");
    }
}
