//! `/api/v1/users`: the admin's user management (list, create, read, update, delete).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

fn emails(r: &Resp) -> Vec<String> {
    r.body["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {}", r.text))
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admin_lists_users_oldest_first_with_total_page_and_limit() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for e in ["b@example.com", "c@example.com", "d@example.com"] {
        app.create_user(e, "viewer").await;
    }
    let r = app.get("/api/v1/users", Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 4);
    assert_eq!(r.body["page"], 1);
    assert_eq!(r.body["limit"], 20);
    assert_eq!(
        emails(&r),
        [
            "admin@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com"
        ]
    );
    let first = &r.body["users"][0];
    assert_eq!(first["role"], "admin");
    assert!(
        first["permissions"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    assert!(first["id"].is_string() && first["createdAt"].is_string());

    let r = app
        .get("/api/v1/users?page=2&limit=3", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.body["total"].as_u64(),
            r.body["page"].as_u64(),
            r.body["limit"].as_u64()
        ),
        (Some(4), Some(2), Some(3))
    );
    assert_eq!(emails(&r), ["d@example.com"]);
    let r = app
        .get("/api/v1/users?page=3&limit=3", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200);
    assert!(emails(&r).is_empty());
    assert_eq!(r.body["total"], 4);
}

#[tokio::test]
async fn listing_refuses_out_of_range_paging() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    for (q, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("page=abc", ""),
        ("limit=-1", ""),
    ] {
        let r = app
            .get(&format!("/api/v1/users?{q}"), Some(&admin.access))
            .await;
        expect_error(&r, 400, "invalid_argument");
        if !field.is_empty() {
            let fields = r.body["details"]["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("{q}: {}", r.text));
            assert!(
                fields.iter().any(|f| f["field"] == field),
                "{q}: {}",
                r.text
            );
        }
    }
    let r = app
        .get("/api/v1/users?limit=100", Some(&admin.access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["limit"], 100);
}

#[tokio::test]
async fn admin_creates_a_user_with_a_role_who_can_then_sign_in() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "  Nora@Example.com ", "password": "a long enough password", "name": "Nora", "role": "analyst" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let user = &r.body["user"];
    assert_eq!(user["email"], "nora@example.com");
    assert_eq!(user["name"], "Nora");
    assert_eq!(user["role"], "analyst");
    assert!(
        user["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["resource"] == "reports")
    );
    assert!(
        !r.text.contains("argon2") && !r.text.to_lowercase().contains("hash"),
        "{}",
        r.text
    );

    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "nora@example.com", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["role"], "analyst");
    assert_eq!(login.body["user"]["id"], user["id"]);

    let r = app
        .get(
            &format!("/api/v1/users/{}", user["id"].as_str().unwrap()),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "nora@example.com");
}

#[tokio::test]
async fn a_created_user_without_a_role_is_a_viewer() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "vic@example.com", "password": PASSWORD, "name": "Vic" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["role"], "viewer");
}

#[tokio::test]
async fn creating_a_duplicate_email_is_already_exists() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    app.create_user("taken@example.com", "viewer").await;
    for email in [
        "taken@example.com",
        "TAKEN@example.com",
        "admin@example.com",
    ] {
        let r = app
            .post(
                "/api/v1/users",
                Some(&admin.access),
                json!({ "email": email, "password": PASSWORD, "name": "Dup" }),
            )
            .await;
        expect_error(&r, 409, "already_exists");
    }
    let r = app.get("/api/v1/users", Some(&admin.access)).await;
    assert_eq!(r.body["total"], 2);
}

