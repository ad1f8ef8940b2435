//! Slack: crisis posts to a channel through an incoming webhook (`SLACK_WEBHOOK_URL`).
//! `LiveSlack` posts to the webhook; `MockSlack` records to the outbox (channel `slack`);
//! `Slack` picks one from the data mode on every call.

use async_trait::async_trait;
use platform::{
    datamode::DataMode,
    outbox::Outbox,
    secrets::Secret,
    settings::ProductSettings,
    vendor::{VendorClient, VendorEntry, VendorError, VendorPolicy, VendorSettings},
};
use serde::Serialize;
use serde_json::Value;

pub const VENDOR: &str = "Slack";
pub const WEBHOOK_SETTING: &str = "SLACK_WEBHOOK_URL";
/// The outbox recipient of MOCK posts: the webhook decides the channel, not us.
pub const MOCK_RECIPIENT: &str = "incoming-webhook";

/// Posts to the crisis channel: `Slack` (mode-selected), `LiveSlack` or `MockSlack`.
#[async_trait]
pub trait Chat: Send + Sync + 'static {
    /// Posts `text` (Slack mrkdwn; the notification fallback when `blocks` are given) and
    /// optional Block Kit `blocks` (a JSON array).
    async fn post(&self, text: &str, blocks: Option<&Value>) -> Result<(), VendorError>;
}

/// Slack's settings: the webhook URL, a credential in itself (it never prints).
#[derive(Clone, Debug, Default)]
pub struct SlackConfig {
    pub webhook_url: Option<Secret>,
}

impl SlackConfig {
    /// Fails when `SLACK_WEBHOOK_URL` is set but is not an http(s) URL.
    pub fn from_settings(v: &VendorSettings) -> anyhow::Result<Self> {
        let webhook_url = v.url(WEBHOOK_SETTING)?.map(Secret::new);
        Ok(Self { webhook_url })
    }

    pub fn missing(&self) -> Option<&'static str> {
        self.webhook_url.is_none().then_some(WEBHOOK_SETTING)
    }
}

/// What Slack refuses, checked in both modes (its `no_text` error).
fn check_post(text: &str, blocks: Option<&Value>) -> Result<(), VendorError> {
    let has_blocks = blocks.is_some_and(|b| b.as_array().is_some_and(|a| !a.is_empty()));
    if text.trim().is_empty() && !has_blocks {
        return Err(VendorError::Rejected {
            vendor: VENDOR,
            status: 400,
            message: "no_text".into(),
        });
    }
    if blocks.is_some_and(|b| !b.is_array()) {
        return Err(VendorError::Rejected {
            vendor: VENDOR,
            status: 400,
            message: "invalid_blocks".into(),
        });
    }
    Ok(())
}

#[derive(Serialize)]
struct WebhookMessage<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<&'a Value>,
}

/// `POST SLACK_WEBHOOK_URL` with `{ text, blocks? }`; Slack answers 200 `ok`, or a 4xx with
/// a plain-text error code (`invalid_payload`, `channel_is_archived`, ...). Sent once: a
/// repeated post after a timeout would show twice.
#[derive(Clone, Debug)]
pub struct LiveSlack {
    config: SlackConfig,
    client: VendorClient,
}

impl LiveSlack {
    pub fn new(config: SlackConfig, client: VendorClient) -> Self {
        Self { config, client }
    }

    pub fn client(&self) -> &VendorClient {
        &self.client
    }
}

#[async_trait]
impl Chat for LiveSlack {
    async fn post(&self, text: &str, blocks: Option<&Value>) -> Result<(), VendorError> {
        let url = self
            .config
            .webhook_url
            .as_ref()
            .ok_or(VendorError::Unconfigured {
                vendor: VENDOR,
                setting: WEBHOOK_SETTING,
            })?;
        check_post(text, blocks)?;
        let msg = WebhookMessage { text, blocks };
        let res = self
            .client
            .send_once(|http| http.post(url.expose()).json(&msg))
            .await?;
        if !res.status().is_success() {
            return Err(self
                .client
                .rejected(res, |body| Some(body.trim().to_owned()))
                .await);
        }
        Ok(())
    }
}

/// MOCK: each post lands in the outbox, channel `slack`, recipient `incoming-webhook`,
/// with the blocks in the metadata.
#[derive(Clone)]
pub struct MockSlack {
    outbox: Outbox,
}

impl MockSlack {
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }
}

#[async_trait]
impl Chat for MockSlack {
    async fn post(&self, text: &str, blocks: Option<&Value>) -> Result<(), VendorError> {
        check_post(text, blocks)?;
        let metadata = blocks.map(|b| serde_json::json!({ "blocks": b }));
        self.outbox
            .record("slack", MOCK_RECIPIENT, None, text, metadata)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "outbox: recording a mock Slack post failed");
                VendorError::Unavailable {
                    vendor: VENDOR,
                    message: "the outbox could not record the post".into(),
                    retry_after: None,
                }
            })?;
        Ok(())
    }
}

/// Live or Mock, chosen from the data mode on every call.
#[derive(Clone)]
pub struct Slack {
    live: LiveSlack,
    mock: MockSlack,
    mode: DataMode,
}

impl Slack {
    pub fn new(live: LiveSlack, mock: MockSlack, mode: DataMode) -> Self {
        Self { live, mock, mode }
    }

    /// From `settings.vendors`, with the default timeouts, retries and breaker.
    pub fn from_settings(
        settings: &ProductSettings,
        outbox: Outbox,
        mode: DataMode,
    ) -> anyhow::Result<Self> {
        let config = SlackConfig::from_settings(&settings.vendors)?;
        let client = VendorClient::new(VENDOR, VendorPolicy::default())?;
        Ok(Self::new(
            LiveSlack::new(config, client),
            MockSlack::new(outbox),
            mode,
        ))
    }

    /// `slack` for the status endpoints.
    pub fn vendor(&self) -> VendorEntry {
        VendorEntry::new(
            "slack",
            self.live.config.missing(),
            Some(self.live.client.breaker().clone()),
        )
    }
}

#[async_trait]
impl Chat for Slack {
    async fn post(&self, text: &str, blocks: Option<&Value>) -> Result<(), VendorError> {
        if self.mode.is_live() {
            self.live.post(text, blocks).await
        } else {
            self.mock.post(text, blocks).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_needs_text_or_blocks_and_blocks_are_an_array() {
        assert!(check_post("hi", None).is_ok());
        let blocks = serde_json::json!([{ "type": "section" }]);
        assert!(check_post("", Some(&blocks)).is_ok());
        assert!(check_post(" ", None).is_err());
        assert!(check_post("hi", Some(&serde_json::json!({}))).is_err());
    }

    #[test]
    fn the_webhook_url_is_a_secret_and_must_be_a_url() {
        let v = VendorSettings::default().with(WEBHOOK_SETTING, "https://hooks.slack.test/T/B/xyz");
        let c = SlackConfig::from_settings(&v).unwrap();
        assert!(c.missing().is_none());
        assert!(!format!("{c:?}").contains("xyz"));
        let bad = VendorSettings::default().with(WEBHOOK_SETTING, "hooks.slack.test/xyz");
        let err = SlackConfig::from_settings(&bad).unwrap_err().to_string();
        assert!(
            err.contains(WEBHOOK_SETTING) && !err.contains("xyz"),
            "{err}"
        );
        assert_eq!(SlackConfig::default().missing(), Some("SLACK_WEBHOOK_URL"));
    }
}
