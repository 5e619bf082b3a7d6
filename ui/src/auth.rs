//! Who is asking, and may they. Bearer tokens (for scripts and the API) and a session cookie
//! (for the browser, after the login form), each naming a user with roles. Tokens are
//! random secrets kept only as SHA-256 digests (a fast hash is right for high-entropy
//! tokens; passwords would need a slow one, and Warden has none). Forms carry a CSRF token
//! bound to the session. With no auth file the server is loopback-only and every visitor is
//! the local operator (the CLI's own powers), with forms still CSRF-protected. Secrets are
//! compared in constant time (`secrets::same_secret`).

use std::path::Path;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::secrets::same_secret;
pub use crate::secrets::{digest, secret};
pub use crate::sessions::{SESSION_COOKIE, Sessions};
use crate::state::AppState;

/// What a user may do. Everyone signed in can read (viewers with member identities masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    /// Hold, release, rerun, skip, kill, force-complete; acknowledge.
    Operator,
    /// Sees plans and unmasked data; approves a batch impact test that came back `review`;
    /// no operator actions.
    Architect,
    /// Acknowledges escalations; reads alerts and the audit trail.
    Compliance,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Viewer,
        Role::Operator,
        Role::Architect,
        Role::Compliance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Architect => "architect",
            Role::Compliance => "compliance",
        }
    }
}

/// Something a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Operate,
    Acknowledge,
    /// See member identities unmasked.
    Unmasked,
    /// Approve a batch impact test that came back `review` (the architecture review's
    /// sign-off): a named architect only, never the local operator of a server without an
    /// auth file.
    ApproveImpact,
    /// Reload the routing rule set now (a named architect, like an approval).
    ReloadRouting,
}

impl Permission {
    fn granted_by(self, role: Role) -> bool {
        match self {
            Permission::Read => true,
            Permission::Operate => role == Role::Operator,
            Permission::Acknowledge => matches!(role, Role::Operator | Role::Compliance),
            Permission::Unmasked => role != Role::Viewer,
            Permission::ApproveImpact | Permission::ReloadRouting => role == Role::Architect,
        }
    }

    /// Granted only to a user the server knows by name (an auth file's), never to the
    /// local operator of a server without one.
    fn needs_named_user(self) -> bool {
        matches!(self, Permission::ApproveImpact | Permission::ReloadRouting)
    }

    fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Operate => "operator actions need the operator role",
            Permission::Acknowledge => "acknowledging needs the operator or compliance role",
            Permission::Unmasked => "member identities need a role above viewer",
            Permission::ApproveImpact => "approving a batch impact test needs the architect role",
            Permission::ReloadRouting => "reloading the routing rule set needs the architect role",
        }
    }
}

/// One user of the auth file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// SHA-256 of the token, lowercase hex (`warden token` prints one).
    pub token_sha256: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    users: Vec<UserEntry>,
}

/// A user as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub roles: Vec<Role>,
}

/// The users, with their token digests.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    users: Vec<(String, User)>,
}

impl AuthConfig {
    /// Reads an auth file (YAML: `users: [{name, role | roles, token_sha256}]`).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the auth file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let file: AuthFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut config = AuthConfig::default();
        for (i, u) in file.users.into_iter().enumerate() {
            let place = format!("users[{i}] ({})", u.name);
            let digest = u.token_sha256.trim().to_ascii_lowercase();
            if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "{place}: token_sha256 must be 64 hex digits (the SHA-256 of the token; \
                     `warden token --name NAME --role ROLE` makes a token and its line)"
                ));
            }
            let mut roles = u.roles;
            roles.extend(u.role);
            roles.dedup();
            if roles.is_empty() {
                return Err(format!(
                    "{place}: give `role:` (viewer, operator, architect or compliance) or `roles:`"
                ));
            }
            if config.users.iter().any(|(d, _)| *d == digest) {
                return Err(format!("{place}: the same token is given twice"));
            }
            config.users.push((
                digest,
                User {
                    name: u.name,
                    roles,
                },
            ));
        }
        Ok(config)
    }

    /// The names of the users holding `role`, in the file's order (who may approve an
    /// impact test, say).
    pub fn users_with(&self, role: Role) -> Vec<&str> {
        self.users
            .iter()
            .filter(|(_, u)| u.roles.contains(&role))
            .map(|(_, u)| u.name.as_str())
            .collect()
    }

    /// A config with one user per (token, name, roles): for tests and `warden demo`.
    pub fn from_tokens(users: &[(&str, &str, &[Role])]) -> Self {
        let users = users
            .iter()
            .map(|(token, name, roles)| {
                (
                    digest(token),
                    User {
                        name: (*name).to_string(),
                        roles: roles.to_vec(),
                    },
                )
            })
            .collect();
        Self { users }
    }

    /// The user holding `token`. Every user's digest is compared, each in constant time:
    /// the time taken says nothing about which digest matched, or how nearly.
    pub fn user_for(&self, token: &str) -> Option<&User> {
        let given = digest(token.trim());
        let mut found = None;
        for (known, user) in &self.users {
            if same_secret(&given, known) {
                found = Some(user);
            }
        }
        found
    }
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Bearer,
    /// The session cookie; forms must carry this CSRF token.
    Session {
        id: String,
        csrf: String,
    },
    /// No auth configured (loopback only); forms must carry the server's CSRF token.
    Local {
        csrf: String,
    },
}

