//! Vendor settings: credentials, sender numbers and base-URL overrides under the names the
//! seeds use (`TWILIO_SID`, `MENTIONLYTICS_TOKEN`, ...), from `basalt.toml` and the environment.

use std::collections::BTreeMap;

use crate::secrets::Secret;

/// The names the server reads from the environment (the file's `[vendors]` tables take any
/// name). An adapter that reads a new setting adds its name here.
pub const VENDOR_SETTINGS: &[&str] = &[
    "MENTIONLYTICS_TOKEN",
    "MENTIONLYTICS_BASE_URL",
    "TWILIO_SID",
    "TWILIO_TOKEN",
    "TWILIO_SMS_FROM",
    "TWILIO_WHATSAPP_FROM",
    "TWILIO_BASE_URL",
    "TWILIO_STATUS_CALLBACK_URL",
    "SLACK_WEBHOOK_URL",
    "META_ACCESS_TOKEN",
    "GOOGLE_ADS_TOKEN",
    "MOCK_MENTIONS_PER_MINUTE",
    "MOCK_BURST_EVERY_SECS",
    "MOCK_BURST_LENGTH_SECS",
    "ALERT_DELIVERY_MAX_ATTEMPTS",
    "ALERT_DELIVERY_RETRY_BASE_MS",
    "ALERT_DELIVERY_RETRY_MAX_MS",
];

/// Name → value. Every value is kept as a `Secret` (so `Debug` never prints one); `text` is
/// the getter for settings that are not secret (URLs, sender numbers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorSettings(BTreeMap<String, Secret>);

impl VendorSettings {
    /// Sets `name` (upper-cased) to `value`; an empty value removes it.
    pub fn set(&mut self, name: &str, value: Secret) {
        let name = name.trim().to_ascii_uppercase();
        if value.expose().trim().is_empty() {
            self.0.remove(&name);
        } else {
            self.0.insert(name, Secret::new(value.expose().trim()));
        }
    }

    /// `set`, for tests and code: `settings.vendors.with("TWILIO_SID", "AC…")`.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set(name, Secret::new(value));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(&name.to_ascii_uppercase())
    }

    /// A setting that is not secret (a base URL, a sender number).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(Secret::expose)
    }

    /// A setting that must be an http(s) URL when set (a base URL, a webhook). The error
    /// names the setting, never its value (a webhook URL is a credential).
    pub fn url(&self, name: &str) -> anyhow::Result<Option<&str>> {
        let Some(raw) = self.text(name) else {
            return Ok(None);
        };
        match url::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(Some(raw)),
            _ => anyhow::bail!("{} must be an http(s) URL", name.to_ascii_uppercase()),
        }
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names that are set (no values), for a console page.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_empty_values_unset_and_values_never_print() {
        let mut v = VendorSettings::default().with("twilio_token", "s3cr3t-token");
        assert_eq!(
            v.get("TWILIO_TOKEN").map(Secret::expose),
            Some("s3cr3t-token")
        );
        assert!(!format!("{v:?}").contains("s3cr3t"));
        v.set("TWILIO_TOKEN", Secret::new("  "));
        assert!(!v.is_set("TWILIO_TOKEN"));
    }

    #[test]
    fn a_url_setting_must_be_http_and_its_error_hides_the_value() {
        let v = VendorSettings::default()
            .with("A_URL", "https://api.example.test/v1")
            .with("B_URL", "hooks.example.test/T/secret");
        assert_eq!(v.url("A_URL").unwrap(), Some("https://api.example.test/v1"));
        assert_eq!(v.url("C_URL").unwrap(), None);
        let err = v.url("B_URL").unwrap_err().to_string();
        assert_eq!(err, "B_URL must be an http(s) URL");
    }
}
