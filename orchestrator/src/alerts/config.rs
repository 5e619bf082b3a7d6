//! The channel file: which channels each role is told on, and the retry policy.
//!
//! ```yaml
//! retry: { max_attempts: 8, first_backoff: 30s, max_backoff: 30m }   # optional
//! default:                                     # roles not listed below (optional)
//!   - log: { path: alerts.log }
//! roles:
//!   on-call:
//!     - webhook: { url: "http://127.0.0.1:9000/hooks/warden", format: slack }
//!     - log: { path: /var/log/warden/alerts.log }
//!   compliance:
//!     - email: { smtp: "127.0.0.1:2525", from: warden@example.org, to: [compliance@example.org] }
//! ```
//!
//! Without a file every role is told through one log channel, `DATA/alerts.log`
//! ([`ChannelConfig::default_for`]). Errors name the file, line and column, and say what to
//! write instead; see docs/alerts.md.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use lettre::message::Mailbox;
use serde::Deserialize;
use warden_core::workflow::located::Located;

/// A problem in the channel file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    retry: Option<RawRetry>,
    #[serde(default)]
    default: Option<Vec<RawChannel>>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<RawChannel>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    max_attempts: Option<Located<u32>>,
    first_backoff: Option<Located<String>>,
    max_backoff: Option<Located<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum RawChannel {
    Webhook(RawWebhook),
    Email(RawEmail),
    Log(RawLog),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Located<String>,
    #[serde(default)]
    format: Option<Located<String>>,
    /// A PEM file of an extra root certificate to trust (a private CA) for an https URL.
    #[serde(default)]
    ca_file: Option<Located<String>>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp: Located<String>,
    from: Located<String>,
    to: Located<Vec<Located<String>>>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    path: Located<String>,
    #[serde(default)]
    name: Option<String>,
}

/// What a webhook sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Warden's JSON: key, alert id, role, subject, body and the whole alert view.
    Json,
    /// A Slack incoming-webhook payload: `{"text": ...}`.
    Slack,
}

/// One configured way of telling a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    Webhook {
        url: String,
        format: WebhookFormat,
        /// PEM of an extra root certificate to trust (from `ca_file`), beside the public
        /// web roots.
        ca_pem: Option<Vec<u8>>,
    },
    Email {
        /// `host:port` of the SMTP server (plain SMTP; see docs/alerts.md).
        host: String,
        port: u16,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
    Log {
        path: PathBuf,
    },
}

/// A channel with its name: deliveries are keyed by (alert, role, channel name), so a name
/// must stay the same across restarts for exactly-once to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a delivery is dead-lettered (kept, listed, not retried).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one...
    pub first_backoff: TimeDelta,
    /// ...up to this.
    pub max_backoff: TimeDelta,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            first_backoff: TimeDelta::seconds(30),
            max_backoff: TimeDelta::minutes(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (1 for the first failure).
    pub fn backoff(&self, attempts: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(30);
        let wait = self
            .first_backoff
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_backoff);
        wait.min(self.max_backoff)
    }
}

/// Channels per role, and the retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    pub roles: BTreeMap<String, Vec<Channel>>,
    /// For roles the file does not list.
    pub default: Vec<Channel>,
    pub retry: RetryPolicy,
    /// Where the configuration came from, for messages.
    pub origin: String,
}

impl ChannelConfig {
    /// The configuration without a file: every role is told through one log channel,
    /// `DATA/alerts.log`.
    pub fn default_for(data_dir: &Path) -> ChannelConfig {
        ChannelConfig {
            roles: BTreeMap::new(),
            default: vec![Channel {
                name: "log".into(),
                kind: ChannelKind::Log {
                    path: data_dir.join("alerts.log"),
                },
            }],
            retry: RetryPolicy::default(),
            origin: "the default channels (every role: DATA/alerts.log)".into(),
        }
    }

    /// The channels of `role`: its own, or the default ones.
    pub fn for_role(&self, role: &str) -> &[Channel] {
        self.roles.get(role).map_or(&self.default[..], |c| &c[..])
    }

    /// The channel `name` of `role`.
    pub fn channel(&self, role: &str, name: &str) -> Option<&Channel> {
        self.for_role(role).iter().find(|c| c.name == name)
    }

