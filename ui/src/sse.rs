//! Live updates. One task polls the store's run fingerprints (`Store::run_versions`, one
//! cheap query) twice a second and bumps a watch channel when anything changed; every
//! connected page listens on that channel, so 200 clients cost one query, not 200. A page
//! reloads its own content when told (`static/live.js`). Clients are capped
//! (`sse_clients.rs`): each holds its slot in its stream, so a client that goes away gives
//! it back.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;

const POLL: Duration = Duration::from_millis(500);

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
    // The slot lives in the stream's state: dropped with the stream, when the client goes.
    let updates = stream::unfold((rx, slot), |(mut rx, slot)| async move {
        rx.changed().await.ok()?;
        let n = *rx.borrow_and_update();
        Some((
            Ok(Event::default().event("update").data(n.to_string())),
            (rx, slot),
        ))
    });
    Ok(Sse::new(updates).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
