//! No endpoint is open by accident: every operation of War Room's OpenAPI document either is on
//! the short list of public ones, or answers an anonymous caller 401 in War Room's error shape
//! before it reads anything else (path, query or body).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{expect_error, spawn_app};

/// Operations anyone may call: sign-in and its mail links, health, vendor callbacks.
const PUBLIC: &[&str] = &[
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/reset-password",
    "POST /api/v1/auth/verify-email",
    "POST /api/v1/auth/oauth/google",
    "POST /api/v1/auth/oauth/meta",
    "POST /api/v1/auth/oauth/mock/authorize",
    "GET /api/v1/health",
    "GET /api/v1/status",
    "GET /healthz",
    "GET /readyz",
    // Twilio's status callback proves itself with `X-Twilio-Signature`, not a token
    // (tests/api/delivery: a missing or wrong signature is 403).
    "POST /api/v1/integrations/twilio/status",
];

#[tokio::test]
async fn every_operation_off_the_public_list_refuses_anonymous_callers() {
    let app = spawn_app().await;
    let doc = platform::product::openapi::<warroom::WarRoom>();
    let id = uuid::Uuid::now_v7().to_string();
    let mut public_seen = BTreeSet::new();
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let ops = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ];
        for (method, op) in ops {
            if op.is_none() {
                continue;
            }
            let name = format!("{method} {path}");
            if PUBLIC.contains(&name.as_str()) {
                public_seen.insert(name);
                continue;
            }
            // Any `{param}` becomes a fresh id: the caller must be refused before it matters.
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        id.as_str()
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let r = app
                .call(method.clone(), &concrete)
                .json(json!({}))
                .send()
                .await;
            assert_eq!(
                r.status.as_u16(),
                401,
                "{name} answered {}: {}",
                r.status,
                r.text
            );
            expect_error(&r, 401, "unauthenticated");
            checked += 1;
        }
    }
    let missing: Vec<_> = PUBLIC
        .iter()
        .filter(|p| !public_seen.contains(**p))
        .collect();
    assert!(
        missing.is_empty(),
        "public operations not in the document: {missing:?}"
    );
    assert!(checked > 40, "only {checked} operations checked");
}
