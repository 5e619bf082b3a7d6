//! Sending one rendered alert on one channel: a webhook POST, an e-mail over SMTP, or a
//! line appended to a log file. Each send is one attempt; the outbox retries.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use super::config::{Channel, ChannelKind, WebhookFormat};

/// How long one attempt may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What is sent: the rendered alert and who it is for.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// One per (alert, role, channel), the same on every attempt: receivers deduplicate
    /// on it (`Idempotency-Key` header, Message-ID, the log line's `key`).
    pub key: String,
    pub alert_id: i64,
    pub run_id: i64,
    pub role: String,
    pub template: String,
    pub subject: String,
    pub body: String,
    /// The alert view (JSON) as stored.
    pub view: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl Outgoing {
    /// Warden's JSON payload (webhook `format: json`, and each log line).
    pub fn payload(&self, channel: &str) -> serde_json::Value {
        json!({
            "key": self.key,
            "alert_id": self.alert_id,
            "run_id": self.run_id,
            "role": self.role,
            "channel": channel,
            "template": self.template,
            "subject": self.subject,
            "body": self.body,
            "alert": self.view,
            "sent_at": self.at,
        })
    }
}

/// The webhook client: TLS (rustls) with the public web roots, and `extra_root` (PEM) too.
fn http_client(extra_root: Option<&[u8]>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .connect_timeout(SEND_TIMEOUT)
        .user_agent(concat!("warden/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = extra_root {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| format!("the channel's CA file is not a PEM certificate: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Shared clients (a webhook client keeps its connections).
#[derive(Debug, Clone)]
pub struct Senders {
    http: reqwest::Client,
}

impl Senders {
    pub fn new() -> Result<Senders, String> {
        Ok(Senders {
            http: http_client(None)?,
        })
    }

    /// One attempt; the error says what failed, for the delivery's `last_error`.
    pub async fn send(&self, channel: &Channel, message: &Outgoing) -> Result<(), String> {
        match &channel.kind {
            ChannelKind::Webhook {
                url,
                format,
                ca_pem,
            } => {
                let payload = match format {
                    WebhookFormat::Json => message.payload(&channel.name),
                    WebhookFormat::Slack => json!({
                        "text": format!("*{}*\n{}", message.subject, message.body),
                    }),
                };
                // A channel with a private CA gets a client that trusts it as well.
                let private;
                let http = match ca_pem {
                    None => &self.http,
                    Some(pem) => {
                        private = http_client(Some(pem))?;
                        &private
                    }
                };
                let response = http
                    .post(url)
                    .header("Idempotency-Key", &message.key)
                    .json(&payload)
                    .send()
                    .await
                    .map_err(|e| format!("POST {url}: {}", error_chain(&e)))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("POST {url}: HTTP {status}"))
                }
            }
            ChannelKind::Email {
                host,
                port,
                from,
                to,
            } => {
                let mut builder = Message::builder()
                    .from(from.clone())
                    .subject(message.subject.clone())
                    .message_id(Some(message_id(&message.key)))
                    .header(ContentType::TEXT_PLAIN);
                for rcpt in to {
                    builder = builder.to(rcpt.clone());
                }
                let email = builder
                    .body(message.body.clone())
                    .map_err(|e| format!("cannot build the e-mail: {e}"))?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                transport
                    .send(email)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("SMTP {host}:{port}: {}", error_chain(&e)))
            }
            ChannelKind::Log { path } => {
                let line = message.payload(&channel.name).to_string();
                let write = || -> std::io::Result<()> {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?;
                    // One write of the whole line: appends of concurrent writers don't mix.
                    file.write_all(format!("{line}\n").as_bytes())?;
                    file.sync_data()
                };
                write().map_err(|e| format!("log {}: {e}", path.display()))
            }
        }
    }
}

/// A Message-ID from the delivery key: the same on every attempt, so a mail system (or a
/// reader) can tell a retry from a new alert.
pub fn message_id(key: &str) -> String {
    let local: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{local}@warden.alerts>")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
