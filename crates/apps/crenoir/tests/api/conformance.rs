//! Crenoir X MAP under testkit's conformance tables (`testkit::conformance`): error shapes for
//! every operation (validation failures naming fields are 422), every rate-limit rule at its
//! boundary, and the cookie session (attributes, CSRF on refresh, logout and access-cookie
//! state changes).

use std::future::Future;

use serde_json::json;
use testkit::conformance::{Adjust, SessionRoutes, Suite};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = crenoir::Crenoir;

    const VALIDATION_STATUS: u16 = 422;

    const SESSION: Option<SessionRoutes> = Some(SessionRoutes {
        refresh: "/auth/refresh",
        logout: "/auth/logout",
        csrf_in_body: Some("/data/csrfToken"),
        me: "/auth/user/profile",
        access_in_body: None,
    });

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    /// The mock Google code flow, as the web app walks it.
    async fn browser_sign_in(&self, email: &str) -> Resp {
        let code = self.mock_code(email, None).await;
        self.google_login(json!({ "code": code, "redirectUri": REDIRECT }))
            .await
    }
}

testkit::conformance_tests!(TestApp);
