//! Outgoing mail: to the outbox in MOCK mode, to SMTP (`SMTP_URL`) in LIVE mode. In
//! development mode (`basalt serve --dev`) a MOCK mail is also printed on stderr, its subject
//! and links, so a newcomer can follow a verification link without an admin token.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::header::ContentType,
};

use crate::{
    datamode::{DataMode, VendorState},
    error::ApiError,
    outbox::Outbox,
};

#[derive(Clone)]
pub struct Mailer {
    outbox: Outbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
    mode: DataMode,
    /// The product whose MOCK mails are echoed on stderr (development mode).
    echo: Option<&'static str>,
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtp://user:pass@host:587?tls=required`, `smtps://…`,
    /// or `smtp://127.0.0.1:2525` for a local relay without TLS.
    pub fn new(
        outbox: Outbox,
        smtp_url: Option<&str>,
        from: &str,
        mode: DataMode,
    ) -> anyhow::Result<Self> {
        let smtp = smtp_url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|b| b.timeout(Some(Duration::from_secs(15))).build())
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not a valid SMTP URL: {e}"))
            })
            .transpose()?;
        Ok(Self {
            outbox,
            smtp,
            from: from.to_owned(),
            mode,
            echo: None,
        })
    }

    /// Development mode: every mail that goes to the outbox is also printed on stderr (its
    /// recipient, subject and links), labelled with `product`.
    pub fn echo_to_console(mut self, product: &'static str) -> Self {
        self.echo = Some(product);
        self
    }

    pub fn state(&self) -> VendorState {
        VendorState::of(&self.mode, self.smtp.is_some())
    }

    /// Fails fast, before any work, when LIVE mode has no SMTP configured.
    pub fn ensure_ready(&self) -> Result<(), ApiError> {
        match self.state() {
            VendorState::Unconfigured => Err(ApiError::unavailable(
                "email is not configured: set SMTP_URL or switch DATA_MODE to MOCK",
            )),
            _ => Ok(()),
        }
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), ApiError> {
        self.ensure_ready()?;
        match (&self.smtp, self.mode.is_live()) {
            (Some(smtp), true) => {
                let msg = Message::builder()
                    .from(
                        self.from
                            .parse()
                            .map_err(|e| ApiError::internal(format!("mail from: {e}")))?,
                    )
                    .to(to
                        .parse()
                        .map_err(|_| ApiError::invalid("not a valid email address"))?)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_owned())
                    .map_err(|e| ApiError::internal(format!("building mail: {e}")))?;
                smtp.send(msg).await.map(|_| ()).map_err(|e| {
                    tracing::error!(error = %e, "smtp delivery failed");
                    ApiError::unavailable("email could not be delivered; try again later")
                })
            }
            _ => {
                self.outbox
                    .record("email", to, Some(subject), body, None)
                    .await?;
                if let Some(product) = self.echo {
                    eprint!("{}", console_echo(product, to, subject, body));
                }
                Ok(())
            }
        }
    }
}

/// What development mode prints for a mail: who it is to, its subject, and each link in it on
/// its own line (the body's other text stays in the outbox).
fn console_echo(product: &str, to: &str, subject: &str, body: &str) -> String {
    let mut out = format!("[{product} mail] to {to}: {subject}\n");
    for link in body
        .split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
    {
        out.push_str(&format!("    {link}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_console_echo_lists_every_link_of_the_mail() {
        let echo = super::console_echo(
            "leadgen",
            "kim@example.com",
            "Confirm your LeadGen email",
            "Confirm:\n\nhttp://127.0.0.1:3200/verify-email?token=abc\n\nOr use this code: abc\n\
             Or reset: https://app.example/reset-password?token=def",
        );
        assert_eq!(
            echo,
            "[leadgen mail] to kim@example.com: Confirm your LeadGen email\n    \
             http://127.0.0.1:3200/verify-email?token=abc\n    \
             https://app.example/reset-password?token=def\n"
        );
    }
}