    /// Checks the file's roles against a workflow's: a role the workflow does not declare is
    /// an error (a typo would leave the real role without its channels); a declared role
    /// with no channel (and no `default:`) is a warning: its deliveries are dead-lettered.
    /// Returns (errors, warnings).
    pub fn check_roles(&self, declared: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut errors = Vec::new();
        for role in self.roles.keys() {
            if !declared.contains(&role.as_str()) {
                let hint = warden_core::diagnostics::did_you_mean(role, declared.iter().copied())
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                errors.push(format!(
                    "{}: role `{role}` is not a role of the workflow (its roles: {}){hint}",
                    self.origin,
                    declared.join(", ")
                ));
            }
        }
        let warnings = declared
            .iter()
            .filter(|r| self.for_role(r).is_empty())
            .map(|r| {
                format!(
                    "{}: role `{r}` has no channel; its alerts will be dead-lettered (listed by \
                     `warden alerts`) until one is added",
                    self.origin
                )
            })
            .collect();
        (errors, warnings)
    }

    /// Reads a channel file. Relative log paths are relative to the file's directory.
    pub fn load(path: &Path) -> Result<ChannelConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            column: None,
            message: format!("cannot read the channel file: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&file, &text, base)
    }

    /// Parses channel-file text; `file` names it in errors, `base` anchors relative paths.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<ChannelConfig, ConfigError> {
        let at = |loc: &serde_saphyr::Location, message: String| ConfigError {
            file: file.to_string(),
            line: Some(loc.line()),
            column: Some(loc.column()),
            message,
        };
        if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#')
        }) {
            return Err(ConfigError {
                file: file.to_string(),
                line: Some(1),
                column: Some(1),
                message: "the channel file is empty; it needs `roles:` with channels per role \
                          (see docs/alerts.md)"
                    .into(),
            });
        }
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| {
            let location = e.location();
            let message = e.without_snippet().to_string();
            let mut message = message.lines().next().unwrap_or_default().to_string();
            // The location is given once, in front.
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            if let Some(rest) = message.strip_prefix("unknown field `")
                && let Some((field, expected)) = rest.split_once("`, expected one of ")
                && let Some(hint) = warden_core::diagnostics::did_you_mean(
                    field,
                    expected.split(", ").map(|k| k.trim_matches('`')),
                )
            {
                message = format!("unknown key `{field}`; {hint}");
            }
            if message.contains("variant") {
                message.push_str(
                    "; a channel is `webhook: { url, format }`, `email: { smtp, from, to }` or \
                     `log: { path }` (see docs/alerts.md)",
                );
            }
            ConfigError {
                file: file.to_string(),
                line: location.map(|l| l.line()),
                column: location.map(|l| l.column()),
                message,
            }
        })?;
        let mut retry = RetryPolicy::default();
        if let Some(r) = raw.retry {
            if let Some(n) = r.max_attempts {
                if n.value == 0 {
                    return Err(at(&n.location, "max_attempts must be at least 1".into()));
                }
                retry.max_attempts = n.value;
            }
            let duration = |d: &Located<String>| {
                humantime::parse_duration(&d.value)
                    .ok()
                    .and_then(|d| TimeDelta::from_std(d).ok())
                    .filter(|d| *d > TimeDelta::zero())
                    .ok_or_else(|| {
                        at(
                            &d.location,
                            format!(
                                "`{}` is not a duration; write e.g. `30s`, `5m` or `1h`",
                                d.value
                            ),
                        )
                    })
            };
            if let Some(d) = &r.first_backoff {
                retry.first_backoff = duration(d)?;
            }
            if let Some(d) = &r.max_backoff {
                retry.max_backoff = duration(d)?;
            }
            if retry.max_backoff < retry.first_backoff {
                retry.max_backoff = retry.first_backoff;
            }
        }
        let channels = |raw: Vec<RawChannel>| -> Result<Vec<Channel>, ConfigError> {
            let mut out: Vec<Channel> = Vec::new();
            for c in raw {
                let (name, kind) = match c {
                    RawChannel::Webhook(w) => {
                        let url = w.url.value.trim().to_string();
                        let Some(rest) = url
                            .strip_prefix("https://")
                            .or_else(|| url.strip_prefix("http://"))
                        else {
                            return Err(at(
                                &w.url.location,
                                format!("`{url}` is not an http:// or https:// URL"),
                            ));
                        };
                        if rest.is_empty() || rest.starts_with('/') {
                            return Err(at(&w.url.location, format!("`{url}` names no host")));
                        }
                        let format = match w.format.as_ref().map(|f| f.value.as_str()) {
                            None | Some("json") => WebhookFormat::Json,
                            Some("slack") => WebhookFormat::Slack,
                            Some(other) => {
                                let loc = w.format.as_ref().map(|f| f.location);
                                return Err(at(
                                    &loc.unwrap_or(w.url.location),
                                    format!(
                                        "unknown webhook format `{other}`; it is `json` or `slack`"
                                    ),
                                ));
                            }
                        };
                        let ca_pem = match &w.ca_file {
                            None => None,
                            Some(path) => {
                                let pem =
                                    std::fs::read(base.join(path.value.trim())).map_err(|e| {
                                        at(
                                            &path.location,
                                            format!(
                                                "cannot read the CA file `{}`: {e}",
                                                path.value
                                            ),
                                        )
                                    })?;
                                // from_pem accepts text with no certificate in it.
                                let has_cert = String::from_utf8_lossy(&pem)
                                    .contains("-----BEGIN CERTIFICATE-----");
                                if !has_cert || reqwest::Certificate::from_pem(&pem).is_err() {
                                    return Err(at(
                                        &path.location,
                                        format!(
                                            "`{}` is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                                            path.value
                                        ),
                                    ));
                                }
                                Some(pem)
                            }
                        };
                        (
                            w.name.unwrap_or_else(|| "webhook".into()),
                            ChannelKind::Webhook {
                                url,
                                format,
                                ca_pem,
                            },
                        )
                    }
                    RawChannel::Email(m) => {
                        let (host, port) = m
                            .smtp
                            .value
                            .rsplit_once(':')
                            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                            .filter(|(h, _)| !h.is_empty())
                            .ok_or_else(|| {
                                at(
                                    &m.smtp.location,
                                    format!(
                                        "`{}` is not HOST:PORT (e.g. `127.0.0.1:2525`)",
                                        m.smtp.value
                                    ),
                                )
                            })?;
                        let mailbox = |a: &Located<String>| {
                            a.value.parse::<Mailbox>().map_err(|e| {
                                at(
                                    &a.location,
                                    format!("`{}` is not an e-mail address: {e}", a.value),
                                )
                            })
                        };
                        let from = mailbox(&m.from)?;
                        if m.to.value.is_empty() {
                            return Err(at(
                                &m.to.location,
                                "`to` lists no recipient; give at least one address".into(),
                            ));
                        }
                        let to = m.to.value.iter().map(mailbox).collect::<Result<_, _>>()?;
                        (
                            m.name.unwrap_or_else(|| "email".into()),
                            ChannelKind::Email {
                                host,
                                port,
                                from,
                                to,
                            },
                        )
                    }
                    RawChannel::Log(l) => {
                        if l.path.value.trim().is_empty() {
                            return Err(at(&l.path.location, "the log path is empty".into()));
                        }
                        (
                            l.name.unwrap_or_else(|| "log".into()),
                            ChannelKind::Log {
                                path: base.join(l.path.value.trim()),
                            },
                        )
                    }
                };
                // Names are unique per role: the second webhook is `webhook#2`.
                let mut unique = name.clone();
                let mut n = 1;
                while out.iter().any(|c| c.name == unique) {
                    n += 1;
                    unique = format!("{name}#{n}");
                }
                out.push(Channel { name: unique, kind });
            }
            Ok(out)
        };
        let mut roles = BTreeMap::new();
        for (role, list) in raw.roles {
            roles.insert(role, channels(list)?);
        }
        let default = raw.default.map(channels).transpose()?.unwrap_or_default();
        if roles.is_empty() && default.is_empty() {
            return Err(ConfigError {
                file: file.to_string(),
                line: Some(1),
                column: Some(1),
                message: "no channel is configured: add `roles:` (channels per role) or \
                          `default:` (see docs/alerts.md)"
                    .into(),
            });
        }
        Ok(ChannelConfig {
            roles,
            default,
            retry,
            origin: file.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_file_parses() {
        let yaml = r#"
retry: { max_attempts: 4, first_backoff: 10s, max_backoff: 1m }
default:
  - log: { path: logs/alerts.log }
roles:
  on-call:
    - webhook: { url: "http://127.0.0.1:9000/a" }
    - webhook: { url: "http://127.0.0.1:9000/b", format: slack }
  compliance:
    - email: { smtp: "127.0.0.1:2525", from: "Warden <w@example.org>", to: [c@example.org] }
"#;
        let c = ChannelConfig::parse("c.yaml", yaml, Path::new("/etc/warden")).expect("parses");
        let names: Vec<&str> = c
            .for_role("on-call")
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["webhook", "webhook#2"], "names are unique per role");
        assert!(matches!(
            c.for_role("on-call")[1].kind,
            ChannelKind::Webhook {
                format: WebhookFormat::Slack,
                ..
            }
        ));
        let ChannelKind::Email { host, port, to, .. } = &c.for_role("compliance")[0].kind else {
            panic!("email");
        };
        assert_eq!((host.as_str(), *port, to.len()), ("127.0.0.1", 2525, 1));
        // Roles not listed get the default; relative paths are relative to the file.
        assert_eq!(
            c.for_role("counsel")[0].kind,
            ChannelKind::Log {
                path: PathBuf::from("/etc/warden/logs/alerts.log")
            }
        );
        assert!(c.channel("on-call", "webhook#2").is_some());
        assert!(c.channel("on-call", "log").is_none());
        assert_eq!(c.retry.max_attempts, 4);
        assert_eq!(c.retry.backoff(1), TimeDelta::seconds(10));
        assert_eq!(c.retry.backoff(2), TimeDelta::seconds(20));
        assert_eq!(c.retry.backoff(3), TimeDelta::seconds(40));
        assert_eq!(c.retry.backoff(4), TimeDelta::minutes(1), "capped");
        assert_eq!(c.retry.backoff(400), TimeDelta::minutes(1), "no overflow");
        let (errors, warnings) = c.check_roles(&["on-call", "compliance", "counsel"]);
        assert!(errors.is_empty() && warnings.is_empty());
    }

    #[test]
    fn bad_files_are_located_errors() {
        let e = |yaml: &str| {
            ChannelConfig::parse("c.yaml", yaml, Path::new("."))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            e("# nothing\n"),
            "c.yaml:1:1: the channel file is empty; it needs `roles:` with channels per role (see docs/alerts.md)"
        );
        assert!(e("roles: {}\n").starts_with("c.yaml:1:1: no channel is configured"));
        assert!(
            e("roles:\n  a:\n    - email: { smtp: \"h:1\", from: a@b.c, to: [] }\n")
                .starts_with("c.yaml:3:")
        );
        assert!(
            e("roles:\n  a:\n    - webhook: { url: \"http://x\", format: xml }\n")
                .contains("unknown webhook format `xml`; it is `json` or `slack`")
        );
        assert!(
            e("retry: { max_attempts: 0 }\nroles: { a: [ { log: { path: x } } ] }\n")
                .starts_with("c.yaml:1:")
        );
        assert!(e("roles: [1, 2]\n").starts_with("c.yaml:1:"));
    }

    #[test]
    fn the_default_tells_every_role_through_the_data_log() {
        let c = ChannelConfig::default_for(Path::new("/data"));
        assert_eq!(
            c.for_role("anyone")[0].kind,
            ChannelKind::Log {
                path: PathBuf::from("/data/alerts.log")
            }
        );
        let (errors, warnings) = c.check_roles(&["on-call"]);
        assert!(errors.is_empty() && warnings.is_empty());
        let only = ChannelConfig::parse(
            "c.yaml",
            "roles: { on-call: [ { log: { path: x } } ] }\n",
            Path::new("."),
        )
        .expect("parses");
        let (errors, warnings) = only.check_roles(&["on-call", "counsel"]);
        assert!(errors.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("role `counsel` has no channel"));
    }
}
