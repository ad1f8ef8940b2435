//! Accounts (seed 004 "Authentication Endpoints"): registration makes a user, an organization
//! they own and an owner profile, and mails a verification link; only verified accounts sign
//! in; `/api/auth/me` and `/api/auth/logout` work on the Bearer session.

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;
use platform::{identity::UserFilter, validate::Paging};

#[tokio::test]
async fn registering_creates_the_user_an_owned_organization_an_owner_profile_and_mails_a_link() {
    let app = spawn_app().await;
    let r = app.register("Ann@Example.com", "Ann", None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body, json!({ "verificationSent": true }));

    let stored = app
        .ctx
        .identity
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .expect("user stored under the normalised address");
    assert_eq!(stored.email, "ann@example.com");
    assert_eq!(stored.name, "Ann");
    assert_eq!(stored.role, "user");
    assert!(!stored.email_verified);

    let orgs = app.organizations().await;
    assert_eq!(orgs.len(), 1, "exactly one organization stored");
    assert_eq!(orgs[0].owner_id, stored.id);
    assert_eq!(orgs[0].name, "Ann's organization", "default name");
    let profile = app
        .profile_of(stored.id)
        .await
        .expect("a profile row for the new user");
    assert_eq!(profile.organization_id, orgs[0].id);
    assert_eq!(profile.org_role, "owner");

    let mails = app.mails_to("ann@example.com").await;
    assert_eq!(mails.len(), 1, "one verification mail: {mails:?}");
    assert!(
        extract_param(&mails[0].1, "token").is_some_and(|t| t.len() >= 16),
        "the mail carries a verification link: {}",
        mails[0].1
    );
}

#[tokio::test]
async fn registering_with_an_organization_name_names_the_organization_after_it() {
    let app = spawn_app().await;
    app.register_ok("bo@example.com", "Bo", Some("Acme Leads"))
        .await;
    let orgs = app.organizations().await;
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].name, "Acme Leads");
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answer_its_owner_a_notice_and_no_second_account() {
    let app = spawn_app().await;
    let owner = app.register_ok("cy@example.com", "Cy", None).await;
    let fresh = app.register("new-cy@example.com", "New Cy", None).await;

    let again = app
        .register("cy@example.com", "Cy Two", Some("Other"))
        .await;
    assert_eq!(again.status, fresh.status, "{}", again.text);
    assert_eq!(again.body, fresh.body, "the same body for a taken address");
    assert_eq!(again.header("content-type"), fresh.header("content-type"));

    // The owner learns of the attempt, with a way back into their account.
    let mails = app.wait_for_mails("cy@example.com", 2).await;
    assert_eq!(mails.len(), 2, "verification, then the notice: {mails:?}");
    let (subject, body) = &mails[0];
    assert!(!subject.contains("Confirm"), "{subject}");
    assert!(body.contains("already has"), "{body}");
    let reset = extract_param(body, "token").expect("a reset link in the notice");
    let r = app
        .reset(json!({ "token": reset, "password": "a brand new passphrase" }))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the notice's link works: {}",
        r.text
    );

    // A differently cased address is the same one: still no second account or notice.
    let cased = app.register("  CY@example.COM ", "Cy Three", None).await;
    assert_eq!(cased.status, fresh.status, "{}", cased.text);
    assert_eq!(cased.body, fresh.body);
    assert_eq!(app.user_count().await, 2, "cy and new-cy only");
    assert_eq!(app.organizations().await.len(), 2, "no third organization");
    assert_eq!(app.profiles().await.len(), 2);
    let stored = app
        .ctx
        .identity
        .user_by_email("cy@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.id, stored.name.as_str()), (owner.id, "Cy"));
    assert_eq!(
        app.settled_mails("cy@example.com").await.len(),
        2,
        "one notice an hour per address"
    );
}

