//! Who hears about an alert, and direct messages: users' notification preferences (seed 000
//! `/notifications/preferences`, `/settings/notifications`), each campaign's crisis contacts
//! (seed 001 `getCrisisContacts`), the recipients of an alert drawn from both, and the one
//! implementation behind `/notifications/sms`, `/notifications/whatsapp` and `/integrations/sms`.

mod contacts;

use chrono::{DateTime, SubsecRound, Timelike, Utc};
use platform::{
    ApiError,
    error::{ApiResult, FieldError},
    identity::auth::AuthUser,
    phone::is_e164,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::contacts::contact_of;
pub use self::contacts::{CONTACTS_MAX, CrisisContact, CrisisContacts, contacts, replace_contacts};
use crate::{
    Ctx,
    db::alerts::{self as db, PreferenceRow},
    integrations::twilio::{Channel, Messaging, SentMessage},
    service::{
        alerting::{AlertType, CRISIS_ROOM, ChannelType, Severity},
        campaigns::CampaignId,
    },
};

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
#[serde(rename_all = "camelCase")]
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
    fn from_row(r: PreferenceRow) -> Self {
        Self {
            channels: NotificationChannels {
                sms: r.sms,
                whatsapp: r.whatsapp,
                email: r.email,
                slack: r.slack,
                push: r.push,
            },
            phone: r.phone,
            min_severity: Severity::parse(&r.min_severity).unwrap_or(Severity::High),
            quiet_hours: r.quiet_hours.and_then(|v| serde_json::from_value(v).ok()),
            campaigns: r.campaigns.and_then(|v| serde_json::from_value(v).ok()),
            updated_at: Some(r.updated_at),
        }
    }

    /// Whether an alert of `severity` about `campaign` at `at` goes to this user at all.
    fn wants(&self, campaign: Option<Uuid>, severity: Severity, at: DateTime<Utc>) -> bool {
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
}

/// Deserializes a present field (even `null`) as `Some`, so `Option<Option<T>>` tells
/// "absent" from "null".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The channels of a preferences change; absent ones stay as they are (`PATCH`) or off (`PUT`).
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelsUpdate {
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
#[serde(rename_all = "camelCase")]
pub struct PreferencesUpdate {
    pub channels: Option<ChannelsUpdate>,
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

fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// A user's preferences (the defaults until they save some).
pub async fn preferences(ctx: &Ctx, user_id: Uuid) -> ApiResult<NotificationPreferences> {
    Ok(db::find_preferences(&ctx.db, user_id)
        .await?
        .map(NotificationPreferences::from_row)
        .unwrap_or_default())
}

/// Applies `update` to the caller's preferences (`replace`: over the defaults, as `PUT`),
/// checks the result and saves it.
pub async fn update_preferences(
    ctx: &Ctx,
    user: &AuthUser,
    update: PreferencesUpdate,
    replace: bool,
) -> ApiResult<NotificationPreferences> {
    let mut p = if replace {
        NotificationPreferences::default()
    } else {
        preferences(ctx, user.id()).await?
    };
    if let Some(c) = update.channels {
        let ch = &mut p.channels;
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
    if let Some(phone) = update.phone {
        p.phone = phone.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    }
    if let Some(s) = update.min_severity {
        p.min_severity = s;
    }
    if let Some(q) = update.quiet_hours {
        p.quiet_hours = q;
    }
    if let Some(c) = update.campaigns {
        p.campaigns = c.map(|mut ids| {
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            ids
        });
    }
    check_preferences(ctx, &p).await?;
    // Microseconds: what PostgreSQL keeps, so the answer equals a later read.
    let at = Utc::now().trunc_subsecs(6);
    let row = PreferenceRow {
        user_id: user.id(),
        sms: p.channels.sms,
        whatsapp: p.channels.whatsapp,
        email: p.channels.email,
        slack: p.channels.slack,
        push: p.channels.push,
        phone: p.phone.clone(),
        min_severity: p.min_severity.as_str().to_owned(),
        quiet_hours: p
            .quiet_hours
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?,
        campaigns: p
            .campaigns
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?,
        updated_at: at,
    };
    db::save_preferences(&ctx.db, row).await?;
    Ok(NotificationPreferences {
        updated_at: Some(at),
        ..p
    })
}

async fn check_preferences(ctx: &Ctx, p: &NotificationPreferences) -> ApiResult<()> {
    let mut errors = Vec::new();
    match &p.phone {
        Some(phone) if !is_e164(phone) => {
            errors.push(field("phone", "must be an E.164 number like +14155550100"));
        }
        None if p.channels.sms || p.channels.whatsapp => {
            errors.push(field("phone", "is required while sms or whatsapp is on"));
        }
        _ => {}
    }
    if let Some(q) = &p.quiet_hours {
        let start = QuietHours::minutes(&q.start);
        let end = QuietHours::minutes(&q.end);
        if start.is_none() {
            errors.push(field("quietHours.start", "must be a time HH:MM"));
        }
        if end.is_none() {
            errors.push(field("quietHours.end", "must be a time HH:MM"));
        }
        if start.is_some() && start == end {
            errors.push(field("quietHours.end", "must differ from start"));
        }
        if !(-720..=840).contains(&q.utc_offset_minutes) {
            errors.push(field("quietHours.utcOffsetMinutes", "must be -720 to 840"));
        }
    }
    if let Some(ids) = &p.campaigns {
        if ids.len() > 100 {
            errors.push(field("campaigns", "must have at most 100 campaigns"));
        }
        for (i, id) in ids.iter().enumerate().take(100) {
            if !ctx.campaigns().exists(CampaignId(*id)).await? {
                errors.push(field(format!("campaigns[{i}]"), "no such campaign"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// An alert's recipients: for a campaign's `CRISIS` alert, or any of its alerts at `HIGH` or
/// worse, its crisis contacts on their channels and the crisis room on Slack; and every user
/// whose preferences want it (severity, campaign, quiet hours) on their channels: SMS and
/// WhatsApp to their phone, email to their account's address. Each (channel, address) once.
pub async fn recipients(
    ctx: &Ctx,
    campaign: Option<Uuid>,
    alert_type: AlertType,
    severity: Severity,
    at: DateTime<Utc>,
) -> ApiResult<Vec<Recipient>> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut add = |channel: ChannelType, address: &str, name: Option<&str>| {
        if !out
            .iter()
            .any(|r| r.channel == channel && r.address == address)
        {
            out.push(Recipient {
                channel,
                address: address.to_owned(),
                name: name.map(str::to_owned),
            });
        }
    };
    if let Some(id) = campaign
        && (alert_type == AlertType::Crisis || severity >= Severity::High)
    {
        for c in db::contacts_of(&ctx.db, id)
            .await?
            .into_iter()
            .map(contact_of)
        {
            for ch in &c.channels {
                let address = match ch {
                    ChannelType::Sms | ChannelType::Whatsapp => c.phone.as_deref(),
                    ChannelType::Email => c.email.as_deref(),
                    ChannelType::Slack | ChannelType::Push => None,
                };
                if let Some(a) = address {
                    add(*ch, a, Some(&c.name));
                }
            }
        }
        add(ChannelType::Slack, CRISIS_ROOM, None);
    }
    for (row, email) in db::opted_in(&ctx.db).await? {
        let p = NotificationPreferences::from_row(row);
        if !p.wants(campaign, severity, at) {
            continue;
        }
        if let Some(phone) = p.phone.as_deref() {
            if p.channels.sms {
                add(ChannelType::Sms, phone, None);
            }
            if p.channels.whatsapp {
                add(ChannelType::Whatsapp, phone, None);
            }
        }
        if p.channels.email {
            add(ChannelType::Email, &email, None);
        }
    }
    Ok(out)
}

/// Seed 001 `sendSMSAlert`'s body, also `/notifications/sms` and `/notifications/whatsapp`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    /// E.164, e.g. `+14155550100`.
    pub to: String,
    /// 1 to 1600 characters.
    pub message: String,
}

/// Sends one SMS or WhatsApp message now, through Twilio (the outbox in MOCK mode), after the
/// checks. (The caller's hourly allowance, `access::SEND_MESSAGE_USER`, is a row of the
/// route table.)
pub async fn send_message(
    ctx: &Ctx,
    channel: Channel,
    req: SendMessageRequest,
) -> ApiResult<SentMessage> {
    let to = req.to.trim();
    let mut errors = Vec::new();
    if !is_e164(to) {
        errors.push(field("to", "must be an E.164 number like +14155550100"));
    }
    let n = req.message.chars().count();
    if req.message.trim().is_empty() || n > 1600 {
        errors.push(field("message", "must be 1 to 1600 characters, not blank"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(ctx.vendors.twilio.send(channel, to, &req.message).await?)
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
}
