//! PawfectMatch under testkit's conformance tables (`testkit::conformance`): error shapes for
//! every operation of both mounts, every rate-limit rule at its boundary (the mounts share each
//! count), and the web mount's cookie session (attributes, CSRF on refresh and logout).

use std::future::Future;

use testkit::conformance::{Adjust, SessionRoutes, Suite};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = pawfect::Pawfect;

    const SESSION: Option<SessionRoutes> = Some(SessionRoutes {
        refresh: "/api/v1/auth/refresh",
        logout: "/api/v1/auth/logout",
        csrf_in_body: Some("/csrfToken"),
        me: "/api/v1/auth/me",
        access_in_body: Some("/accessToken"),
    });

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    async fn browser_sign_in(&self, email: &str) -> Resp {
        self.login(WEB, email, PASSWORD).await
    }
}

testkit::conformance_tests!(TestApp);