/// The requester: a user (with how they proved it) or nobody.
#[derive(Debug, Clone)]
pub enum Principal {
    User { user: User, via: Via },
    Anonymous,
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::User { user, .. } => &user.name,
            Principal::Anonymous => "anonymous",
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        match self {
            Principal::User {
                via: Via::Local { .. },
                ..
            } if permission.needs_named_user() => false,
            Principal::User { user, .. } => user.roles.iter().any(|r| permission.granted_by(*r)),
            Principal::Anonymous => false,
        }
    }

    /// 401 for nobody, 403 for somebody without the role.
    pub fn require(&self, permission: Permission) -> Result<&User, ApiError> {
        match self {
            Principal::Anonymous => Err(ApiError::Unauthorized(
                "sign in: send `Authorization: Bearer TOKEN`, or use the login form at /login"
                    .into(),
            )),
            Principal::User { user, .. } if self.may(permission) => Ok(user),
            Principal::User {
                via: Via::Local { .. },
                ..
            } => Err(ApiError::Forbidden(format!(
                "the local operator (a server without an auth file) may not do this: {}, \
                 held by a user named in the auth file; start the server with --auth FILE \
                 (docs/ui.md), or approve from the CLI (`warden impact approve`)",
                permission.describe()
            ))),
            Principal::User { user, .. } => Err(ApiError::Forbidden(format!(
                "{} ({}) may not do this: {}",
                user.name,
                user.roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                permission.describe()
            ))),
        }
    }

    /// The CSRF token a form of this requester must carry (none for bearer tokens).
    pub fn csrf(&self) -> Option<&str> {
        match self {
            Principal::User {
                via: Via::Session { csrf, .. } | Via::Local { csrf },
                ..
            } => Some(csrf),
            _ => None,
        }
    }

    /// Checks a mutating request's CSRF token, when its credentials came with the browser.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ApiError> {
        match self.csrf() {
            None => Ok(()),
            Some(expected) if given.is_some_and(|g| same_secret(g, expected)) => Ok(()),
            Some(_) => Err(ApiError::Forbidden(
                "the form's CSRF token is missing or stale: reload the page and try again".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(auth) = &state.auth else {
            return Ok(Principal::User {
                user: User {
                    name: "local".into(),
                    roles: Role::ALL.to_vec(),
                },
                via: Via::Local {
                    csrf: state.local_csrf.clone(),
                },
            });
        };
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::Unauthorized("the Authorization header must be `Bearer TOKEN`".into())
                })?;
            return match auth.user_for(token) {
                Some(user) => Ok(Principal::User {
                    user: user.clone(),
                    via: Via::Bearer,
                }),
                None => Err(ApiError::Unauthorized(
                    "that token is not known to this server".into(),
                )),
            };
        }
        if let Some(id) = crate::cookies::read(&parts.headers, SESSION_COOKIE)
            && let Some(session) = state.sessions.get(&id, Utc::now())
        {
            return Ok(Principal::User {
                user: session.user,
                via: Via::Session {
                    id,
                    csrf: session.csrf,
                },
            });
        }
        Ok(Principal::Anonymous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_files_are_checked_and_tokens_found_by_digest() {
        let good = format!(
            "users:\n  - {{ name: dana, role: operator, token_sha256: {} }}\n  - {{ name: cy, roles: [viewer, compliance], token_sha256: {} }}\n",
            digest("tok-dana"),
            digest("tok-cy")
        );
        let config = AuthConfig::parse(&good).expect("valid");
        assert_eq!(
            config.user_for("tok-dana").map(|u| u.name.as_str()),
            Some("dana")
        );
        assert_eq!(
            config.user_for("tok-cy").map(|u| u.roles.clone()),
            Some(vec![Role::Viewer, Role::Compliance])
        );
        assert!(config.user_for("tok-nobody").is_none());
        let short = "users:\n  - { name: x, role: viewer, token_sha256: abc }\n";
        assert!(
            AuthConfig::parse(short)
                .expect_err("short")
                .contains("64 hex digits")
        );
        let roleless = format!("users:\n  - {{ name: x, token_sha256: {} }}\n", digest("t"));
        assert!(
            AuthConfig::parse(&roleless)
                .expect_err("no role")
                .contains("role")
        );
        let unknown = format!(
            "users:\n  - {{ name: x, role: admin, token_sha256: {} }}\n",
            digest("t")
        );
        let e = AuthConfig::parse(&unknown).expect_err("unknown role");
        assert!(e.contains("admin"), "{e}");
    }

    #[test]
    fn permissions_follow_roles() {
        let user = |roles: &[Role]| Principal::User {
            user: User {
                name: "u".into(),
                roles: roles.to_vec(),
            },
            via: Via::Bearer,
        };
        assert!(user(&[Role::Viewer]).require(Permission::Read).is_ok());
        assert!(matches!(
            user(&[Role::Viewer]).require(Permission::Operate),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            Principal::Anonymous.require(Permission::Read),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(user(&[Role::Compliance]).may(Permission::Acknowledge));
        assert!(!user(&[Role::Compliance]).may(Permission::Operate));
        assert!(!user(&[Role::Architect]).may(Permission::Acknowledge));
        assert!(!user(&[Role::Viewer]).may(Permission::Unmasked));
    }

    #[test]
    fn only_a_named_architect_approves_impact_tests() {
        let user = |roles: &[Role], via: Via| Principal::User {
            user: User {
                name: "u".into(),
                roles: roles.to_vec(),
            },
            via,
        };
        assert!(user(&[Role::Architect], Via::Bearer).may(Permission::ApproveImpact));
        assert!(
            user(&[Role::Viewer, Role::Architect], Via::Bearer)
                .require(Permission::ApproveImpact)
                .is_ok()
        );
        for role in [Role::Viewer, Role::Operator, Role::Compliance] {
            let e = user(&[role], Via::Bearer)
                .require(Permission::ApproveImpact)
                .expect_err("refused");
            assert!(
                matches!(&e, ApiError::Forbidden(m) if m.contains("architect role")),
                "{role:?}: {e}"
            );
        }
        // The local operator of a server without an auth file holds every role, yet is
        // nobody in particular: an approval needs a named architect.
        let local = user(&Role::ALL, Via::Local { csrf: "c".into() });
        assert!(local.may(Permission::Operate));
        assert!(!local.may(Permission::ApproveImpact));
        let e = local
            .require(Permission::ApproveImpact)
            .expect_err("refused");
        assert!(
            matches!(&e, ApiError::Forbidden(m) if m.contains("--auth")),
            "{e}"
        );
        let config = AuthConfig::from_tokens(&[
            ("t1", "ari", &[Role::Architect]),
            ("t2", "dana", &[Role::Operator]),
            ("t3", "bo", &[Role::Viewer, Role::Architect]),
        ]);
        assert_eq!(config.users_with(Role::Architect), vec!["ari", "bo"]);
    }

    #[test]
    fn csrf_is_required_of_browser_credentials_only() {
        let session = Principal::User {
            user: User {
                name: "u".into(),
                roles: vec![Role::Operator],
            },
            via: Via::Session {
                id: "s".into(),
                csrf: "c".into(),
            },
        };
        assert!(session.check_csrf(Some("c")).is_ok());
        assert!(session.check_csrf(None).is_err());
        assert!(session.check_csrf(Some("other")).is_err());
        let bearer = Principal::User {
            user: User {
                name: "u".into(),
                roles: vec![Role::Operator],
            },
            via: Via::Bearer,
        };
        assert!(bearer.check_csrf(None).is_ok());
    }
}
