//! War Room's vendor adapters: one trait per vendor, a Live implementation on the vendor's
//! documented HTTP API and a Mock one (deterministic data, messages to the outbox). The data
//! mode switch picks between them on every call.

pub mod mentionlytics;
pub mod slack;
pub mod twilio;

use platform::{core::Core, settings::ProductSettings, vendor::VendorRegistry};

use self::{
    mentionlytics::{
        live::{LiveMentionlytics, Mentionlytics},
        mock::{MockConfig, MockMentionlytics},
    },
    slack::Slack,
    twilio::Twilio,
};

/// War Room's vendors, each switching between Live and Mock with the data mode, and the
/// registry the status endpoints read.
pub struct Vendors {
    pub mentionlytics: Mentionlytics<MockMentionlytics>,
    pub twilio: Twilio,
    pub slack: Slack,
    pub registry: VendorRegistry,
}

impl Vendors {
    pub fn build(settings: &ProductSettings, core: &Core) -> anyhow::Result<Self> {
        let live = LiveMentionlytics::from_settings(settings)?;
        let mock = MockMentionlytics::new(mock_config(settings)?);
        let mentionlytics = Mentionlytics::new(live, mock, core.data_mode.clone());
        let twilio = Twilio::from_settings(settings, core.outbox.clone(), core.data_mode.clone())?;
        let slack = Slack::from_settings(settings, core.outbox.clone(), core.data_mode.clone())?;
        let registry = VendorRegistry::new(core.data_mode.clone())
            .with([mentionlytics.live().vendor()])
            .with(twilio.vendors())
            .with([slack.vendor()]);
        Ok(Self {
            mentionlytics,
            twilio,
            slack,
            registry,
        })
    }
}

/// The mock stream's shape: `MOCK_MENTIONS_PER_MINUTE` (per monitoring config, default 6),
/// `MOCK_BURST_EVERY_SECS` (default 1200; 0 turns crisis bursts off) and
/// `MOCK_BURST_LENGTH_SECS` (default 180).
fn mock_config(settings: &ProductSettings) -> anyhow::Result<MockConfig> {
    let mut config = MockConfig::default();
    let number = |name: &str| -> anyhow::Result<Option<f64>> {
        settings
            .vendors
            .text(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| anyhow::anyhow!("{name} must be a non-negative number"))
            })
            .transpose()
    };
    if let Some(rate) = number("MOCK_MENTIONS_PER_MINUTE")? {
        config.mentions_per_minute = rate;
    }
    if let Some(secs) = number("MOCK_BURST_EVERY_SECS")? {
        config.burst_every = std::time::Duration::from_secs_f64(secs);
    }
    if let Some(secs) = number("MOCK_BURST_LENGTH_SECS")? {
        config.burst_length = std::time::Duration::from_secs_f64(secs);
    }
    Ok(config)
}
