//! Who hears about an alert: users' notification preferences (channels, minimum severity,
//! quiet hours, campaigns) and the change a `PUT`/`PATCH` applies to them, each campaign's
//! crisis contacts, the recipients an alert is delivered to, and a direct message.

use chrono::{DateTime, Timelike, Utc};
use platform::validate::Problems;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::alerts::{ChannelType, Severity};

/// What every phone-number check says.
pub const E164_RULE: &str = "must be an E.164 number like +14155550100";
/// How many crisis contacts a campaign may have.
pub const CONTACTS_MAX: usize = 50;
/// How many campaigns a user's preferences may name.
pub const FOLLOWED_CAMPAIGNS_MAX: usize = 100;
/// The longest SMS or WhatsApp text (Twilio's limit).
pub const MESSAGE_MAX_CHARS: usize = 1600;

/// Whether `text` is 1 to 1600 characters, not blank: one SMS or WhatsApp message.
pub fn is_message(text: &str) -> bool {
    !text.trim().is_empty() && text.chars().count() <= MESSAGE_MAX_CHARS
}

/// One delivery target of an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub channel: ChannelType,
    /// An E.164 number, an email address, or the Slack room.
    pub address: String,
    pub name: Option<String>,
}

/// Which channels a user wants alerts on. `slack` and `push` are kept for the frontend:
/// Slack posts go to the deployment's crisis room whatever anyone's preferences, and push has
/// no provider yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationChannels {
    pub sms: bool,
    pub whatsapp: bool,
    pub email: bool,
    pub slack: bool,
    pub push: bool,
}

/// No alerts below `CRITICAL` between `start` and `end` ("HH:MM", wrapping past midnight when
/// `end` is earlier), in the user's offset from UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuietHours {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "07:00")]
    pub end: String,
    /// Minutes east of UTC, -720 to 840 (default 0).
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

impl QuietHours {
    fn minutes(hhmm: &str) -> Option<u32> {
        let (h, m) = hhmm.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// True when `at` falls in the quiet hours.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let (Some(start), Some(end)) = (Self::minutes(&self.start), Self::minutes(&self.end))
        else {
            return false;
        };
        let utc = i64::from(at.hour() * 60 + at.minute());
        let local = (utc + i64::from(self.utc_offset_minutes)).rem_euclid(1440) as u32;
        if start <= end {
            (start..end).contains(&local)
        } else {
            local >= start || local < end
        }
    }

    /// Records what is wrong with the times and the offset.
    fn check(&self, p: &mut Problems) {
        let start = Self::minutes(&self.start);
        let end = Self::minutes(&self.end);
        p.require(start.is_some(), "quietHours.start", "must be a time HH:MM");
        p.require(end.is_some(), "quietHours.end", "must be a time HH:MM");
        p.require(
            start.is_none() || start != end,
            "quietHours.end",
            "must differ from start",
        );
        p.require(
            (-720..=840).contains(&self.utc_offset_minutes),
            "quietHours.utcOffsetMinutes",
            "must be -720 to 840",
        );
    }
}

/// A user's notification preferences.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPreferences {
    pub channels: NotificationChannels,
    /// Where SMS and WhatsApp alerts go (E.164); required while either is on.
    pub phone: Option<String>,
    /// Alerts below this severity are not sent to this user (default `HIGH`).
    pub min_severity: Severity,
    pub quiet_hours: Option<QuietHours>,
    /// Only these campaigns' alerts; `null`: every campaign's.
    pub campaigns: Option<Vec<Uuid>>,
    /// `null` until the user first saves them.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for NotificationPreferences {
    fn default() -> Self {
        Self {
            channels: NotificationChannels::default(),
            phone: None,
            min_severity: Severity::High,
            quiet_hours: None,
            campaigns: None,
            updated_at: None,
        }
    }
}

impl NotificationPreferences {
    /// Whether an alert of `severity` about `campaign` at `at` goes to this user at all.
    pub fn wants(&self, campaign: Option<Uuid>, severity: Severity, at: DateTime<Utc>) -> bool {
        if severity < self.min_severity {
            return false;
        }
        if let Some(only) = &self.campaigns
            && !campaign.is_some_and(|c| only.contains(&c))
        {
            return false;
        }
        severity == Severity::Critical || !self.quiet_hours.as_ref().is_some_and(|q| q.contains(at))
    }