#[tokio::test]
async fn creating_a_user_validates_every_field() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let cases = [
        (
            json!({ "email": "x@example.com", "password": "short", "name": "X" }),
            Some("password"),
        ),
        (
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "X" }),
            Some("email"),
        ),
        (
            json!({ "email": "x@example.com", "password": PASSWORD, "name": "   " }),
            Some("name"),
        ),
        (
            json!({ "email": "x@example.com", "password": PASSWORD, "name": "X", "role": "superuser" }),
            None,
        ),
        (
            json!({ "email": "x@example.com", "password": PASSWORD, "name": "X", "role": "Admin" }),
            None,
        ),
        (
            json!({ "email": "x@example.com", "password": PASSWORD, "name": "X", "emailVerified": true }),
            None,
        ),
        (json!({ "email": "x@example.com", "name": "X" }), None),
    ];
    for (body, field) in cases {
        let r = app
            .post("/api/v1/users", Some(&admin.access), body.clone())
            .await;
        expect_error(&r, 400, "invalid_argument");
        if let Some(f) = field {
            let fields = r.body["details"]["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}: {}", r.text));
            assert!(fields.iter().any(|x| x["field"] == f), "{body}: {}", r.text);
        }
    }
    assert!(
        app.ctx
            .identity
            .user_by_email("x@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn getting_an_unknown_or_malformed_id_fails_cleanly() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let unknown = uuid::Uuid::new_v4();
    expect_error(
        &app.get(&format!("/api/v1/users/{unknown}"), Some(&admin.access))
            .await,
        404,
        "not_found",
    );
    expect_error(
        &put(
            &app,
            &format!("/api/v1/users/{unknown}"),
            &admin.access,
            json!({ "name": "X" }),
        )
        .await,
        404,
        "not_found",
    );
    expect_error(
        &app.delete(&format!("/api/v1/users/{unknown}"), Some(&admin.access))
            .await,
        404,
        "not_found",
    );
    expect_error(
        &app.get("/api/v1/users/not-a-uuid", Some(&admin.access))
            .await,
        400,
        "invalid_argument",
    );
}

#[tokio::test]
async fn admin_renames_and_changes_the_email_of_a_user() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.login_as("bob@example.com", "analyst").await;
    let path = format!("/api/v1/users/{}", bob.user.id);

    let r = put(&app, &path, &admin.access, json!({ "name": "Robert" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["name"], "Robert");
    assert_eq!(r.body["user"]["role"], "analyst");
    assert_eq!(r.body["user"]["email"], "bob@example.com");
    // A rename leaves the user's sessions alone.
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&bob.access)).await.body["name"],
        "Robert"
    );

    let r = put(
        &app,
        &path,
        &admin.access,
        json!({ "email": "Robert@Example.com" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "robert@example.com");
    assert_eq!(
        r.body["user"]["emailVerified"], false,
        "a new address is not verified"
    );
    let r = app.get(&path, Some(&admin.access)).await;
    assert_eq!(r.body["user"]["email"], "robert@example.com");
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "robert@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let old = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "bob@example.com", "password": PASSWORD }),
        )
        .await;
    expect_error(&old, 401, "unauthenticated");
}

#[tokio::test]
async fn changing_the_email_to_a_taken_one_is_already_exists() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.create_user("bob@example.com", "viewer").await;
    app.create_user("carol@example.com", "viewer").await;
    let r = put(
        &app,
        &format!("/api/v1/users/{}", bob.id),
        &admin.access,
        json!({ "email": "carol@example.com" }),
    )
    .await;
    expect_error(&r, 409, "already_exists");
    let still = app.ctx.identity.user(bob.id).await.unwrap().unwrap();
    assert_eq!(still.email, "bob@example.com");
}

#[tokio::test]
async fn changing_a_role_takes_effect_and_ends_that_users_sessions() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.login_as("bob@example.com", "viewer").await;
    let path = format!("/api/v1/users/{}", bob.user.id);

    let r = put(&app, &path, &admin.access, json!({ "role": "manager" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["role"], "manager");
    assert!(
        r.body["user"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["resource"] == "campaigns"
                && p["actions"].as_array().unwrap().contains(&json!("delete")))
    );

    expect_error(
        &app.get("/api/v1/auth/me", Some(&bob.access)).await,
        401,
        "unauthenticated",
    );
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refreshToken": bob.refresh }),
        )
        .await;
    expect_error(&r, 401, "unauthenticated");
    // The admin's own session is untouched.
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&admin.access)).await.status,
        200
    );
    let stored = app.ctx.identity.user(bob.user.id).await.unwrap().unwrap();
    assert_eq!(stored.role, "manager");
}

#[tokio::test]
async fn an_invalid_role_or_unknown_field_in_an_update_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.create_user("bob@example.com", "viewer").await;
    let path = format!("/api/v1/users/{}", bob.id);
    for body in [
        json!({ "role": "owner" }),
        json!({ "role": 3 }),
        json!({ "name": "Bob", "password": "new password 123" }),
        json!({ "name": "Bob", "emailVerified": true }),
        json!({ "name": "" }),
        json!({ "email": "nope" }),
    ] {
        let r = put(&app, &path, &admin.access, body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
    }
    let still = app.ctx.identity.user(bob.id).await.unwrap().unwrap();
    assert_eq!(
        (
            still.role.as_str(),
            still.name.as_str(),
            still.email.as_str()
        ),
        ("viewer", "Test viewer", "bob@example.com")
    );
}

