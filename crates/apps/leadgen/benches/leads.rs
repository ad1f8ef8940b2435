//! The leads list over `BENCH_ROWS` leads of one organization (default 100,000; issue 17's goal:
//! p99 under 20 ms): `GET /api/leads` as the service answers it (the caller's organization
//! looked up, the filters, the sort, the page and its total), with no HTTP in between, one
//! query shape at a time, `BENCH_CONCURRENCY` callers (default 1) for `BENCH_SECONDS` each
//! (default 3). Leads are seeded in batches with their scores and tags as `POST /api/leads`
//! makes them (statuses, sources, tags and completeness spread over the set).
//!
//! `cargo bench -p leadgen --bench leads` runs it on SQLite in a temporary directory;
//! `BENCH_DATABASE_URL=postgres://…/db` on an empty PostgreSQL database (vacuumed and analysed
//! after the seed, as autovacuum would do).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed step is a failed run"
)]

use std::time::{Duration, Instant};

use leadgen::{
    LeadGen,
    api::leads::requests::{CreateLeadRequest, ListLeadsQuery},
    db::{leads as db, organizations},
    domain::leads::NewLead,
    service::{
        accounts::{NewAccount, create_with_organization},
        leads::new_row,
        member::Member,
    },
};
use platform::secrets::Secret;
use sea_orm::TransactionTrait;
use serde_json::json;
use testkit::bench::{Figures, env_number, measure};
use uuid::Uuid;

const STATUSES: [&str; 6] = [
    "new",
    "contacted",
    "qualified",
    "unqualified",
    "converted",
    "lost",
];
const SOURCES: [&str; 4] = ["manual", "search", "import", "event"];

fn lead(n: u64) -> NewLead {
    let mut body = json!({
        "email": format!("person{n}@company{}.example", n % 5000),
        "status": STATUSES[(n % 6) as usize],
        "source": SOURCES[(n % 4) as usize],
        "tags": [format!("t{}", n % 20), format!("batch{}", n % 7)],
    });
    if n.is_multiple_of(2) {
        body["name"] = json!(format!("Person {n}"));
        body["company"] = json!(format!("Company {}", n % 5000));
    }
    if n.is_multiple_of(3) {
        body["title"] = json!("Head of Sales");
        body["phone"] = json!("+14155550100");
    }
    let req: CreateLeadRequest = serde_json::from_value(body).unwrap();
    NewLead::try_from(req).unwrap()
}

fn query(q: &str) -> ListLeadsQuery {
    let mut v = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, val) = pair.split_once('=').unwrap();
        v.insert(k.into(), json!(val));
    }
    serde_json::from_value(serde_json::Value::Object(v)).unwrap()
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let rows = env_number("BENCH_ROWS", 100_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 1);
    let seconds = env_number("BENCH_SECONDS", 3);
    let dir = std::env::temp_dir().join(format!("basalt-bench-leads-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| platform::db::sqlite_url(&dir, "leadgen"));
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let settings = platform::settings::ProductSettings::new(
        "127.0.0.1:0".parse()?,
        url,
        Secret::new("benchmark-secret-benchmark-secret-0123"),
    );
    let built = platform::product::build::<LeadGen>(&settings).await?;
    let ctx = built.ctx;
    let account = NewAccount {
        email: "bench@example.com",
        password: "a long benchmark passphrase",
        name: "Bench",
        organization_name: None,
        role: "user",
        email_verified: true,
    };
    let (user, org) = create_with_organization(&ctx, account)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let member = Member {
        id: user.id,
        role: user.role.clone(),
        organization_id: org.id,
    };

    let seeded = Instant::now();
    let base = chrono::Utc::now() - chrono::Duration::seconds(rows as i64);
    for start in (0..rows).step_by(500) {
        let batch = (start..(start + 500).min(rows))
            .map(|n| {
                let input = lead(n);
                let tags = input.tags.clone();
                let at = base + chrono::Duration::seconds(n as i64);
                (new_row(&member, input, at).unwrap(), tags)
            })
            .collect();
        let txn = ctx.writer.begin().await?;
        db::insert_many(&txn, batch).await?;
        txn.commit().await?;
    }
    if backend == "postgres" {
        // What autovacuum does to a table after a bulk load, before the planner is asked:
        // statistics, and the visibility map that lets an index answer COUNT(*).
        use sea_orm::ConnectionTrait;
        ctx.writer
            .execute_unprepared("VACUUM ANALYZE leads, lead_tags")
            .await?;
    }
    println!(
        "leadgen on {backend}: seeded {rows} leads in {:.1} s; {concurrency} caller(s), {seconds} s per query",
        seeded.elapsed().as_secs_f64()
    );
    let deep = ctx
        .leads()
        .list(&member, query(&format!("page={}", (rows / 40).max(1))))
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?
        .next_cursor
        .unwrap();
    let queries = [
        "".to_owned(),
        "sort=-score".into(),
        "sort=-updatedAt".into(),
        "status=qualified".into(),
        "source=search".into(),
        "tag=t7".into(),
        "minScore=40&maxScore=60".into(),
        "q=person4242".into(),
        "q=company 17".into(),
        "status=converted&tag=t3&sort=-score".into(),
        format!("cursor={deep}"),
        format!("page={}", (rows / 40).max(1)),
    ];
    for q in queries {
        let (ctx, member) = (ctx.clone(), member.clone());
        let q2 = q.clone();
        let figures = measure(concurrency, Duration::from_secs(seconds), move |_| {
            let (ctx, member, q) = (ctx.clone(), member.clone(), q2.clone());
            async move {
                // What the `Member` extractor asks of the database on every request.
                organizations::id_of_user(&ctx.db, member.id).await.unwrap();
                ctx.leads().list(&member, query(&q)).await.unwrap();
            }
        })
        .await;
        report(&format!("GET /api/leads?{q}"), figures);
    }
    ctx.background.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn report(name: &str, mut f: Figures) {
    let name: String = name.chars().take(60).collect();
    println!(
        "{name:<60} {:>7.0} ops/s   p50 {:>8.2} ms   p99 {:>8.2} ms",
        f.rate(),
        f.at(0.5).as_secs_f64() * 1e3,
        f.at(0.99).as_secs_f64() * 1e3,
    );
}
