//! Redis for the tests that need it: `TEST_REDIS_URL` when set (they are skipped, saying so,
//! when it is not), under a key prefix of the test's own, since keys outlive a run and other
//! tests share the server.

use platform::{secrets::Secret, settings::ProductSettings};

/// `TEST_REDIS_URL` when it is set and not empty; otherwise notes that the calling test is
/// skipped and returns `None`.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: set TEST_REDIS_URL=redis://127.0.0.1:6379 to run the Redis tests");
    }
    url
}

/// One Redis shared by the instances a test starts, under a fresh key prefix.
#[derive(Clone, Debug)]
pub struct SharedRedis {
    pub url: String,
    pub prefix: String,
}

impl SharedRedis {
    /// [`redis_url`] with a fresh prefix; `None` when the test is to be skipped.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            url: redis_url()?,
            prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// Points a product's settings at this Redis and prefix.
    pub fn apply(&self, s: &mut ProductSettings) {
        s.redis_url = Some(Secret::new(self.url.clone()));
        s.redis_prefix = Some(self.prefix.clone());
    }
}