#[tokio::test]
async fn a_failed_organization_insert_leaves_no_user_behind() {
    let app = spawn_app().await;
    // The organizations table goes away under the running app, so the second insert of the
    // registration fails after the user's row was written in the same transaction.
    app.ctx
        .db
        .execute_unprepared("ALTER TABLE organizations RENAME TO organizations_gone")
        .await
        .unwrap();
    let r = app.register("ruth@example.com", "Ruth", None).await;
    expect_error(&r, 500, "internal");
    assert!(
        app.ctx
            .identity
            .user_by_email("ruth@example.com")
            .await
            .unwrap()
            .is_none(),
        "the user's row was rolled back with the organization's"
    );
    assert_eq!(app.user_count().await, 0);
    assert!(app.settled_mails("ruth@example.com").await.is_empty());

    // The operator path (`basalt user create`) is all or nothing too.
    let operator = leadgen::service::accounts::create_with_organization(
        &app.ctx,
        leadgen::service::accounts::NewAccount {
            email: "op@example.com",
            password: PASSWORD,
            name: "Op",
            organization_name: None,
            role: "admin",
            email_verified: true,
        },
    )
    .await;
    assert!(operator.is_err());
    assert_eq!(app.user_count().await, 0);

    // With the table back, the same registration goes through.
    app.ctx
        .db
        .execute_unprepared("ALTER TABLE organizations_gone RENAME TO organizations")
        .await
        .unwrap();
    app.register_ok("ruth@example.com", "Ruth", None).await;
    assert_eq!(app.organizations().await.len(), 1);
}

#[tokio::test]
async fn registration_validation_names_every_bad_field_and_stores_nothing() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "not-an-email", "password": "short", "name": "   " }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let fields = error_fields(&r);
    for f in ["email", "password", "name"] {
        assert!(
            fields.contains(&f.to_owned()),
            "{f} missing from {fields:?}"
        );
    }

    let long_org = app
        .register("dee@example.com", "Dee", Some(&"o".repeat(101)))
        .await;
    expect_error(&long_org, 400, "invalid_argument");
    assert!(
        error_fields(&long_org).contains(&"organizationName".to_owned()),
        "{}",
        long_org.text
    );

    let missing = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "eve@example.com", "name": "Eve" }),
        )
        .await;
    expect_error(&missing, 400, "invalid_argument");
    assert!(error_fields(&missing).contains(&"password".to_owned()));

    assert_eq!(
        app.ctx
            .identity
            .users(&UserFilter::default(), Paging::new(1, 10))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(app.organizations().await.is_empty());
    assert!(app.profiles().await.is_empty());
    assert!(app.settled_mails("dee@example.com").await.is_empty());
}

#[tokio::test]
async fn an_overlong_organization_name_is_reported_together_with_the_other_bad_fields() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({
                "email": "not-an-email",
                "password": "short",
                "name": "Gil",
                "organizationName": "o".repeat(101),
            }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    let fields = error_fields(&r);
    for f in ["email", "password", "organizationName"] {
        assert!(
            fields.contains(&f.to_owned()),
            "{f} missing from {fields:?}: one round trip should name every bad field"
        );
    }
}

#[tokio::test]
async fn fields_a_request_does_not_define_are_refused_by_name() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({
                "email": "sneaky@example.com", "password": PASSWORD, "name": "Sneaky",
                "role": "admin",
            }),
        )
        .await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["role"], "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("organizationName")
    );
    assert_eq!(app.user_count().await, 0, "nothing stored");
    for (path, body, field) in [
        (
            "/api/auth/login",
            json!({ "email": "a@example.com", "password": PASSWORD, "remember": true }),
            "remember",
        ),
        (
            "/api/auth/refresh",
            json!({ "refresh_token": "x" }),
            "refresh_token",
        ),
        (
            "/api/auth/verify",
            json!({ "token": "x", "code": "y" }),
            "code",
        ),
        (
            "/api/auth/reset-password",
            json!({ "email": "a@example.com", "captcha": "" }),
            "captcha",
        ),
        (
            "/api/auth/google",
            json!({ "credential": "x", "nonce": "n" }),
            "nonce",
        ),
        (
            "/api/auth/google/mock/authorize",
            json!({ "email": "a@example.com", "redirectUri": "http://app.test/cb", "scope": "openid" }),
            "scope",
        ),
        (
            "/api/auth/google/mock/token",
            json!({ "code": "x", "grantType": "authorization_code" }),
            "grantType",
        ),
    ] {
        let r = app.post(path, None, body).await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), [field], "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn a_registration_cannot_choose_its_role_or_skip_verification() {
    let app = spawn_app().await;
    let stored = app.register_ok("sneaky@example.com", "Sneaky", None).await;
    assert_eq!(stored.role, "user");
    assert!(!stored.email_verified);
    expect_error(
        &app.login("sneaky@example.com", PASSWORD).await,
        403,
        "permission_denied",
    );
}

