//! Email over SMTP with lettre: multipart text + HTML, subject
//! `[faultline] FAILED <experiment>`, a Message-ID stable across retries (so a receiver
//! that got a mail twice can tell), Date, and RFC 2047 encoding of non-ASCII names.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{Security, SmtpSettings};
use super::error::NotifyError;
use super::templates::{Message, Templates};
use crate::application::config_file::{ConfigError, ConfigErrors};
use crate::application::ports::SendError;

/// How long one SMTP conversation may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// A configured SMTP sender.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// Builds the transport (connections are made per send).
    pub fn new(s: &SmtpSettings) -> Result<EmailChannel, NotifyError> {
        let smtp = |source| NotifyError::Smtp {
            host: s.host.clone(),
            source,
        };
        let builder = match s.security {
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(smtp)?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(smtp)?,
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        let mut builder = builder.port(s.port).timeout(Some(SMTP_TIMEOUT));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        // The config loader already checked `from` parses.
        let from = s.from.parse().map_err(|_| {
            NotifyError::Config(ConfigErrors(vec![ConfigError {
                file: String::new(),
                line: 0,
                col: 0,
                field: "email.from".into(),
                message: format!("not a mailbox: {:?}", s.from),
            }]))
        })?;
        Ok(EmailChannel {
            transport: builder.build(),
            from,
        })
    }

    /// The mail for `m` to `to`; `key` makes the Message-ID unique per notification.
    pub fn build(
        &self,
        to: &[String],
        m: &Message,
        t: &Templates,
        key: &str,
    ) -> Result<lettre::Message, SendError> {
        let permanent = |e: &dyn std::fmt::Display| SendError::Permanent(e.to_string());
        let text = t.email_text(m).map_err(|e| permanent(&e))?;
        let html = t.email_html(m).map_err(|e| permanent(&e))?;
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .subject(m.subject.clone())
            .message_id(Some(format!("<{key}@{}>", self.from.email.domain())))
            .date_now();
        for a in to {
            let mb: Mailbox = a
                .parse()
                .map_err(|e| SendError::Permanent(format!("bad recipient {a:?}: {e}")))?;
            b = b.to(mb);
        }
        b.multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| permanent(&e))
    }

    /// Sends one mail. A 5xx reply is permanent; refused connections, timeouts and 4xx
    /// replies are worth retrying.
    pub async fn send(&self, mail: lettre::Message) -> Result<(), SendError> {
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(SendError::Permanent(format!("SMTP refused the mail: {e}")))
            }
            Err(e) => Err(SendError::Retry {
                reason: format!("SMTP: {e}"),
                after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_names_are_encoded_and_headers_are_set() {
        let ch = EmailChannel::new(&SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            security: Security::None,
            username: None,
            password: None,
            from: "Prüfstand faultline <faultline@example.org>".into(),
        })
        .unwrap();
        let t = Templates::load(None).unwrap();
        let r = crate::notify::templates::sample_report("caisse-sous-stress-é");
        let m = Message::new(r, None, None);
        let mail = ch
            .build(
                &["Équipe SRE <sre@example.org>".into()],
                &m,
                &t,
                "faultline.r1.1",
            )
            .unwrap();
        let raw = String::from_utf8(mail.formatted()).unwrap();
        let head = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(head.is_ascii(), "headers must be 7-bit: {head}");
        assert!(
            head.contains("Message-ID: <faultline.r1.1@example.org>"),
            "{head}"
        );
        assert!(head.contains("Date: "), "{head}");
        assert!(
            head.contains("=?utf-8?"),
            "encoded words for the names: {head}"
        );
        assert!(raw.contains("multipart/alternative"));
    }
}
