//! The requests of `/notifications/*`, `/settings/notifications` and
//! `/campaigns/{id}/crisis-contacts`, and their checks: a direct message, a change of
//! preferences, a campaign's crisis contacts. `TryFrom`/`From` turn each into the domain's
//! input; the preferences as a whole are checked once the change is applied
//! (`NotificationPreferences::check`).

use platform::{
    ApiError,
    phone::is_e164,
    validate::{Problems, present},
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{
    alerts::{ChannelType, Severity},
    notifications::{
        CONTACTS_MAX, ChannelsChange, CrisisContact, CrisisContacts, DirectMessage, E164_RULE,
        PreferencesChange, QuietHours, is_message,
    },
};

// Seed 001 `sendSMSAlert`'s body.
/// One message to one phone number (`/integrations/sms`, `/notifications/sms`,
/// `/notifications/whatsapp`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"to": "+14155550123", "message": "Crisis room: join the call now."}))]
pub struct SendMessageRequest {
    /// E.164, e.g. `+14155550100`.
    pub to: String,
    /// 1 to 1600 characters.
    pub message: String,
}

impl TryFrom<SendMessageRequest> for DirectMessage {
    type Error = ApiError;

    fn try_from(req: SendMessageRequest) -> Result<Self, ApiError> {
        let to = req.to.trim();
        let mut p = Problems::new();
        p.require(is_e164(to), "to", E164_RULE);
        p.require(
            is_message(&req.message),
            "message",
            "must be 1 to 1600 characters, not blank",
        );
        p.or_value(Self {
            to: to.to_owned(),
            message: req.message,
        })
    }
}

/// The channels of a preferences change; absent ones stay as they are (`PATCH`) or off (`PUT`).
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChannelsUpdate)]
pub struct ChannelsRequest {
    pub sms: Option<bool>,
    pub whatsapp: Option<bool>,
    pub email: Option<bool>,
    pub slack: Option<bool>,
    pub push: Option<bool>,
}

/// The body of `PUT`/`PATCH /notifications/preferences` and `PATCH /settings/notifications`.
/// `PUT` replaces: an absent field takes its default. `PATCH` merges: an absent field stays,
/// `null` clears `phone`, `quietHours` and `campaigns`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = PreferencesUpdate)]
#[schema(example = json!({"minSeverity": "HIGH", "phone": "+14155550123"}))]
pub struct PreferencesRequest {
    pub channels: Option<ChannelsRequest>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub phone: Option<Option<String>>,
    pub min_severity: Option<Severity>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<QuietHours>, nullable)]
    pub quiet_hours: Option<Option<QuietHours>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Uuid>>, nullable)]
    pub campaigns: Option<Option<Vec<Uuid>>>,
}

impl From<PreferencesRequest> for PreferencesChange {
    fn from(req: PreferencesRequest) -> Self {
        Self {
            channels: req.channels.map(|c| ChannelsChange {
                sms: c.sms,
                whatsapp: c.whatsapp,
                email: c.email,
                slack: c.slack,
                push: c.push,
            }),
            phone: req.phone,
            min_severity: req.min_severity,
            quiet_hours: req.quiet_hours,
            campaigns: req.campaigns,
        }
    }
}

/// `PUT /campaigns/{id}/crisis-contacts`: the whole list, in order.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contacts": [{"name": "Dana Cruz", "channels": ["SMS", "EMAIL"], "phone": "+14155550123", "email": "dana@example.com"}]}))]
pub struct CrisisContactsRequest {
    pub contacts: Vec<CrisisContact>,
}

/// A loose check: one `@`, something before it, a dotted domain after it, no blanks or list
/// separators. Whether mail arrives is the mailer's to find out.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && !domain.contains('@')
}

/// Trimmed, blank as absent.
fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// One contact, trimmed and its channels once each; what is wrong recorded under `at`.
fn contact(mut c: CrisisContact, at: &str, p: &mut Problems) -> CrisisContact {
    c.name = c.name.trim().to_owned();
    c.phone = trimmed(c.phone);
    c.email = trimmed(c.email);
    let mut seen = std::collections::HashSet::new();
    c.channels.retain(|ch| seen.insert(*ch));
    p.require(
        !c.name.is_empty() && c.name.chars().count() <= 100,
        format!("{at}.name"),
        "must be 1 to 100 characters, not blank",
    );
    p.require(
        c.phone.as_deref().is_none_or(is_e164),
        format!("{at}.phone"),
        E164_RULE,
    );
    p.require(
        c.email.as_deref().is_none_or(is_email),
        format!("{at}.email"),
        "must be an email address",
    );
    p.require(
        !c.channels.is_empty(),
        format!("{at}.channels"),
        "must name at least one channel",
    );
    for (j, ch) in c.channels.iter().enumerate() {
        match ch {
            ChannelType::Sms | ChannelType::Whatsapp if c.phone.is_none() => {
                p.push(
                    format!("{at}.phone"),
                    format!("is required for {}", ch.as_str()),
                );
            }
            ChannelType::Email if c.email.is_none() => {
                p.push(format!("{at}.email"), "is required for EMAIL");
            }
            ChannelType::Slack | ChannelType::Push => {
                p.push(
                    format!("{at}.channels[{j}]"),
                    "must be SMS, WHATSAPP or EMAIL",
                );
            }
            _ => {}
        }
    }
    c
}

impl TryFrom<CrisisContactsRequest> for CrisisContacts {
    type Error = ApiError;

    fn try_from(req: CrisisContactsRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        p.require(
            req.contacts.len() <= CONTACTS_MAX,
            "contacts",
            format!("must have at most {CONTACTS_MAX} contacts"),
        );
        let contacts = req
            .contacts
            .into_iter()
            .enumerate()
            .map(|(i, c)| contact(c, &format!("contacts[{i}]"), &mut p))
            .collect();
        p.or_value(Self { contacts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked_loosely() {
        assert!(is_email("press@harbor.example"));
        for bad in ["nobody", "a@b", "a@.b.c", "a b@c.d", "@c.d", "a@b.c."] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn contacts_are_trimmed_and_each_channel_needs_its_address() {
        let req: CrisisContactsRequest = serde_json::from_value(serde_json::json!({
            "contacts": [
                { "name": " Press ", "email": " press@harbor.example ", "channels": ["EMAIL", "EMAIL"] },
                { "name": "Ops", "channels": ["SMS", "SLACK"] },
            ]
        }))
        .unwrap();
        let err = CrisisContacts::try_from(req.clone()).unwrap_err();
        assert_eq!(
            err.field_names(),
            ["contacts[1].phone", "contacts[1].channels[1]"]
        );
        let mut ok = req;
        ok.contacts.truncate(1);
        let contacts = CrisisContacts::try_from(ok).unwrap().contacts;
        assert_eq!(contacts[0].name, "Press");
        assert_eq!(contacts[0].email.as_deref(), Some("press@harbor.example"));
        assert_eq!(contacts[0].channels, [ChannelType::Email]);
    }
}
