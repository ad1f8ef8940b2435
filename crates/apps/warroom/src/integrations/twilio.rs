//! Twilio: SMS and WhatsApp messages (seed 001 `sendSMSAlert`). `LiveTwilio` posts to the
//! Messages API; `MockTwilio` records to the outbox; `Twilio` picks one from the data mode on
//! every call. `valid_twilio_signature` checks a status callback's `X-Twilio-Signature`.

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use platform::{
    datamode::DataMode,
    outbox::Outbox,
    secrets::Secret,
    settings::ProductSettings,
    vendor::{VendorClient, VendorEntry, VendorError, VendorPolicy, VendorSettings},
};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use utoipa::ToSchema;

pub const VENDOR: &str = "Twilio";
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio's longest message body (error 21617 past it).
const MAX_BODY_CHARS: usize = 1600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Whatsapp,
}

impl Channel {
    /// The outbox channel, and the status entry's suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
        }
    }

    /// The setting naming this channel's sender.
    pub fn from_setting(self) -> &'static str {
        match self {
            Self::Sms => "TWILIO_SMS_FROM",
            Self::Whatsapp => "TWILIO_WHATSAPP_FROM",
        }
    }

    /// Twilio's address form: `+E164` for SMS, `whatsapp:+E164` for WhatsApp (given either way).
    fn address(self, number: &str) -> String {
        let number = number.trim();
        let bare = number.strip_prefix("whatsapp:").unwrap_or(number);
        match self {
            Self::Sms => bare.to_owned(),
            Self::Whatsapp => format!("whatsapp:{bare}"),
        }
    }
}

/// A message Twilio accepted: its `sid` (`SM…`) and first `status` (`queued`, `accepted`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub sid: String,
    pub status: String,
    pub channel: Channel,
}

/// Sends SMS and WhatsApp messages: `Twilio` (mode-selected), `LiveTwilio` or `MockTwilio`.
#[async_trait]
pub trait Messaging: Send + Sync + 'static {
    /// Sends `body` to `to` (E.164, `+15551234567`; WhatsApp also takes `whatsapp:+1…`).
    async fn send(
        &self,
        channel: Channel,
        to: &str,
        body: &str,
    ) -> Result<SentMessage, VendorError>;

    async fn send_sms(&self, to: &str, body: &str) -> Result<SentMessage, VendorError> {
        self.send(Channel::Sms, to, body).await
    }

    async fn send_whatsapp(&self, to: &str, body: &str) -> Result<SentMessage, VendorError> {
        self.send(Channel::Whatsapp, to, body).await
    }
}

/// Twilio's settings: `TWILIO_SID`, `TWILIO_TOKEN`, `TWILIO_SMS_FROM`, `TWILIO_WHATSAPP_FROM`,
/// `TWILIO_STATUS_CALLBACK_URL` (where Twilio posts delivery updates; unset, none are asked
/// for) and `TWILIO_BASE_URL` (tests, proxies).
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub base_url: String,
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    pub sms_from: Option<String>,
    pub whatsapp_from: Option<String>,
    pub status_callback: Option<String>,
}

impl TwilioConfig {
    /// Fails on a base or callback URL that is not an http(s) URL, so a typo stops the start.
    pub fn from_settings(v: &VendorSettings) -> anyhow::Result<Self> {
        let base_url = v.url("TWILIO_BASE_URL")?.unwrap_or(DEFAULT_BASE_URL);
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid: v.text("TWILIO_SID").map(str::to_owned),
            auth_token: v.get("TWILIO_TOKEN").cloned(),
            sms_from: v.text("TWILIO_SMS_FROM").map(str::to_owned),
            whatsapp_from: v.text("TWILIO_WHATSAPP_FROM").map(str::to_owned),
            status_callback: v.url("TWILIO_STATUS_CALLBACK_URL")?.map(str::to_owned),
        })
    }

    /// The first setting `channel` lacks, if any.
    pub fn missing(&self, channel: Channel) -> Option<&'static str> {
        self.credentials(channel).err()
    }

    /// Account sid, auth token and `channel`'s sender, or the first setting missing.
    fn credentials(&self, channel: Channel) -> Result<(&str, &Secret, &str), &'static str> {
        Ok((
            self.account_sid.as_deref().ok_or("TWILIO_SID")?,
            self.auth_token.as_ref().ok_or("TWILIO_TOKEN")?,
            self.from(channel).ok_or(channel.from_setting())?,
        ))
    }

    fn from(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Sms => self.sms_from.as_deref(),
            Channel::Whatsapp => self.whatsapp_from.as_deref(),
        }
    }
}

