//! PawfectMatch under testkit's conformance tables (`testkit::conformance`): error shapes for
//! every operation of both mounts, every rate-limit rule at its boundary (the mounts share each
//! count), and the web mount's cookie session (attributes, CSRF on refresh and logout).

use std::future::Future;

use testkit::{
    TestServer,
    conformance::{self, Adjust, SessionRoutes, Suite},
};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = pawfect::Pawfect;

    const SESSION: Option<SessionRoutes> = Some(SessionRoutes {
        refresh: "/api/v1/auth/refresh",
        logout: "/api/v1/auth/logout",
        csrf_in_body: Some("/csrfToken"),
    });

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    fn server(&self) -> &TestServer<pawfect::Ctx> {
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
            self.create_user(email, "user").await;
        }
        self.login(WEB, email, PASSWORD).await
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
async fn web_session_cookies_need_the_csrf_token_of_their_session() {
    conformance::cookies::<TestApp>().await;
}