#[tokio::test]
async fn an_organization_name_of_exactly_100_characters_is_accepted() {
    let app = spawn_app().await;
    let name = "n".repeat(100);
    app.register_ok("fay@example.com", "Fay", Some(&name)).await;
    assert_eq!(app.organizations().await[0].name, name);
}

#[tokio::test]
async fn an_unverified_account_is_refused_with_403_and_left_without_a_usable_session() {
    let app = spawn_app().await;
    let user = app.register_ok("gus@example.com", "Gus", None).await;

    let r = app.login("gus@example.com", PASSWORD).await;
    expect_error(&r, 403, "permission_denied");
    assert_eq!(r.body["error"]["details"]["emailNotVerified"], true);
    assert!(
        !r.text.contains("accessToken") && !r.text.contains("refreshToken"),
        "no tokens handed out: {}",
        r.text
    );
    assert!(
        app.sessions_of(user.id)
            .await
            .iter()
            .all(|s| s.revoked_at.is_some()),
        "every session of the unverified account is revoked"
    );
}

#[tokio::test]
async fn a_wrong_password_on_an_unverified_account_is_401_and_does_not_reveal_the_account() {
    let app = spawn_app().await;
    app.register_ok("hal@example.com", "Hal", None).await;
    let r = app.login("hal@example.com", "wrong password!!").await;
    expect_error(&r, 401, "unauthenticated");
    assert!(r.body["error"]["details"].get("emailNotVerified").is_none());
}

