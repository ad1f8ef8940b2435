//! `basalt seed demo warroom`: a campaign team's first week, made through War Room's own
//! services as the demo admin (so every rule, audit entry and alert evaluation applies):
//! three campaigns with keywords and audiences, two of them active, a monitoring config on
//! each active one, polled once so the mentions (the MOCK source's, in MOCK mode) and the
//! alerts they raise are there, and one manual alert sent to the crisis team.

use chrono::{Duration, Utc};
use platform::{ApiError, identity::User, product::SeedProgress};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{
    Ctx,
    api::{
        alerts::requests::SendAlertRequest,
        campaigns::requests::{CampaignActionRequest, CreateCampaignRequest},
        monitoring::requests::MonitoringConfigRequest,
    },
    domain::monitoring::ConfigId,
    service::{
        actor::Actor,
        ingest::{self, PollOutcome},
    },
};

/// One demo campaign: its dates are days from today.
struct DemoCampaign {
    name: &'static str,
    description: &'static str,
    starts_in: i64,
    ends_in: i64,
    budget: u32,
    keywords: &'static [&'static str],
    /// Activated and monitored, or left a draft.
    active: bool,
}

const CAMPAIGNS: &[DemoCampaign] = &[
    DemoCampaign {
        name: "Riverside Mayoral Race",
        description: "Municipal election: transit, housing and the riverfront plan.",
        starts_in: -14,
        ends_in: 60,
        budget: 85_000,
        keywords: &["riverfront plan", "transit levy", "housing first"],
        active: true,
    },
    DemoCampaign {
        name: "Clean Water Ballot Measure",
        description: "Statewide ballot measure on drinking-water infrastructure.",
        starts_in: -7,
        ends_in: 90,
        budget: 240_000,
        keywords: &["clean water", "measure 12", "lead pipes"],
        active: true,
    },
    DemoCampaign {
        name: "County Commissioner Primary",
        description: "Primary campaign, launch planned next month.",
        starts_in: 30,
        ends_in: 120,
        budget: 40_000,
        keywords: &["county budget", "rural broadband"],
        active: false,
    },
];

/// Steps reported to the progress bar: per campaign a create, and for an active one an
/// activation, a monitoring config and a poll; then the manual alert.
fn steps() -> u64 {
    let active = CAMPAIGNS.iter().filter(|c| c.active).count() as u64;
    CAMPAIGNS.len() as u64 + 3 * active + 1
}

fn request<T: DeserializeOwned>(v: Value) -> anyhow::Result<T> {
    Ok(serde_json::from_value(v)?)
}

fn failed(what: &str) -> impl FnOnce(ApiError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {}", e.message)
}

/// Seeds the demo data as `admin` (a demo account holding War Room's admin role).
pub async fn seed(ctx: &Ctx, admin: &User, progress: &dyn SeedProgress) -> anyhow::Result<()> {
    let actor = Actor {
        id: admin.id,
        impersonator: None,
        role: admin.role.clone(),
    };
    progress.add(steps());
    let today = Utc::now().date_naive();
    let mut first_active = None;
    for c in CAMPAIGNS {
        let name = c.name;
        progress.step(&format!("campaign {name}"));
        let body = json!({
            "name": name,
            "description": c.description,
            "startDate": (today + Duration::days(c.starts_in)).to_string(),
            "endDate": (today + Duration::days(c.ends_in)).to_string(),
            "budget": c.budget,
            "targetAudience": {
                "demographics": {
                    "ageRange": { "min": 18, "max": 65 },
                    "gender": ["all"],
                    "income": "all brackets",
                    "education": "any"
                },
                "interests": ["local politics", "infrastructure"],
                "locations": ["Riverside County"],
                "platforms": ["facebook", "instagram", "twitter"]
            },
            "keywords": c.keywords,
        });
        let campaign = ctx
            .campaigns()
            .create(&actor, request::<CreateCampaignRequest>(body)?)
            .await
            .map_err(failed("creating a campaign"))?;
        if !c.active {
            continue;
        }
        progress.step(&format!("activating {name}"));
        let activate = request::<CampaignActionRequest>(
            json!({ "action": "activate", "reason": "demo data" }),
        )?;
        ctx.campaigns()
            .act(&actor, campaign.id, activate)
            .await
            .map_err(failed("activating a campaign"))?;
        progress.step(&format!("monitoring {name}"));
        let config = request::<MonitoringConfigRequest>(json!({
            "campaignId": campaign.id.0,
            "competitors": ["Opponent Campaign"],
            "refreshInterval": 300,
        }))?;
        let config = ctx
            .monitoring()
            .create(&actor, config)
            .await
            .map_err(failed("creating a monitoring config"))?;
        progress.step(&format!("mentions for {name}"));
        match ingest::poll(ctx, ConfigId(config.id)).await {
            Ok(PollOutcome::Polled(_) | PollOutcome::Skipped) => {}
            Ok(PollOutcome::Failed(m)) => anyhow::bail!("polling mentions: {m}"),
            Err(e) => anyhow::bail!("polling mentions: {e}"),
        }
        first_active.get_or_insert(campaign.id.0);
    }
    progress.step("a manual alert");
    let alert = request::<SendAlertRequest>(json!({
        "type": "SENTIMENT",
        "message": "Demo: negative sentiment rising on the riverfront plan; statement drafted for review.",
        "recipients": ["+15555550123"],
        "campaignId": first_active,
    }))?;
    ctx.alerts()
        .send(&actor, alert)
        .await
        .map_err(failed("sending an alert"))?;
    Ok(())
}