/// What Twilio itself refuses, checked first in both modes so MOCK answers as LIVE would.
fn check_message(to: &str, body: &str) -> Result<(), VendorError> {
    let refuse = |message: String| VendorError::Rejected {
        vendor: VENDOR,
        status: 400,
        message,
    };
    let bare = to.trim().strip_prefix("whatsapp:").unwrap_or(to.trim());
    if !platform::phone::is_e164(bare) {
        return Err(refuse(format!(
            "The 'To' number {bare} is not a valid phone number (E.164, e.g. +15551234567)."
        )));
    }
    if body.trim().is_empty() {
        return Err(refuse("Message body is required.".into()));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(refuse(format!(
            "The message body exceeds the {MAX_BODY_CHARS} character limit."
        )));
    }
    Ok(())
}

/// Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, HTTP Basic
/// `sid:token`, form `To`, `From`, `Body` (and `StatusCallback`). Sent once: a message is not
/// retried after a timeout or a 500, which could deliver it twice.
#[derive(Clone, Debug)]
pub struct LiveTwilio {
    config: TwilioConfig,
    client: VendorClient,
}

/// Twilio's answer to a created message.
#[derive(Deserialize)]
struct MessageResource {
    sid: String,
    status: String,
}

/// Twilio's error body: `{ code, message, more_info, status }`.
#[derive(Deserialize)]
struct TwilioErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

fn twilio_error_message(body: &str) -> Option<String> {
    let e: TwilioErrorBody = serde_json::from_str(body).ok()?;
    let message = e.message?;
    Some(match e.code {
        Some(code) => format!("{message} (Twilio error {code})"),
        None => message,
    })
}

impl LiveTwilio {
    pub fn new(config: TwilioConfig, client: VendorClient) -> Self {
        Self { config, client }
    }

    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    pub fn client(&self) -> &VendorClient {
        &self.client
    }
}

#[async_trait]
impl Messaging for LiveTwilio {
    async fn send(
        &self,
        channel: Channel,
        to: &str,
        body: &str,
    ) -> Result<SentMessage, VendorError> {
        let c = &self.config;
        let (sid, token, from) =
            c.credentials(channel)
                .map_err(|setting| VendorError::Unconfigured {
                    vendor: VENDOR,
                    setting,
                })?;
        check_message(to, body)?;
        let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", c.base_url);
        let mut form = vec![
            ("To", channel.address(to)),
            ("From", channel.address(from)),
            ("Body", body.to_owned()),
        ];
        if let Some(cb) = &c.status_callback {
            form.push(("StatusCallback", cb.clone()));
        }
        let res = self
            .client
            .send_once(|http| {
                http.post(&url)
                    .basic_auth(sid, Some(token.expose()))
                    .form(&form)
            })
            .await?;
        if !res.status().is_success() {
            return Err(self.client.rejected(res, twilio_error_message).await);
        }
        let m: MessageResource = self.client.json(res).await?;
        Ok(SentMessage {
            sid: m.sid,
            status: m.status,
            channel,
        })
    }
}

/// MOCK: each message lands in the outbox (channel `sms` or `whatsapp`, the sid, status and
/// sender in its metadata) and gets a well-formed sid, `SM` and 32 hex digits (a UUIDv7, so
/// sids sort by time), and status `queued`.
#[derive(Clone)]
pub struct MockTwilio {
    outbox: Outbox,
    config: TwilioConfig,
}

impl MockTwilio {
    /// `config` gives the sender numbers shown in the outbox, when configured.
    pub fn new(outbox: Outbox, config: TwilioConfig) -> Self {
        Self { outbox, config }
    }
}