#[tokio::test]
async fn verifying_with_the_mailed_token_activates_the_account_and_then_login_works() {
    let app = spawn_app().await;
    let reg = app
        .register_ok("ida@example.com", "Ida", Some("Ida Co"))
        .await;
    let org = app.organizations().await.remove(0);
    let token = app.token_from_mail("ida@example.com", "Confirm").await;

    let v = app.verify(json!({ "token": token })).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!(v.body, json!({ "success": true }));
    assert!(
        app.ctx
            .identity
            .user_by_email("ida@example.com")
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );

    let r = app.login("ida@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["expiresIn"], 900);
    assert!(
        r.body["accessToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        r.body["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(r.body["user"]["id"], reg.id.to_string());
    assert_eq!(r.body["user"]["emailVerified"], true);
    assert_eq!(r.body["user"]["role"], "user");
    assert_eq!(r.body["organization"]["id"], org.id.to_string());
    assert_eq!(r.body["organization"]["name"], "Ida Co");

    let me = app.me(r.body["accessToken"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["user"]["email"], "ida@example.com");

    let cased = app.login(" IDA@Example.com", PASSWORD).await;
    assert_eq!(
        cased.status,
        StatusCode::OK,
        "email is case-insensitive: {}",
        cased.text
    );
}

#[tokio::test]
async fn a_verification_token_works_once() {
    let app = spawn_app().await;
    app.register_ok("jo@example.com", "Jo", None).await;
    let token = app.token_from_mail("jo@example.com", "Confirm").await;
    assert_eq!(
        app.verify(json!({ "token": token })).await.status,
        StatusCode::OK
    );
    let again = app.verify(json!({ "token": token })).await;
    expect_error(&again, 400, "invalid_argument");
}

#[tokio::test]
async fn an_unknown_verification_token_is_400_and_verifies_nobody() {
    let app = spawn_app().await;
    app.register_ok("kim@example.com", "Kim", None).await;
    let r = app.verify(json!({ "token": "not-a-real-token" })).await;
    expect_error(&r, 400, "invalid_argument");
    let r = app.login("kim@example.com", PASSWORD).await;
    expect_error(&r, 403, "permission_denied");
}

#[tokio::test]
async fn verify_with_neither_or_both_of_token_and_email_is_400() {
    let app = spawn_app().await;
    app.register_ok("lou@example.com", "Lou", None).await;
    let token = app.token_from_mail("lou@example.com", "Confirm").await;
    let neither = app.verify(json!({})).await;
    expect_error(&neither, 400, "invalid_argument");
    let both = app
        .verify(json!({ "token": token, "email": "lou@example.com" }))
        .await;
    expect_error(&both, 400, "invalid_argument");
    // Neither request used the token.
    let v = app.verify(json!({ "token": token })).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
}

#[tokio::test]
async fn resending_mails_a_fresh_link_that_activates_the_account() {
    let app = spawn_app().await;
    app.register_ok("max@example.com", "Max", None).await;
    assert_eq!(app.mails_to("max@example.com").await.len(), 1);

    let r = app.verify(json!({ "email": "MAX@example.com" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    let mails = app.wait_for_mails("max@example.com", 2).await;
    assert_eq!(mails.len(), 2, "a second verification mail: {mails:?}");

    let token = extract_param(&mails[0].1, "token").expect("token in the resent mail");
    let v = app.verify(json!({ "token": token })).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    let login = app.login("max@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
}

#[tokio::test]
async fn resending_to_an_unknown_address_answers_the_same_and_mails_nothing() {
    let app = spawn_app().await;
    app.register_ok("ned@example.com", "Ned", None).await;
    let known = app.verify(json!({ "email": "ned@example.com" })).await;
    let unknown = app.verify(json!({ "email": "nobody@example.com" })).await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.text);
    assert_eq!(unknown.status, known.status);
    assert_eq!(
        unknown.body, known.body,
        "same answer for unknown addresses"
    );
    assert!(app.settled_mails("nobody@example.com").await.is_empty());
}

#[tokio::test]
async fn resending_to_an_invalid_address_is_400_naming_the_email() {
    let app = spawn_app().await;
    let r = app.verify(json!({ "email": "nope" })).await;
    expect_error(&r, 400, "invalid_argument");
    assert!(error_fields(&r).contains(&"email".to_owned()), "{}", r.text);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    app.create_user("oz@example.com", "user", true).await;
    let wrong = app.login("oz@example.com", "wrong password!!").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    expect_error(&wrong, 401, "unauthenticated");
    expect_error(&unknown, 401, "unauthenticated");
    assert_eq!(
        wrong.body["error"]["message"],
        unknown.body["error"]["message"]
    );
    assert_eq!(
        wrong.body["error"]["details"],
        unknown.body["error"]["details"]
    );
}

#[tokio::test]
async fn me_returns_the_caller_and_their_organization() {
    let app = spawn_app().await;
    let s = app.login_as("pia@example.com", "user").await;
    let r = app.me(&s.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["id"], s.user.id.to_string());
    assert_eq!(r.body["user"]["email"], "pia@example.com");
    assert_eq!(r.body["user"]["role"], "user");
    assert_eq!(r.body["user"]["emailVerified"], true);
    assert_eq!(r.body["organization"]["id"], s.org.id.to_string());
    assert_eq!(r.body["organization"]["ownerId"], s.user.id.to_string());
    assert_eq!(r.body["organization"]["name"], "Test user's organization");
}

#[tokio::test]
async fn me_without_a_valid_bearer_token_is_401() {
    let app = spawn_app().await;
    let none = app.get("/api/auth/me", None).await;
    expect_error(&none, 401, "unauthenticated");
    let garbage = app.me("not.a.jwt").await;
    expect_error(&garbage, 401, "unauthenticated");
}

#[tokio::test]
async fn logout_ends_the_session_so_its_access_and_refresh_tokens_die() {
    let app = spawn_app().await;
    let s = app.login_as("quin@example.com", "user").await;
    let other = app.login("quin@example.com", PASSWORD).await;
    let other_access = other.body["accessToken"].as_str().unwrap().to_owned();

    let r = app
        .post("/api/auth/logout", Some(&s.access), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));

    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
    expect_error(&app.refresh(&s.refresh).await, 401, "unauthenticated");
    assert!(app.session_of(&s.refresh).await.revoked_at.is_some());
    let again = app
        .post("/api/auth/logout", Some(&s.access), json!({}))
        .await;
    expect_error(&again, 401, "unauthenticated");

    let still = app.me(&other_access).await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "other sessions live on: {}",
        still.text
    );
}
