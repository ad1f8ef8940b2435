//! The lead score: 0 to 100, the weighted sum of four factors, each with its own 0-100 score
//! and the reasons for it, so a client can show why a lead ranks where it does. Computed
//! offline from the lead alone (no DNS, no vendor): MX lookups and campaign engagement come
//! with search validation and campaigns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::leads::{Contact, LeadStatus};

/// A lead's score and what it is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Score {
    /// 0 to 100: the factors' scores weighted and rounded.
    #[schema(minimum = 0, maximum = 100)]
    pub value: i32,
    /// `fit`, `completeness`, `deliverability`, `engagement`, in that order.
    pub factors: Vec<Factor>,
}

/// One factor of a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Factor {
    pub name: String,
    /// 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub score: i32,
    /// Its share of the total (the weights add up to 1).
    pub weight: f64,
    /// Why the factor scored as it did, in plain words.
    pub reasons: Vec<String>,
}

pub const FIT_WEIGHT: f64 = 0.3;
pub const COMPLETENESS_WEIGHT: f64 = 0.2;
pub const DELIVERABILITY_WEIGHT: f64 = 0.3;
pub const ENGAGEMENT_WEIGHT: f64 = 0.2;

/// Mailboxes that belong to a function, not a person: they reach someone, rarely the buyer.
const ROLE_LOCAL_PARTS: &[&str] = &[
    "abuse",
    "admin",
    "billing",
    "careers",
    "contact",
    "enquiries",
    "hello",
    "help",
    "hr",
    "info",
    "jobs",
    "marketing",
    "no-reply",
    "noreply",
    "office",
    "postmaster",
    "press",
    "sales",
    "support",
    "team",
    "webmaster",
];

/// Throw-away mailbox providers: mail to them is not read a week later.
const DISPOSABLE_DOMAINS: &[&str] = &[
    "10minutemail.com",
    "discard.email",
    "dispostable.com",
    "fakeinbox.com",
    "getnada.com",
    "guerrillamail.com",
    "guerrillamail.net",
    "maildrop.cc",
    "mailinator.com",
    "mailnesia.com",
    "mintemail.com",
    "mohmal.com",
    "sharklasers.com",
    "temp-mail.org",
    "tempmail.com",
    "tempmailo.com",
    "throwawaymail.com",
    "trashmail.com",
    "yopmail.com",
];

/// Personal webmail: deliverable, but not a company address.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "aol.com",
    "gmail.com",
    "gmx.com",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mail.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "yahoo.com",
    "yandex.com",
];

/// The score of a lead with this (normalised, syntactically valid) address, contact fields
/// and status.
pub fn score(email: &str, contact: &Contact, status: LeadStatus) -> Score {
    let factors = vec![
        fit(),
        completeness(contact),
        deliverability(email),
        engagement(status),
    ];
    let total: f64 = factors.iter().map(|f| f64::from(f.score) * f.weight).sum();
    Score {
        value: (total.round() as i32).clamp(0, 100),
        factors,
    }
}

fn factor(name: &str, score: i32, weight: f64, reasons: Vec<String>) -> Factor {
    Factor {
        name: name.to_owned(),
        score: score.clamp(0, 100),
        weight,
        reasons,
    }
}

/// Fit with the organization's business goal. Goals come with search (`/api/search/goals`);
/// until an organization has one, every lead fits neutrally (50), so the other factors rank.
fn fit() -> Factor {
    let reason = "no business goal yet: neutral fit".to_owned();
    factor("fit", 50, FIT_WEIGHT, vec![reason])
}

/// The share of the seven contact fields that are known.
fn completeness(c: &Contact) -> Factor {
    let fields = [
        ("name", &c.name),
        ("title", &c.title),
        ("company", &c.company),
        ("phone", &c.phone),
        ("website", &c.website),
        ("location", &c.location),
        ("industry", &c.industry),
    ];
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    let known = fields.len() - missing.len();
    let score = (known * 100 / fields.len()) as i32;
    let mut reasons = vec![format!("{known} of {} contact fields known", fields.len())];
    if !missing.is_empty() {
        reasons.push(format!("missing: {}", missing.join(", ")));
    }
    factor("completeness", score, COMPLETENESS_WEIGHT, reasons)
}

/// What can be told of the address offline: its syntax (already required), whether it is a
/// role mailbox, a disposable provider or personal webmail. No MX lookup here.
fn deliverability(email: &str) -> Factor {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let base = local.split('+').next().unwrap_or(local);
    let mut score = 100;
    let mut reasons = vec!["address syntax valid".to_owned()];
    if DISPOSABLE_DOMAINS.contains(&domain) {
        score = 0;
        reasons.push(format!("{domain} is a disposable mailbox provider"));
    } else {
        if ROLE_LOCAL_PARTS.contains(&base) {
            score -= 40;
            reasons.push(format!("{base}@ is a role address, not a person"));
        }
        if FREE_MAIL_DOMAINS.contains(&domain) {
            score -= 15;
            reasons.push(format!(
                "{domain} is personal webmail, not a company domain"
            ));
        }
    }
    reasons.push("mail server (MX) not checked".to_owned());
    factor("deliverability", score, DELIVERABILITY_WEIGHT, reasons)
}

/// How far the conversation has gone, by the lead's status (campaign opens, clicks and
/// replies add to it once campaigns exist).
fn engagement(status: LeadStatus) -> Factor {
    let score = match status {
        LeadStatus::New | LeadStatus::Lost => 0,
        LeadStatus::Unqualified => 10,
        LeadStatus::Contacted => 40,
        LeadStatus::Qualified => 70,
        LeadStatus::Converted => 100,
    };
    let reason = format!("status {}", status.as_str());
    factor("engagement", score, ENGAGEMENT_WEIGHT, vec![reason])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Contact {
        let s = |v: &str| Some(v.to_owned());
        Contact {
            name: s("Ada Lovelace"),
            title: s("CTO"),
            company: s("Analytical Engines"),
            website: s("engines.example"),
            phone: s("+442071234567"),
            location: s("London"),
            industry: s("Software"),
        }
    }

    #[test]
    fn the_weights_add_up_to_one() {
        let sum = FIT_WEIGHT + COMPLETENESS_WEIGHT + DELIVERABILITY_WEIGHT + ENGAGEMENT_WEIGHT;
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_complete_company_address_outscores_a_bare_role_address() {
        let good = score("ada@engines.example", &full(), LeadStatus::New);
        // fit 50*.3 + completeness 100*.2 + deliverability 100*.3 + engagement 0 = 65
        assert_eq!(good.value, 65);
        let names: Vec<&str> = good.factors.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["fit", "completeness", "deliverability", "engagement"]
        );
        let role = score("info@engines.example", &Contact::default(), LeadStatus::New);
        assert_eq!(role.factors[2].score, 60);
        assert!(
            role.factors[2]
                .reasons
                .iter()
                .any(|r| r.contains("role address"))
        );
        assert_eq!(role.factors[1].score, 0);
        assert!(role.value < good.value);
    }

    #[test]
    fn a_disposable_address_is_not_deliverable_and_status_drives_engagement() {
        let s = score("x@mailinator.com", &full(), LeadStatus::Converted);
        assert_eq!(s.factors[2].score, 0);
        assert_eq!(s.factors[3].score, 100);
        let webmail = score("ada+leads@gmail.com", &full(), LeadStatus::Qualified);
        assert_eq!(webmail.factors[2].score, 85);
        assert_eq!(webmail.factors[3].score, 70);
    }
}
