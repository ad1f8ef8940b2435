//! `/api/leads` (docs/leadgen.md "Leads"): validation, deduplication by email within the
//! organization, the explainable score, the list's filters, sorts and cursors, the timeline
//! of changes, the owner's status mail, and organization isolation.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(page: &Value) -> Vec<String> {
    page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

fn factor<'a>(lead: &'a Value, name: &str) -> &'a Value {
    lead["score"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} factor in {lead}"))
}

#[tokio::test]
async fn a_new_lead_is_normalised_scored_with_its_factors_and_owned_by_its_creator() {
    let app = spawn_app().await;
    let me = app.login_as("seller@example.com", "user").await;
    let lead = app
        .lead_ok(
            &me.access,
            json!({
                "email": "  Ada@Engines.Example ", "name": "Ada Lovelace", "title": "CTO",
                "company": "Analytical Engines", "website": "https://engines.example/about",
                "phone": "+44 (20) 7123-4567", "location": "London", "industry": "Software",
                "tags": ["Enterprise", "enterprise", "q3"], "source": "referral"
            }),
        )
        .await;
    assert_eq!(lead["email"], "ada@engines.example");
    assert_eq!(lead["phone"], "+442071234567");
    assert_eq!(lead["tags"], json!(["enterprise", "q3"]));
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["source"], "referral");
    assert_eq!(lead["ownerId"], me.user.id.to_string());
    assert_eq!(lead["createdBy"], me.user.id.to_string());
    assert_eq!(lead["organizationId"], me.org.id.to_string());
    // Neutral fit 50 (no goal yet), complete 100, deliverable 100, engagement 0 (new).
    assert_eq!(lead["score"]["value"], 65, "{lead}");
    assert_eq!(factor(&lead, "fit")["score"], 50);
    assert!(
        factor(&lead, "fit")["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no business goal")
    );
    assert_eq!(factor(&lead, "completeness")["score"], 100);
    assert_eq!(factor(&lead, "deliverability")["score"], 100);
    assert_eq!(factor(&lead, "engagement")["score"], 0);

    let bare = app
        .lead_ok(&me.access, json!({ "email": "info@mailinator.com" }))
        .await;
    assert_eq!(factor(&bare, "deliverability")["score"], 0);
    assert_eq!(factor(&bare, "completeness")["score"], 0);
    assert_eq!(bare["score"]["value"], 15, "{bare}");
    assert_eq!(bare["source"], "manual");

    let read = app
        .get(
            &format!("/api/leads/{}", lead["id"].as_str().unwrap()),
            Some(&me.access),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["lead"], lead);
    let timeline = read.body["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["kind"], "created");
    assert_eq!(timeline[0]["actorId"], me.user.id.to_string());
}

#[tokio::test]
async fn a_second_lead_at_an_address_is_a_conflict_naming_the_first_but_not_across_organizations() {
    let app = spawn_app().await;
    let me = app.login_as("dup@example.com", "user").await;
    let first = app
        .lead_ok(&me.access, json!({ "email": "buyer@corp.example" }))
        .await;
    let again = app
        .create_lead(
            &me.access,
            json!({ "email": "BUYER@corp.example", "name": "B" }),
        )
        .await;
    expect_error(&again, 409, "already_exists");
    assert_eq!(again.error()["details"]["leadId"], first["id"]);
    let page = app.leads(&me.access, "").await;
    assert_eq!(page.body["total"], 1);

    let other = app.login_as("rival@example.com", "user").await;
    let theirs = app
        .create_lead(&other.access, json!({ "email": "buyer@corp.example" }))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
}

