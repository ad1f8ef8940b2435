//! Each campaign's crisis contacts (Basalt's `/campaigns/{id}/crisis-contacts`; seed 001's
//! `getCrisisContacts`): who crisis alerts go to, on which channels.

use chrono::Utc;
use platform::{
    ApiError,
    error::{ApiResult, FieldError},
    phone::is_e164,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Ctx,
    db::alerts::{self as db, ContactRow},
    service::{
        alerting::{ChannelType, begin_write},
        campaigns::CampaignId,
    },
};

fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// One crisis contact of a campaign (Basalt's `/campaigns/{id}/crisis-contacts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
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

/// `{ contacts }`, in their order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CrisisContacts {
    pub contacts: Vec<CrisisContact>,
}

/// How many crisis contacts a campaign may have.
pub const CONTACTS_MAX: usize = 50;

pub(super) fn contact_of(r: ContactRow) -> CrisisContact {
    CrisisContact {
        name: r.name,
        phone: r.phone,
        email: r.email,
        channels: serde_json::from_value(r.channels).unwrap_or_default(),
    }
}

/// A campaign's crisis contacts; `None` for an unknown campaign.
pub async fn contacts(ctx: &Ctx, campaign: Uuid) -> ApiResult<Option<CrisisContacts>> {
    if !ctx.campaigns().exists(CampaignId(campaign)).await? {
        return Ok(None);
    }
    let rows = db::contacts_of(&ctx.db, campaign).await?;
    Ok(Some(CrisisContacts {
        contacts: rows.into_iter().map(contact_of).collect(),
    }))
}

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

fn check_contacts(list: &mut [CrisisContact]) -> ApiResult<()> {
    let mut errors = Vec::new();
    if list.len() > CONTACTS_MAX {
        errors.push(field(
            "contacts",
            format!("must have at most {CONTACTS_MAX} contacts"),
        ));
    }
    for (i, c) in list.iter_mut().enumerate() {
        let at = |f: &str| format!("contacts[{i}].{f}");
        c.name = c.name.trim().to_owned();
        c.phone = c
            .phone
            .take()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        c.email = c
            .email
            .take()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        let mut seen = std::collections::HashSet::new();
        c.channels.retain(|ch| seen.insert(*ch));
        if c.name.is_empty() || c.name.chars().count() > 100 {
            errors.push(field(at("name"), "must be 1 to 100 characters, not blank"));
        }
        if c.phone.as_deref().is_some_and(|p| !is_e164(p)) {
            errors.push(field(
                at("phone"),
                "must be an E.164 number like +14155550100",
            ));
        }
        if c.email.as_deref().is_some_and(|e| !is_email(e)) {
            errors.push(field(at("email"), "must be an email address"));
        }
        if c.channels.is_empty() {
            errors.push(field(at("channels"), "must name at least one channel"));
        }
        for (j, ch) in c.channels.iter().enumerate() {
            match ch {
                ChannelType::Sms | ChannelType::Whatsapp if c.phone.is_none() => errors.push(
                    field(at("phone"), format!("is required for {}", ch.as_str())),
                ),
                ChannelType::Email if c.email.is_none() => {
                    errors.push(field(at("email"), "is required for EMAIL"));
                }
                ChannelType::Slack | ChannelType::Push => errors.push(field(
                    format!("contacts[{i}].channels[{j}]"),
                    "must be SMS, WHATSAPP or EMAIL",
                )),
                _ => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Replaces a campaign's crisis contacts; `None` for an unknown campaign.
pub async fn replace_contacts(
    ctx: &Ctx,
    campaign: Uuid,
    mut list: CrisisContacts,
) -> ApiResult<Option<CrisisContacts>> {
    check_contacts(&mut list.contacts)?;
    if !ctx.campaigns().exists(CampaignId(campaign)).await? {
        return Ok(None);
    }
    let at = Utc::now();
    let rows = list
        .contacts
        .iter()
        .zip(0..)
        .map(|(c, position)| {
            Ok(ContactRow {
                id: Uuid::now_v7(),
                campaign_id: campaign,
                position,
                name: c.name.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
                channels: serde_json::to_value(&c.channels).map_err(ApiError::internal)?,
                created_at: at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let txn = begin_write(&ctx.db).await?;
    db::replace_contacts(&txn, campaign, rows).await?;
    txn.commit().await?;
    Ok(Some(list))
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
}
