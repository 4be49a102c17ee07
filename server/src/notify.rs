//! Delivery of outbox messages: email over SMTP (lettre), SMS to a webhook (reqwest).
//! Every message is in the outbox table first; delivery only updates its status there.
//!
//! A message carries a live secret (an invitation link's token, an SMS code). The outbox
//! keeps it only where the outbox is that channel's delivery, on a site without a mail
//! server or SMS gateway, where the operator reads the messages there; with a transport the
//! stored copy says the secret was sent and not kept, so a copy of the database holds no
//! live token or code. See [`Outgoing`].

use std::time::Duration;

use access_domain::api::Channel;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::AppState;
use crate::store::NewMessage;

const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// An SMTP transport built from `ACCESS_SMTP_URL`.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    /// Parses the URL (`smtp://[user:password@]host[:port]`, plain SMTP as on a local relay
    /// or sink) and the sender address.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("ACCESS_SMTP_URL must start with smtp:// (got {url:?})"))?
            .trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("invalid SMTP port {p:?}"))?,
            ),
            None => (hostport, 25),
        };
        if host.is_empty() {
            return Err("ACCESS_SMTP_URL has no host".into());
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(SEND_TIMEOUT));
        if let Some(c) = creds {
            let (user, pass) = c.split_once(':').unwrap_or((c, ""));
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.to_string(),
                    pass.to_string(),
                ));
        }
        let transport = builder.build();
        let from = from
            .parse()
            .map_err(|e| format!("invalid mail sender {from:?}: {e}"))?;
        Ok(Mailer { transport, from })
    }

    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to = to.parse().map_err(|e| format!("invalid recipient: {e}"))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The SMS gateway of `ACCESS_SMS_WEBHOOK_URL`: each SMS is POSTed there as
/// `{"to", "body"}` JSON.
pub struct SmsGateway {
    url: reqwest::Url,
    http: reqwest::Client,
}

impl SmsGateway {
    /// Checks the URL and builds the HTTP client. Only a configured gateway needs one: a
    /// system without CA certificates (a minimal container) refuses to build it, and must
    /// still be able to run a server that sends nothing over HTTPS.
    pub fn new(url: &str) -> Result<SmsGateway, String> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                format!("ACCESS_SMS_WEBHOOK_URL must be an http:// or https:// URL (got {url:?})")
            })?;
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| {
                // reqwest's own text is only "builder error"; the cause says why.
                let cause = std::error::Error::source(&e)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                format!(
                    "ACCESS_SMS_WEBHOOK_URL is set but no HTTP client could be built \
                     ({e}{cause}); are the system's CA certificates installed?"
                )
            })?;
        Ok(SmsGateway { url: parsed, http })
    }

    async fn send(&self, to: &str, body: &str) -> Result<(), String> {
        let resp = self
            .http
            .post(self.url.clone())
            .json(&serde_json::json!({ "to": to, "body": body }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", resp.status()))
        }
    }
}

/// What the outbox keeps in place of a secret that went out through a transport.
pub const SECRET_NOT_KEPT: &str = "[sent, not kept]";

/// A message on its way: `stored` goes into the outbox, `text` (with the secret) only to
/// the transport.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The outbox row.
    pub stored: NewMessage,
    text: String,
}

impl Outgoing {
    /// `msg.body` is the full text and contains `secret`; the stored copy drops the secret
    /// when a transport delivers this channel.
    pub fn new(state: &AppState, msg: NewMessage, secret: &str) -> Outgoing {
        let text = msg.body.clone();
        let has_transport = match msg.channel {
            Channel::Email => state.mailer.is_some(),
            Channel::Sms => state.sms.is_some(),
        };
        let stored = if has_transport && !secret.is_empty() {
            NewMessage {
                body: text.replace(secret, SECRET_NOT_KEPT),
                ..msg
            }
        } else {
            msg
        };
        Outgoing { stored, text }
    }
}

/// Delivers a message that is already in the outbox and records the outcome there.
/// Failures are logged and recorded, never returned: the outbox keeps the message (without
/// its secret, so a failed invitation is resent rather than retried).
pub async fn deliver(state: &AppState, out: &Outgoing) {
    let msg = &out.stored;
    let outcome = match msg.channel {
        Channel::Email => match &state.mailer {
            Some(m) => Some(
                m.send(&msg.to, msg.subject.as_deref().unwrap_or(""), &out.text)
                    .await,
            ),
            None => None,
        },
        Channel::Sms => match &state.sms {
            Some(gateway) => Some(gateway.send(&msg.to, &out.text).await),
            None => None,
        },
    };
    let (delivery, error) = match outcome {
        None => ("outbox_only", None),
        Some(Ok(())) => ("sent", None),
        Some(Err(e)) => {
            tracing::warn!(to = %msg.to, error = %e, "delivery failed; the message stays in the outbox");
            ("failed", Some(e))
        }
    };
    if let Some(metrics) = &state.metrics {
        metrics.delivered(msg.channel.as_str(), delivery);
    }
    let id = msg.id;
    if let Err(e) = state
        .db
        .run(move |s| s.mark_delivery(id, delivery, error.as_deref()))
        .await
    {
        tracing::error!(error = %e, "cannot record delivery");
    }
}
