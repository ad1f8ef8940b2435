//! Readers of the outbox, where MOCK mode records every mail: what a recipient got, waiting
//! for mail sent after the response, and the link token inside it.

use std::time::Duration;

use platform::core::HasCore;

use crate::server::TestServer;
use platform::validate::{Page, Paging};

/// One recorded message: `(subject, body)`.
pub type Mail = (String, String);

/// How often the waiting readers look again.
const POLL: Duration = Duration::from_millis(20);

impl<C: HasCore> TestServer<C> {
    /// The outbox for `recipient` as it is now, newest first.
    pub async fn mails_now(&self, recipient: &str) -> Vec<Mail> {
        let Page { items: msgs, .. } = self
            .ctx
            .core()
            .outbox
            .page(Paging::new(1, 1000))
            .await
            .unwrap();
        msgs.into_iter()
            .filter(|m| m.recipient == recipient)
            .map(|m| (m.subject.unwrap_or_default(), m.body))
            .collect()
    }

    /// Messages for `recipient`, newest first, waiting up to 1 s for the first to land (mail
    /// such as a password reset is sent after the response).
    pub async fn mails_to(&self, recipient: &str) -> Vec<Mail> {
        for _ in 0..50 {
            let found = self.mails_now(recipient).await;
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(POLL).await;
        }
        Vec::new()
    }

    /// Waits (up to 5 s) until at least `n` mails to `recipient` are in the outbox; mail sent
    /// after the response may land a little later.
    pub async fn wait_for_mails(&self, recipient: &str, n: usize) -> Vec<Mail> {
        for _ in 0..250 {
            let mails = self.mails_now(recipient).await;
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(POLL).await;
        }
        self.mails_now(recipient).await
    }

    /// Gives detached work (resend, reset) time to run, then returns the outbox for
    /// `recipient`: for asserting that nothing was sent.
    pub async fn settled_mails(&self, recipient: &str) -> Vec<Mail> {
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.mails_now(recipient).await
    }

    /// The `token=` value of the newest mail to `recipient` whose subject contains `subject`.
    pub async fn token_from_mail(&self, recipient: &str, subject: &str) -> String {
        let mails = self.mails_to(recipient).await;
        let (_, body) = mails
            .iter()
            .find(|(s, _)| s.contains(subject))
            .unwrap_or_else(|| panic!("no {subject:?} mail to {recipient}: {mails:?}"));
        extract_param(body, "token").expect("token in mail")
    }
}

/// The value of `name=` in the first URL of `text`.
pub fn extract_param(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("{name}="))? + name.len() + 1;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c == '&' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// An address no other test run has used (Redis keys outlive a run).
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::extract_param;

    #[test]
    fn extract_param_stops_at_the_next_parameter_or_white_space() {
        let text = "Open http://app.test/reset?token=abc123&x=1 now\nor token=zz";
        assert_eq!(extract_param(text, "token").as_deref(), Some("abc123"));
        assert_eq!(extract_param(text, "x").as_deref(), Some("1"));
        assert_eq!(extract_param(text, "missing"), None);
    }
}