#[async_trait]
impl Messaging for MockTwilio {
    async fn send(
        &self,
        channel: Channel,
        to: &str,
        body: &str,
    ) -> Result<SentMessage, VendorError> {
        check_message(to, body)?;
        let to = channel.address(to);
        let from = self.config.from(channel).map(|f| channel.address(f));
        let id = uuid::Uuid::now_v7();
        let sid = format!("SM{}", id.simple());
        let metadata = serde_json::json!({ "sid": sid, "status": "queued", "from": from });
        self.outbox
            .record(channel.as_str(), &to, None, body, Some(metadata))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "outbox: recording a mock message failed");
                VendorError::Unavailable {
                    vendor: VENDOR,
                    message: "the outbox could not record the message".into(),
                    retry_after: None,
                }
            })?;
        Ok(SentMessage {
            sid,
            status: "queued".into(),
            channel,
        })
    }
}

/// Live or Mock, chosen from the data mode on every call, so an admin's switch applies at
/// once. In LIVE mode a missing setting fails the call with `VendorError::Unconfigured`.
#[derive(Clone)]
pub struct Twilio {
    live: LiveTwilio,
    mock: MockTwilio,
    mode: DataMode,
}

impl Twilio {
    pub fn new(live: LiveTwilio, mock: MockTwilio, mode: DataMode) -> Self {
        Self { live, mock, mode }
    }

    /// From `settings.vendors`, with the default timeouts, retries and breaker.
    pub fn from_settings(
        settings: &ProductSettings,
        outbox: Outbox,
        mode: DataMode,
    ) -> anyhow::Result<Self> {
        let config = TwilioConfig::from_settings(&settings.vendors)?;
        let client = VendorClient::new(VENDOR, VendorPolicy::default())?;
        Ok(Self::new(
            LiveTwilio::new(config.clone(), client),
            MockTwilio::new(outbox, config),
            mode,
        ))
    }

    pub fn live(&self) -> &LiveTwilio {
        &self.live
    }

    /// The auth token status callbacks are signed with (`valid_twilio_signature`).
    pub fn auth_token(&self) -> Option<&Secret> {
        self.live.config.auth_token.as_ref()
    }

    /// `twilio_sms` and `twilio_whatsapp` for the status endpoints; they share one breaker.
    pub fn vendors(&self) -> [VendorEntry; 2] {
        [Channel::Sms, Channel::Whatsapp].map(|ch| {
            VendorEntry::new(
                match ch {
                    Channel::Sms => "twilio_sms",
                    Channel::Whatsapp => "twilio_whatsapp",
                },
                self.live.config.missing(ch),
                Some(self.live.client.breaker().clone()),
            )
        })
    }
}

#[async_trait]
impl Messaging for Twilio {
    async fn send(
        &self,
        channel: Channel,
        to: &str,
        body: &str,
    ) -> Result<SentMessage, VendorError> {
        if self.mode.is_live() {
            self.live.send(channel, to, body).await
        } else {
            self.mock.send(channel, to, body).await
        }
    }
}

type HmacSha1 = Hmac<Sha1>;