#[tokio::test]
async fn deleting_a_user_removes_them_and_kills_their_token() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let bob = app.login_as("bob@example.com", "analyst").await;
    let path = format!("/api/v1/users/{}", bob.user.id);

    let r = app.delete(&path, Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    expect_error(&app.get(&path, Some(&admin.access)).await, 404, "not_found");
    expect_error(
        &app.delete(&path, Some(&admin.access)).await,
        404,
        "not_found",
    );
    expect_error(
        &app.get("/api/v1/auth/me", Some(&bob.access)).await,
        401,
        "unauthenticated",
    );
    let r = app.get("/api/v1/users", Some(&admin.access)).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(emails(&r), ["admin@example.com"]);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "bob@example.com", "password": PASSWORD }),
        )
        .await;
    expect_error(&login, 401, "unauthenticated");
    // The address is free again.
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "bob@example.com", "password": PASSWORD, "name": "Bob" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn an_admin_cannot_delete_themself() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let r = app
        .delete(
            &format!("/api/v1/users/{}", admin.user.id),
            Some(&admin.access),
        )
        .await;
    expect_error(&r, 403, "permission_denied");
    assert!(
        app.ctx
            .identity
            .user(admin.user.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&admin.access)).await.status,
        200
    );
}

#[tokio::test]
async fn an_admin_cannot_demote_themself() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let path = format!("/api/v1/users/{}", admin.user.id);
    for role in ["manager", "analyst", "viewer"] {
        let r = put(
            &app,
            &path,
            &admin.access,
            json!({ "role": role, "name": "Changed" }),
        )
        .await;
        expect_error(&r, 403, "permission_denied");
    }
    let me = app.get("/api/v1/auth/me", Some(&admin.access)).await;
    assert_eq!(
        me.status, 200,
        "the refused demotion must not end the session: {}",
        me.text
    );
    assert_eq!(me.body["role"], "admin");
    assert_eq!(
        me.body["name"], "Test admin",
        "a refused update changes nothing"
    );
    // Keeping the role while renaming oneself is fine.
    let r = put(
        &app,
        &path,
        &admin.access,
        json!({ "role": "admin", "name": "Boss" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["name"], "Boss");
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&admin.access)).await.status,
        200
    );
}

#[tokio::test]
async fn an_admin_can_demote_another_admin() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@example.com", "admin").await;
    let other = app.login_as("second@example.com", "admin").await;
    let r = put(
        &app,
        &format!("/api/v1/users/{}", other.user.id),
        &admin.access,
        json!({ "role": "viewer" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["role"], "viewer");
    expect_error(
        &app.get("/api/v1/users", Some(&other.access)).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn non_admins_cannot_create_update_or_delete_users() {
    let app = spawn_app().await;
    let target = app.create_user("target@example.com", "viewer").await;
    let path = format!("/api/v1/users/{}", target.id);
    for role in ["viewer", "analyst", "manager"] {
        let who = app.login_as(&format!("{role}@example.com"), role).await;
        let r = app
            .post("/api/v1/users", Some(&who.access), json!({ "email": format!("new-{role}@example.com"), "password": PASSWORD, "name": "N", "role": "admin" }))
            .await;
        expect_error(&r, 403, "permission_denied");
        expect_error(
            &put(&app, &path, &who.access, json!({ "role": "admin" })).await,
            403,
            "permission_denied",
        );
        // Promoting oneself is just as forbidden.
        expect_error(
            &put(
                &app,
                &format!("/api/v1/users/{}", who.user.id),
                &who.access,
                json!({ "role": "admin" }),
            )
            .await,
            403,
            "permission_denied",
        );
        expect_error(
            &app.delete(&path, Some(&who.access)).await,
            403,
            "permission_denied",
        );
        assert!(
            app.ctx
                .identity
                .user_by_email(&format!("new-{role}@example.com"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            app.ctx
                .identity
                .user(who.user.id)
                .await
                .unwrap()
                .unwrap()
                .role,
            role
        );
    }
    let t = app.ctx.identity.user(target.id).await.unwrap().unwrap();
    assert_eq!(t.role, "viewer");
}
