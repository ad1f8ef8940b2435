//! Crenoir X MAP under testkit's conformance tables (`testkit::conformance`): error shapes for
//! every operation (validation failures naming fields are 422), every rate-limit rule at its
//! boundary, and the cookie session (attributes, CSRF on refresh, logout and access-cookie
//! state changes).

use std::future::Future;

use serde_json::json;
use testkit::{
    TestServer,
    conformance::{self, Adjust, SessionRoutes, Suite},
};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = crenoir::Crenoir;

    const VALIDATION_STATUS: u16 = 422;

    const SESSION: Option<SessionRoutes> = Some(SessionRoutes {
        refresh: "/auth/refresh",
        logout: "/auth/logout",
        csrf_in_body: Some("/data/csrfToken"),
    });

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    fn server(&self) -> &TestServer<crenoir::Ctx> {
        self
    }

    /// The mock Google code flow, as the web app walks it.
    async fn browser_sign_in(&self, email: &str) -> Resp {
        let code = self.mock_code(email, None).await;
        self.google_login(json!({ "code": code, "redirectUri": REDIRECT }))
            .await
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
async fn session_cookies_need_the_csrf_token_of_their_session() {
    conformance::cookies::<TestApp>().await;
}