#[tokio::test]
async fn bad_fields_are_refused_together_never_stored() {
    let app = spawn_app().await;
    let me = app.login_as("strict@example.com", "user").await;
    let r = app
        .create_lead(
            &me.access,
            json!({
                "email": "not-an-address", "phone": "020 7123 4567", "website": "not a site",
                "status": "hot", "source": "tv", "tags": ["ok", ""], "name": "x".repeat(201)
            }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(
        fields,
        [
            "email", "name", "phone", "source", "status", "tags[1]", "website"
        ]
    );
    let missing = app
        .create_lead(&me.access, json!({ "name": "No Mail" }))
        .await;
    expect_error(&missing, 400, "invalid_argument");
    assert_eq!(error_fields(&missing), ["email"]);
    let unknown = app
        .create_lead(&me.access, json!({ "email": "a@b.example", "score": 99 }))
        .await;
    expect_error(&unknown, 400, "invalid_argument");
    assert_eq!(app.leads(&me.access, "").await.body["total"], 0);

    for (query, field) in [
        ("minScore=abc", "minScore"),
        ("maxScore=101", "maxScore"),
        ("minScore=80&maxScore=10", "minScore"),
        ("sort=name", "sort"),
        ("status=hot", "status"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
    ] {
        let r = app.leads(&me.access, query).await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{query}");
    }
}

#[tokio::test]
async fn the_list_filters_by_status_source_tag_score_range_and_text() {
    let app = spawn_app().await;
    let me = app.login_as("filters@example.com", "user").await;
    let full = json!({ "name": "Grace Hopper", "title": "Rear Admiral", "company": "Navy Labs",
        "website": "navy.example", "phone": "+12025550100", "location": "Arlington",
        "industry": "Defense" });
    let mut grace = full.clone();
    grace["email"] = json!("grace@navy.example");
    grace["tags"] = json!(["cobol", "vip"]);
    grace["source"] = json!("event");
    let grace = app.lead_ok(&me.access, grace).await;
    let linus = app
        .lead_ok(
            &me.access,
            json!({ "email": "linus@kernel.example", "company": "Kernel 100%_Co",
                "tags": ["vip"], "status": "qualified" }),
        )
        .await;
    let spam = app
        .lead_ok(
            &me.access,
            json!({ "email": "sales@yopmail.com", "source": "import" }),
        )
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let found = async |q: &str| {
        let r = app.leads(&me.access, q).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        let mut got = ids(&r.body);
        got.sort();
        assert_eq!(r.body["total"], got.len(), "{q}");
        got
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(found("status=qualified").await, [id(&linus)]);
    assert_eq!(found("source=event").await, [id(&grace)]);
    assert_eq!(found("tag=VIP").await, sorted(vec![id(&grace), id(&linus)]));
    assert_eq!(found("tag=cobol").await, [id(&grace)]);
    assert_eq!(found("q=hopper").await, [id(&grace)]);
    assert_eq!(found("q=KERNEL").await, [id(&linus)]);
    // LIKE's wildcards are taken literally.
    assert_eq!(found("q=100%25_co").await, [id(&linus)]);
    assert_eq!(found("q=%25").await, [id(&linus)]);
    let (g, l, s) = (
        grace["score"]["value"].as_i64().unwrap(),
        linus["score"]["value"].as_i64().unwrap(),
        spam["score"]["value"].as_i64().unwrap(),
    );
    assert!(g > l && l > s, "scores {g} {l} {s}");
    assert_eq!(found(&format!("minScore={g}")).await, [id(&grace)]);
    assert_eq!(found(&format!("maxScore={s}")).await, [id(&spam)]);
    assert_eq!(
        found(&format!("minScore={s}&maxScore={l}")).await,
        sorted(vec![id(&spam), id(&linus)])
    );
    assert_eq!(found("tag=vip&status=qualified").await, [id(&linus)]);
    assert!(found("tag=none").await.is_empty());
}

#[tokio::test]
async fn cursors_walk_every_sort_without_repeats_or_gaps() {
    let app = spawn_app().await;
    let me = app.login_as("pages@example.com", "user").await;
    let mut made = Vec::new();
    for i in 0..7u32 {
        // Scores repeat (ties are broken by id) and differ (title and company vary).
        let mut body = json!({ "email": format!("p{i}@corp.example") });
        if i.is_multiple_of(2) {
            body["title"] = json!("VP");
        }
        if i.is_multiple_of(3) {
            body["company"] = json!("Corp");
        }
        made.push(app.lead_ok(&me.access, body).await);
    }
    // One update so updatedAt differs from createdAt's order.
    let first = made[0]["id"].as_str().unwrap();
    let r = app
        .put(
            &format!("/api/leads/{first}"),
            &me.access,
            json!({ "location": "Oslo" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for sort in [
        "-createdAt",
        "createdAt",
        "-updatedAt",
        "updatedAt",
        "-score",
        "score",
    ] {
        let whole = app
            .leads(&me.access, &format!("sort={sort}&limit=100"))
            .await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.text);
        let expected = ids(&whole.body);
        assert_eq!(expected.len(), 7);
        let mut walked = Vec::new();
        let mut query = format!("sort={sort}&limit=3");
        let mut pages = 0;
        loop {
            let r = app.leads(&me.access, &query).await;
            assert_eq!(r.status, StatusCode::OK, "{sort}: {}", r.text);
            assert_eq!(r.body["total"], 7);
            walked.extend(ids(&r.body));
            pages += 1;
            match r.body["nextCursor"].as_str() {
                Some(c) => query = format!("sort={sort}&limit=3&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}");
        assert_eq!(
            walked, expected,
            "{sort}: the cursor walk is the whole list in order"
        );
    }
    let desc = app.leads(&me.access, "sort=-score&limit=2").await;
    let scores: Vec<i64> = desc.body["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["score"]["value"].as_i64().unwrap())
        .collect();
    assert!(scores[0] >= scores[1]);
    // A cursor belongs to its sort, and says where the page starts (no page with it).
    let cursor = desc.body["nextCursor"].as_str().unwrap();
    let r = app
        .leads(&me.access, &format!("sort=-createdAt&cursor={cursor}"))
        .await;
    assert_eq!(error_fields(&r), ["cursor"]);
    let r = app
        .leads(&me.access, &format!("sort=-score&page=2&cursor={cursor}"))
        .await;
    assert_eq!(error_fields(&r), ["page"]);
    let second = app.leads(&me.access, "sort=-score&limit=2&page=2").await;
    assert_eq!(second.body["page"], 2);
    let by_cursor = app
        .leads(&me.access, &format!("sort=-score&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&second.body), ids(&by_cursor.body));
    assert_eq!(by_cursor.body["page"], 0);
}

#[tokio::test]
async fn an_update_records_who_changed_what_rescores_and_mails_the_owner_on_a_new_status() {
    let app = spawn_app().await;
    let me = app.login_as("owner@example.com", "user").await;
    let lead = app
        .lead_ok(
            &me.access,
            json!({ "email": "cto@target.example", "name": "Tara" }),
        )
        .await;
    let path = format!("/api/leads/{}", lead["id"].as_str().unwrap());
    let r = app
        .put(
            &path,
            &me.access,
            json!({ "status": "qualified", "title": "CTO", "name": null, "note": "Demo went well." }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "qualified");
    assert_eq!(r.body["title"], "CTO");
    assert_eq!(r.body["name"], Value::Null);
    assert_eq!(factor(&r.body, "engagement")["score"], 70);
    assert!(r.body["score"]["value"].as_i64() > lead["score"]["value"].as_i64());
    assert!(r.body["updatedAt"].as_str() > lead["updatedAt"].as_str());

    let mails = app.wait_for_mails("owner@example.com", 1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "Lead cto@target.example is now qualified");
    assert!(
        mails[0].1.contains("from new to qualified"),
        "{}",
        mails[0].1
    );

    // Not a status change: recorded, no mail. The same values again: nothing at all.
    let r = app
        .put(&path, &me.access, json!({ "tags": ["Warm"] }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let same = app
        .put(
            &path,
            &me.access,
            json!({ "tags": ["warm"], "status": "qualified" }),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    assert_eq!(same.body["updatedAt"], r.body["updatedAt"]);
    let note = app
        .put(&path, &me.access, json!({ "note": "Sent pricing." }))
        .await;
    assert_eq!(note.status, StatusCode::OK, "{}", note.text);

    let read = app.get(&path, Some(&me.access)).await;
    let timeline = read.body["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["note", "updated", "status_changed", "created"]);
    assert_eq!(timeline[0]["note"], "Sent pricing.");
    assert_eq!(timeline[0]["changes"], json!([]));
    assert_eq!(
        timeline[1]["changes"],
        json!([{ "field": "tags", "from": [], "to": ["warm"] }])
    );
    let change = &timeline[2];
    assert_eq!(change["actorId"], me.user.id.to_string());
    assert_eq!(change["note"], "Demo went well.");
    assert_eq!(
        change["changes"],
        json!([
            { "field": "name", "from": "Tara", "to": null },
            { "field": "title", "from": null, "to": "CTO" },
            { "field": "status", "from": "new", "to": "qualified" },
        ])
    );
    assert_eq!(app.settled_mails("owner@example.com").await.len(), 1);
    assert_eq!(app.leads(&me.access, "tag=warm").await.body["total"], 1);
}

#[tokio::test]
async fn another_organizations_lead_is_not_found_and_never_listed() {
    let app = spawn_app().await;
    let a = app.login_as("a@org-a.example", "user").await;
    let b = app.login_as("b@org-b.example", "admin").await;
    let lead = app
        .lead_ok(&a.access, json!({ "email": "secret@client.example" }))
        .await;
    let path = format!("/api/leads/{}", lead["id"].as_str().unwrap());
    expect_error(&app.get(&path, Some(&b.access)).await, 404, "not_found");
    let r = app.put(&path, &b.access, json!({ "status": "lost" })).await;
    expect_error(&r, 404, "not_found");
    let unknown = format!("/api/leads/{}", uuid::Uuid::now_v7());
    expect_error(&app.get(&unknown, Some(&a.access)).await, 404, "not_found");
    assert_eq!(app.leads(&b.access, "").await.body["total"], 0);
    assert_eq!(
        app.leads(&b.access, "q=secret").await.body["leads"],
        json!([])
    );
    // Reassigning to someone outside the organization is refused; the lead is unchanged.
    let r = app
        .put(&path, &a.access, json!({ "ownerId": b.user.id }))
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["ownerId"]);
    let read = app.get(&path, Some(&a.access)).await;
    assert_eq!(read.body["lead"]["status"], "new");
    assert_eq!(read.body["lead"]["ownerId"], a.user.id.to_string());
    expect_error(&app.get("/api/leads", None).await, 401, "unauthenticated");
}

#[tokio::test]
async fn an_email_taken_by_another_lead_cannot_be_moved_onto() {
    let app = spawn_app().await;
    let me = app.login_as("mover@example.com", "user").await;
    let one = app
        .lead_ok(&me.access, json!({ "email": "one@x.example" }))
        .await;
    let two = app
        .lead_ok(&me.access, json!({ "email": "two@x.example" }))
        .await;
    let path = format!("/api/leads/{}", two["id"].as_str().unwrap());
    let r = app
        .put(&path, &me.access, json!({ "email": "ONE@x.example" }))
        .await;
    expect_error(&r, 409, "already_exists");
    assert_eq!(r.error()["details"]["leadId"], one["id"]);
    let r = app
        .put(&path, &me.access, json!({ "email": "three@x.example" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .put(&path, &me.access, json!({ "email": "bad", "phone": "12" }))
        .await;
    let fields: HashSet<String> = error_fields(&r).into_iter().collect();
    assert_eq!(fields, HashSet::from(["email".into(), "phone".into()]));
}