/// True when `signature_header` (`X-Twilio-Signature`) signs this status callback, by
/// Twilio's algorithm: base64 of HMAC-SHA1, keyed with the auth token, over the full URL
/// Twilio requested (query string included) followed by each POST parameter's name and
/// value, sorted by name. The URL is also tried with and without its default port, as
/// Twilio's own validators do (a proxy may add or drop it). Compared in constant time.
pub fn valid_twilio_signature(
    auth_token: &str,
    full_url: &str,
    form_params: &[(String, String)],
    signature_header: &str,
) -> bool {
    let Ok(expected) = STANDARD.decode(signature_header.trim()) else {
        return false;
    };
    let mut params: Vec<&(String, String)> = form_params.iter().collect();
    params.sort();
    url_variants(full_url).iter().any(|url| {
        let Ok(mut mac) = HmacSha1::new_from_slice(auth_token.as_bytes()) else {
            return false;
        };
        mac.update(url.as_bytes());
        for (name, value) in &params {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        mac.verify_slice(&expected).is_ok()
    })
}

/// `url` as given, then without its port (when it names one) or with the scheme's default
/// port (when it does not).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rfind(':') {
        Some(i) => out.push(format!("{scheme}://{}{tail}", &authority[..host_end + i])),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            out.push(format!("{scheme}://{authority}:{port}{tail}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's documented example, with the signature computed independently by Python's
    /// `hmac` (`base64(hmac.new(b"12345", url + sorted name+value, sha1))`).
    const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const DOC_SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    fn doc_params() -> Vec<(String, String)> {
        // Deliberately not in sorted order.
        params(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
        ])
    }

    #[test]
    fn twilios_documented_example_validates() {
        assert!(valid_twilio_signature(
            "12345",
            DOC_URL,
            &doc_params(),
            DOC_SIGNATURE
        ));
    }

    #[test]
    fn a_wrong_token_a_changed_parameter_or_a_changed_url_fails() {
        assert!(!valid_twilio_signature(
            "54321",
            DOC_URL,
            &doc_params(),
            DOC_SIGNATURE
        ));
        let mut tampered = doc_params();
        tampered[0].1 = "+18005550000".into();
        assert!(!valid_twilio_signature(
            "12345",
            DOC_URL,
            &tampered,
            DOC_SIGNATURE
        ));
        assert!(!valid_twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &doc_params(),
            DOC_SIGNATURE
        ));
        assert!(!valid_twilio_signature(
            "12345",
            DOC_URL,
            &doc_params(),
            "not base64!"
        ));
        assert!(!valid_twilio_signature("12345", DOC_URL, &doc_params(), ""));
    }

    #[test]
    fn the_url_may_carry_or_drop_its_default_port() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(valid_twilio_signature(
            "12345",
            with_port,
            &doc_params(),
            DOC_SIGNATURE
        ));
        assert_eq!(
            url_variants("http://[::1]/cb"),
            ["http://[::1]/cb", "http://[::1]:80/cb"]
        );
        assert_eq!(
            url_variants("https://h.test:8443/cb?x=1"),
            ["https://h.test:8443/cb?x=1", "https://h.test/cb?x=1"]
        );
    }

    #[test]
    fn numbers_must_be_e164_and_bodies_non_empty_and_short() {
        assert!(check_message("+15551234567", "hi").is_ok());
        assert!(check_message("whatsapp:+15551234567", "hi").is_ok());
        for bad in ["5551234567", "+1555-123", "+0123456789", "", "+1"] {
            assert!(
                matches!(
                    check_message(bad, "hi"),
                    Err(VendorError::Rejected { status: 400, .. })
                ),
                "{bad}"
            );
        }
        assert!(check_message("+15551234567", "  ").is_err());
        assert!(check_message("+15551234567", &"x".repeat(1601)).is_err());
    }

    #[test]
    fn whatsapp_addresses_get_the_prefix_once() {
        assert_eq!(
            Channel::Whatsapp.address("+15551234567"),
            "whatsapp:+15551234567"
        );
        assert_eq!(
            Channel::Whatsapp.address("whatsapp:+15551234567"),
            "whatsapp:+15551234567"
        );
        assert_eq!(Channel::Sms.address(" +15551234567 "), "+15551234567");
    }

    #[test]
    fn the_first_missing_setting_is_named() {
        let v = VendorSettings::default().with("TWILIO_SID", "AC1");
        let c = TwilioConfig::from_settings(&v).unwrap();
        assert_eq!(c.missing(Channel::Sms), Some("TWILIO_TOKEN"));
        let c = TwilioConfig::from_settings(&v.clone().with("TWILIO_TOKEN", "t")).unwrap();
        assert_eq!(c.missing(Channel::Sms), Some("TWILIO_SMS_FROM"));
        assert_eq!(c.missing(Channel::Whatsapp), Some("TWILIO_WHATSAPP_FROM"));
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        let bad = VendorSettings::default().with("TWILIO_BASE_URL", "api.twilio.com");
        assert!(TwilioConfig::from_settings(&bad).is_err());
    }
}
