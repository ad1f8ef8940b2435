//! War Room's data-layer benchmark: the campaign queries behind `GET /campaigns/{id}`,
//! `GET /campaigns?page=1&limit=20`, the same at page 400, and `POST /campaigns` (with its
//! audit row), driven through the `Campaigns` service with no HTTP in between, so the figures
//! are what the database layer costs per request. Seeds `BENCH_ROWS` campaigns (default 10,000)
//! and runs `BENCH_CONCURRENCY` callers (default 64) on one runtime thread for
//! `BENCH_SECONDS` per operation (default 3).
//!
//! `cargo bench -p warroom --bench data` runs it on SQLite in a temporary directory;
//! `BENCH_DATABASE_URL=postgres://…/db` on an empty PostgreSQL database. Pin it to one core
//! (`taskset -c 1 …`) to read the figures as per-core throughput.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed step is a failed run"
)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use platform::validate::PageQuery;
use serde_json::json;
use testkit::bench::{Figures, env_number, measure};
use uuid::Uuid;
use warroom::{
    WarRoom,
    api::campaigns::requests::{CreateCampaignRequest, ListCampaignsQuery},
    domain::campaigns::CampaignId,
    service::{actor::Actor, campaigns::Campaigns},
};

fn request(n: u64) -> CreateCampaignRequest {
    serde_json::from_value(json!({
        "name": format!("Campaign {n}"),
        "description": "Get out the vote in the northern districts.",
        "startDate": "2026-03-01T00:00:00Z",
        "endDate": "2026-06-30T23:59:59Z",
        "budget": 25000.5,
        "targetAudience": {
            "demographics": {
                "ageRange": { "min": 18, "max": 65 },
                "gender": ["all"],
                "income": "middle",
                "education": "any"
            },
            "interests": ["healthcare", "schools"],
            "locations": ["Springfield"],
            "platforms": ["facebook", "instagram"]
        },
        "keywords": ["turnout", "schools"]
    }))
    .unwrap()
}

fn page(page: Option<u64>, cursor: Option<String>) -> (PageQuery, ListCampaignsQuery) {
    (
        PageQuery {
            page,
            limit: Some(20),
        },
        ListCampaignsQuery {
            status: None,
            cursor,
        },
    )
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let rows = env_number("BENCH_ROWS", 10_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 64);
    let seconds = env_number("BENCH_SECONDS", 3);
    let dir = std::env::temp_dir().join(format!("basalt-bench-data-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| platform::db::sqlite_url(&dir, "warroom"));
    platform::product::migrate::<WarRoom>(&url).await?;
    let campaigns = Campaigns::new(platform::db::open(&url).await?);
    let actor = Actor {
        id: Uuid::now_v7(),
        impersonator: None,
        role: "admin".into(),
    };

    let seeded = Instant::now();
    let ids: Vec<CampaignId> = {
        let mut ids = Vec::new();
        for n in 0..rows {
            ids.push(campaigns.create(&actor, request(n)).await?.id);
        }
        ids
    };
    println!(
        "seeded {rows} campaigns in {:.1} s (one caller)",
        seeded.elapsed().as_secs_f64()
    );
    let ids = Arc::new(ids);
    let duration = Duration::from_secs(seconds);

    let get = {
        let (campaigns, actor, ids) = (campaigns.clone(), actor.clone(), ids.clone());
        measure(concurrency, duration, move |n| {
            let (campaigns, actor, ids) = (campaigns.clone(), actor.clone(), ids.clone());
            async move {
                let id = ids[(n.wrapping_mul(7919) % ids.len() as u64) as usize];
                campaigns.get(&actor, id).await.unwrap();
            }
        })
        .await
    };
    report("GET /campaigns/{id}", get);
    let before_400 = campaigns
        .list(&actor, page(Some(399), None))
        .await?
        .next_cursor;
    for (name, p, cursor) in [
        ("page=1", Some(1), None),
        ("page=400", Some(400), None),
        ("cursor (page 400)", None, before_400),
    ] {
        let (campaigns, actor) = (campaigns.clone(), actor.clone());
        let r = measure(concurrency, duration, move |_| {
            let (campaigns, actor, cursor) = (campaigns.clone(), actor.clone(), cursor.clone());
            async move {
                let listed = campaigns.list(&actor, page(p, cursor)).await.unwrap();
                assert_eq!(listed.items.len(), 20);
            }
        })
        .await;
        report(&format!("GET /campaigns?{name}&limit=20"), r);
    }
    let post = {
        let (campaigns, actor) = (campaigns.clone(), actor.clone());
        measure(concurrency, duration, move |n| {
            let (campaigns, actor) = (campaigns.clone(), actor.clone());
            async move {
                campaigns.create(&actor, request(n)).await.unwrap();
            }
        })
        .await
    };
    report("POST /campaigns", post);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn report(name: &str, mut f: Figures) {
    println!(
        "{name:<34} {:>9.0} ops/s   p50 {:>7.0} µs   p99 {:>7.0} µs",
        f.rate(),
        f.at(0.5).as_secs_f64() * 1e6,
        f.at(0.99).as_secs_f64() * 1e6,
    );
}
