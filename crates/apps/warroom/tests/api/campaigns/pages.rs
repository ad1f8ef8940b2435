//! `GET /campaigns` paging: deep `page`s answer what the whole list says is there, and the
//! keyset `cursor` (Basalt's addition, docs/warroom.md) walks the list without repeats or gaps
//! while campaigns are added.

use serde_json::{Value, json};

use super::*;

/// Creates `n` campaigns named `<prefix> <i>` as `token`; returns their names, newest first.
async fn create_named(app: &TestApp, token: &str, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("{prefix} {i:02}");
        create(app, token, with("name", json!(name))).await;
        out.insert(0, name);
    }
    out
}

async fn list(app: &TestApp, token: &str, query: &str) -> Resp {
    app.get(&format!("{CAMPAIGNS}?{query}"), Some(token)).await
}

fn next_cursor(r: &Resp) -> Option<String> {
    r.body
        .get("nextCursor")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[tokio::test]
async fn every_page_is_its_slice_of_the_whole_list_and_says_where_the_next_starts() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let all = create_named(&app, &manager.access, "Deep", 11).await;
    let whole = list(&app, &manager.access, "limit=100").await;
    assert_eq!(names(&whole), all, "{}", whole.text);
    assert_eq!(next_cursor(&whole), None, "one page holds them all");

    for page in 1..=4 {
        let r = list(&app, &manager.access, &format!("page={page}&limit=3")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let from = (page - 1) * 3;
        let expected: Vec<String> = all.iter().skip(from).take(3).cloned().collect();
        assert_eq!(names(&r), expected, "page {page}");
        assert_eq!(r.body["total"], 11);
        assert_eq!(r.body["page"], page);
        assert_eq!(
            next_cursor(&r).is_some(),
            from + 3 < 11,
            "nextCursor on page {page}: {}",
            r.text
        );
    }
    let beyond = list(&app, &manager.access, "page=9&limit=3").await;
    assert_eq!(names(&beyond), Vec::<String>::new());
    assert_eq!(beyond.body["total"], 11);
}

#[tokio::test]
async fn a_cursor_walk_neither_repeats_nor_skips_while_campaigns_are_added() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let all = create_named(&app, &manager.access, "Walk", 8).await;

    let first = list(&app, &manager.access, "limit=3").await;
    let mut seen = names(&first);
    let mut cursor = next_cursor(&first).expect("a first page of three out of eight continues");
    // Newer campaigns land before the cursor: the walk goes on where it was.
    create_named(&app, &manager.access, "Late", 2).await;
    let mut pages = 1;
    loop {
        let r = list(&app, &manager.access, &format!("limit=3&cursor={cursor}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["page"], 0, "a cursor page's number is not counted");
        assert_eq!(r.body["total"], 10);
        seen.extend(names(&r));
        pages += 1;
        match next_cursor(&r) {
            Some(next) => cursor = next,
            None => break,
        }
        assert!(pages < 10, "the walk does not end: {seen:?}");
    }
    assert_eq!(seen, all, "every campaign once, in order");
}

#[tokio::test]
async fn a_cursor_keeps_to_the_status_asked_for() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    let mut active = Vec::new();
    for i in 0..5 {
        let c = create(
            &app,
            &manager.access,
            with("name", json!(format!("Mixed {i}"))),
        )
        .await;
        if i % 2 == 0 {
            let r = act(
                &app,
                &manager.access,
                &id_of(&c),
                json!({ "action": "activate" }),
            )
            .await;
            expect_status(&r, "active");
            active.insert(0, format!("Mixed {i}"));
        }
    }
    let first = list(&app, &manager.access, "status=active&limit=2").await;
    let cursor = next_cursor(&first).expect("two of three active");
    let rest = list(
        &app,
        &manager.access,
        &format!("status=active&limit=2&cursor={cursor}"),
    )
    .await;
    let mut seen = names(&first);
    seen.extend(names(&rest));
    assert_eq!(seen, active);
    assert_eq!(next_cursor(&rest), None);
}

#[tokio::test]
async fn a_cursor_the_list_did_not_hand_out_or_one_given_with_a_page_is_refused() {
    let app = spawn_app().await;
    let manager = app.login_as("manager@example.com", "manager").await;
    create_named(&app, &manager.access, "Bad", 3).await;
    for bad in ["nope", "%00", "MjAyNi0wMy0wMXxub3BlCg", &"A".repeat(300)] {
        let r = list(&app, &manager.access, &format!("cursor={bad}")).await;
        expect_invalid(&r, "cursor");
    }
    let first = list(&app, &manager.access, "limit=1").await;
    let cursor = next_cursor(&first).expect("more than one");
    let both = list(&app, &manager.access, &format!("page=2&cursor={cursor}")).await;
    expect_invalid(&both, "page");
}
