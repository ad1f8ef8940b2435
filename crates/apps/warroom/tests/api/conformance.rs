//! War Room under testkit's conformance tables (`testkit::conformance`): error shapes for every
//! operation of its OpenAPI document, every rate-limit rule of `service::access::LIMITS` at its
//! boundary, and the cookies a sign-in sets (the device cookie).

use std::future::Future;

use serde_json::json;
use testkit::{
    TestServer,
    conformance::{self, Adjust, Suite},
};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = warroom::WarRoom;

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    fn server(&self) -> &TestServer<warroom::Ctx> {
        self
    }

    async fn browser_sign_in(&self, email: &str) -> Resp {
        if self
            .ctx
            .identity
            .user_by_email(email)
            .await
            .unwrap()
            .is_none()
        {
            self.create_user(email, "viewer").await;
        }
        let body = json!({ "email": email, "password": PASSWORD });
        self.post("/api/v1/auth/login", None, body).await
    }
}

#[tokio::test]
async fn bad_input_is_refused_in_the_error_shape() {
    conformance::error_shapes::<TestApp>().await;
}

#[tokio::test]
async fn every_rate_limit_rule_holds_at_its_boundary() {
    conformance::rate_limits::<TestApp>().await;
}

#[tokio::test]
async fn sign_in_cookies_have_safe_attributes() {
    conformance::cookies::<TestApp>().await;
}
