//! LeadGen under testkit's conformance tables (`testkit::conformance`): error shapes (nested,
//! with the request id) for every operation, every rate-limit rule at its boundary, and the
//! cookies a sign-in sets (the device cookie).

use std::future::Future;

use testkit::conformance::{Adjust, Suite};

use crate::helpers::*;

impl Suite for TestApp {
    type Product = leadgen::LeadGen;

    fn spawn(adjust: Adjust) -> impl Future<Output = Self> {
        spawn_app_with(adjust)
    }

    async fn browser_sign_in(&self, email: &str) -> Resp {
        self.login(email, PASSWORD).await
    }
}

testkit::conformance_tests!(TestApp);
