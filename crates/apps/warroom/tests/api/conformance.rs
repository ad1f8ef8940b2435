//! War Room under testkit's conformance tables (`testkit::conformance`): error shapes for every
//! operation of its OpenAPI document, every rate-limit rule of `service::access::LIMITS` at its
//! boundary, and the cookies a sign-in sets (the device cookie).

use std::future::Future;

use serde_json::json;
use testkit::conformance::{Adjust, Suite};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = warroom::WarRoom;

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    async fn browser_sign_in(&self, email: &str) -> Resp {
        let body = json!({ "email": email, "password": PASSWORD });
        self.post("/api/v1/auth/login", None, body).await
    }
}

testkit::conformance_tests!(TestApp);