    /// Applies a change: what it gives replaces, what it leaves out stays. The phone is
    /// trimmed (blank clears it); repeated campaigns are dropped.
    pub fn apply(&mut self, change: PreferencesChange) {
        if let Some(c) = change.channels {
            let ch = &mut self.channels;
            for (slot, value) in [
                (&mut ch.sms, c.sms),
                (&mut ch.whatsapp, c.whatsapp),
                (&mut ch.email, c.email),
                (&mut ch.slack, c.slack),
                (&mut ch.push, c.push),
            ] {
                if let Some(v) = value {
                    *slot = v;
                }
            }
        }
        if let Some(phone) = change.phone {
            self.phone = phone.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(s) = change.min_severity {
            self.min_severity = s;
        }
        if let Some(q) = change.quiet_hours {
            self.quiet_hours = q;
        }
        if let Some(c) = change.campaigns {
            self.campaigns = c.map(|mut ids| {
                let mut seen = std::collections::HashSet::new();
                ids.retain(|id| seen.insert(*id));
                ids
            });
        }
    }

    /// Records what is wrong with the preferences as a whole (whether the campaigns exist is
    /// the service's to check).
    pub fn check(&self, p: &mut Problems) {
        match &self.phone {
            Some(phone) => p.require(platform::phone::is_e164(phone), "phone", E164_RULE),
            None => p.require(
                !(self.channels.sms || self.channels.whatsapp),
                "phone",
                "is required while sms or whatsapp is on",
            ),
        }
        if let Some(q) = &self.quiet_hours {
            q.check(p);
        }
        if let Some(ids) = &self.campaigns {
            p.require(
                ids.len() <= FOLLOWED_CAMPAIGNS_MAX,
                "campaigns",
                format!("must have at most {FOLLOWED_CAMPAIGNS_MAX} campaigns"),
            );
        }
    }
}

/// A change of preferences: `None` leaves a field as it is; for `phone`, `quietHours` and
/// `campaigns`, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreferencesChange {
    pub channels: Option<ChannelsChange>,
    pub phone: Option<Option<String>>,
    pub min_severity: Option<Severity>,
    pub quiet_hours: Option<Option<QuietHours>>,
    pub campaigns: Option<Option<Vec<Uuid>>>,
}

/// The channels a change turns on (`true`) or off (`false`); `None` leaves one as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelsChange {
    pub sms: Option<bool>,
    pub whatsapp: Option<bool>,
    pub email: Option<bool>,
    pub slack: Option<bool>,
    pub push: Option<bool>,
}

/// One crisis contact of a campaign (`/campaigns/{id}/crisis-contacts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrisisContact {
    /// 1 to 100 characters.
    pub name: String,
    /// E.164; required for SMS and WhatsApp.
    pub phone: Option<String>,
    /// Required for EMAIL.
    pub email: Option<String>,
    /// At least one of `SMS`, `WHATSAPP`, `EMAIL`.
    pub channels: Vec<ChannelType>,
}

impl CrisisContact {
    /// The address this contact is reached at on `channel`, if it has one there.
    pub fn address(&self, channel: ChannelType) -> Option<&str> {
        match channel {
            ChannelType::Sms | ChannelType::Whatsapp => self.phone.as_deref(),
            ChannelType::Email => self.email.as_deref(),
            ChannelType::Slack | ChannelType::Push => None,
        }
    }
}

/// `{ contacts }`, in their order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CrisisContacts {
    pub contacts: Vec<CrisisContact>,
}

/// A checked SMS or WhatsApp message: an E.164 number and 1 to 1600 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectMessage {
    pub to: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn quiet(start: &str, end: &str, offset: i32) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
            utc_offset_minutes: offset,
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_past_midnight_and_follow_the_offset() {
        let q = quiet("22:00", "07:00", 0);
        assert!(q.contains(at(23, 30)));
        assert!(q.contains(at(6, 59)));
        assert!(!q.contains(at(7, 0)));
        assert!(!q.contains(at(12, 0)));
        let day = quiet("09:00", "17:00", 120);
        assert!(day.contains(at(7, 0)), "09:00 at UTC+2");
        assert!(!day.contains(at(15, 0)), "17:00 at UTC+2");
    }

    #[test]
    fn preferences_filter_by_severity_campaign_and_quiet_hours() {
        let c = Uuid::now_v7();
        let mut p = NotificationPreferences {
            min_severity: Severity::High,
            ..Default::default()
        };
        assert!(!p.wants(Some(c), Severity::Medium, at(12, 0)));
        assert!(p.wants(Some(c), Severity::High, at(12, 0)));
        p.campaigns = Some(vec![Uuid::now_v7()]);
        assert!(!p.wants(Some(c), Severity::Critical, at(12, 0)));
        assert!(!p.wants(None, Severity::Critical, at(12, 0)));
        p.campaigns = Some(vec![c]);
        p.quiet_hours = Some(quiet("11:00", "13:00", 0));
        assert!(!p.wants(Some(c), Severity::High, at(12, 0)));
        assert!(
            p.wants(Some(c), Severity::Critical, at(12, 0)),
            "critical breaks through"
        );
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out_and_clears_with_null() {
        let mut p = NotificationPreferences {
            phone: Some("+14155550100".into()),
            ..Default::default()
        };
        p.apply(PreferencesChange {
            channels: Some(ChannelsChange {
                sms: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(p.channels.sms && p.phone.is_some());
        let mut problems = Problems::new();
        p.check(&mut problems);
        assert!(problems.is_empty());
        p.apply(PreferencesChange {
            phone: Some(None),
            quiet_hours: Some(Some(quiet("07:00", "07:00", 900))),
            ..Default::default()
        });
        p.check(&mut problems);
        assert_eq!(
            problems.fields(),
            ["phone", "quietHours.end", "quietHours.utcOffsetMinutes"]
        );
    }
}
