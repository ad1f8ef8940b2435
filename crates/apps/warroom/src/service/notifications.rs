//! Who hears about an alert, and direct messages: `Notifications` keeps users' notification
//! preferences (seed 000 `/notifications/preferences`, `/settings/notifications`) and each
//! campaign's crisis contacts (seed 001 `getCrisisContacts`), draws an alert's recipients from
//! both, and is the one implementation behind `/notifications/sms`, `/notifications/whatsapp`
//! and `/integrations/sms`.

use chrono::{DateTime, SubsecRound, Utc};
use platform::{ApiError, error::ApiResult, validate::Problems};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    Ctx,
    db::{
        self,
        notifications::{ContactRow, PreferenceRow},
    },
    domain::{
        alerts::{AlertType, CRISIS_ROOM, ChannelType, Severity},
        campaigns::CampaignId,
        notifications::{
            CrisisContact, CrisisContacts, DirectMessage, FOLLOWED_CAMPAIGNS_MAX,
            NotificationPreferences, PreferencesChange, Recipient,
        },
    },
    integrations::twilio::{Channel, Messaging, SentMessage},
    service::{
        access::{ALERTS_READ, ALERTS_SEND},
        actor::Actor,
    },
};

/// Preferences, crisis contacts, recipients and direct messages.
#[derive(Clone)]
pub struct Notifications {
    ctx: Ctx,
}

impl Ctx {
    pub fn notifications(&self) -> Notifications {
        Notifications { ctx: self.clone() }
    }
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

impl Notifications {
    /// The caller's preferences (the defaults until they save some).
    pub async fn preferences(&self, actor: &Actor) -> ApiResult<NotificationPreferences> {
        actor.require(ALERTS_READ)?;
        self.preferences_of(actor.id).await
    }

    /// A user's preferences, for War Room's own use (the alert queue).
    pub async fn preferences_of(&self, user_id: Uuid) -> ApiResult<NotificationPreferences> {
        Ok(db::notifications::find_preferences(&self.ctx.db, user_id)
            .await?
            .map(NotificationPreferences::from)
            .unwrap_or_default())
    }

    /// `PUT`: the caller's preferences become the defaults with `change` applied.
    pub async fn replace_preferences(
        &self,
        actor: &Actor,
        change: PreferencesChange,
    ) -> ApiResult<NotificationPreferences> {
        actor.require(ALERTS_READ)?;
        self.save_preferences(actor, NotificationPreferences::default(), change)
            .await
    }

    /// `PATCH`: `change` applied to the caller's current preferences.
    pub async fn change_preferences(
        &self,
        actor: &Actor,
        change: PreferencesChange,
    ) -> ApiResult<NotificationPreferences> {
        actor.require(ALERTS_READ)?;
        let current = self.preferences_of(actor.id).await?;
        self.save_preferences(actor, current, change).await
    }

    /// Applies `change` to `prefs`, checks the result (the campaigns it names must exist) and
    /// saves it.
    async fn save_preferences(
        &self,
        actor: &Actor,
        mut prefs: NotificationPreferences,
        change: PreferencesChange,
    ) -> ApiResult<NotificationPreferences> {
        prefs.apply(change);
        let mut p = Problems::new();
        prefs.check(&mut p);
        let campaigns = self.ctx.campaigns();
        for (i, id) in prefs.campaigns.iter().flatten().enumerate() {
            if i == FOLLOWED_CAMPAIGNS_MAX {
                break;
            }
            if !campaigns.exists(CampaignId(*id)).await? {
                p.push(format!("campaigns[{i}]"), "no such campaign");
            }
        }
        p.check()?;
        // Microseconds: what PostgreSQL keeps, so the answer equals a later read.
        let at = Utc::now().trunc_subsecs(6);
        let row = PreferenceRow {
            user_id: actor.id,
            sms: prefs.channels.sms,
            whatsapp: prefs.channels.whatsapp,
            email: prefs.channels.email,
            slack: prefs.channels.slack,
            push: prefs.channels.push,
            phone: prefs.phone.clone(),
            min_severity: prefs.min_severity.as_str().to_owned(),
            quiet_hours: prefs.quiet_hours.as_ref().map(to_json).transpose()?,
            campaigns: prefs.campaigns.as_ref().map(to_json).transpose()?,
            updated_at: at,
        };
        db::notifications::save_preferences(&self.ctx.db, row).await?;
        Ok(NotificationPreferences {
            updated_at: Some(at),
            ..prefs
        })
    }

    /// A campaign's crisis contacts; 404 "Campaign not found".
    pub async fn contacts(&self, actor: &Actor, campaign: CampaignId) -> ApiResult<CrisisContacts> {
        actor.require(ALERTS_SEND)?;
        self.ctx.campaigns().check_exists(campaign).await?;
        let rows = db::notifications::contacts_of(&self.ctx.db, campaign.0).await?;
        Ok(CrisisContacts {
            contacts: rows.into_iter().map(CrisisContact::from).collect(),
        })
    }

    /// Replaces a campaign's crisis contacts; 404 "Campaign not found".
    pub async fn replace_contacts(
        &self,
        actor: &Actor,
        campaign: CampaignId,
        input: impl TryInto<CrisisContacts, Error = ApiError>,
    ) -> ApiResult<CrisisContacts> {
        let list = actor.admit(ALERTS_SEND, input)?;
        self.ctx.campaigns().check_exists(campaign).await?;
        let at = Utc::now();
        let rows = list
            .contacts
            .iter()
            .zip(0..)
            .map(|(c, position)| {
                Ok(ContactRow {
                    id: Uuid::now_v7(),
                    campaign_id: campaign.0,
                    position,
                    name: c.name.clone(),
                    phone: c.phone.clone(),
                    email: c.email.clone(),
                    channels: to_json(&c.channels)?,
                    created_at: at,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let txn = db::begin_write(&self.ctx.writer).await?;
        db::notifications::replace_contacts(&txn, campaign.0, rows).await?;
        txn.commit().await?;
        Ok(list)
    }

    /// An alert's recipients: for a campaign's `CRISIS` alert, or any of its alerts at `HIGH`
    /// or worse, its crisis contacts on their channels and the crisis room on Slack; and every
    /// user whose preferences want it (severity, campaign, quiet hours) on their channels: SMS
    /// and WhatsApp to their phone, email to their account's address. Each (channel, address)
    /// once.
    pub async fn recipients(
        &self,
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
            let contacts = db::notifications::contacts_of(&self.ctx.db, id).await?;
            for c in contacts.into_iter().map(CrisisContact::from) {
                for &ch in &c.channels {
                    if let Some(a) = c.address(ch) {
                        add(ch, a, Some(&c.name));
                    }
                }
            }
            add(ChannelType::Slack, CRISIS_ROOM, None);
        }
        for (row, email) in db::notifications::opted_in(&self.ctx.db).await? {
            let p = NotificationPreferences::from(row);
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

    /// Sends one SMS or WhatsApp message now, through Twilio (the outbox in MOCK mode), after
    /// the checks. (The caller's hourly allowance, `access::SEND_MESSAGE_USER`, is a row of the
    /// route table.)
    pub async fn send_message(
        &self,
        actor: &Actor,
        channel: Channel,
        input: impl TryInto<DirectMessage, Error = ApiError>,
    ) -> ApiResult<SentMessage> {
        let m = actor.admit(ALERTS_SEND, input)?;
        Ok(self
            .ctx
            .vendors
            .twilio
            .send(channel, &m.to, &m.message)
            .await?)
    }
}
