//! Browser sessions, in memory: a server restart signs everyone out (they sign in again
//! with their token). The map is keyed by the SHA-256 of each session id, never the id
//! itself: finding a session compares digests, so a timing attacker probing ids learns
//! about digests of ids, not ids.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::auth::User;
use crate::secrets::{digest, secret};

pub const SESSION_COOKIE: &str = "warden_session";
pub const SESSION_LENGTH: TimeDelta = TimeDelta::hours(12);

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The CSRF token the session's forms carry.
    pub csrf: String,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session; returns its id (the cookie's value).
    pub fn open(&self, user: User, now: DateTime<Utc>) -> String {
        let id = secret();
        if let Ok(mut map) = self.by_digest.lock() {
            map.retain(|_, s| s.expires > now);
            map.insert(
                digest(&id),
                Session {
                    user,
                    csrf: secret(),
                    expires: now + SESSION_LENGTH,
                },
            );
        }
        id
    }

    pub fn get(&self, id: &str, now: DateTime<Utc>) -> Option<Session> {
        let map = self.by_digest.lock().ok()?;
        map.get(&digest(id)).filter(|s| s.expires > now).cloned()
    }

    pub fn close(&self, id: &str) -> Option<User> {
        self.by_digest
            .lock()
            .ok()?
            .remove(&digest(id))
            .map(|s| s.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn sessions_are_found_by_id_until_they_expire_or_close() {
        let sessions = Sessions::default();
        let now = Utc::now();
        let user = User {
            name: "dana".into(),
            roles: vec![Role::Operator],
        };
        let id = sessions.open(user.clone(), now);
        assert_eq!(sessions.get(&id, now).map(|s| s.user), Some(user.clone()));
        assert!(
            sessions.get(&digest(&id), now).is_none(),
            "the digest is no id"
        );
        assert!(sessions.get(&id, now + SESSION_LENGTH).is_none(), "expired");
        assert_eq!(sessions.close(&id), Some(user));
        assert!(sessions.get(&id, now).is_none(), "closed");
    }
}
