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

    /// The same server and prefix in Redis database `db` (`redis://host:port/<db>`): a test that
    /// lists keys ([`SharedRedis::keys`]) uses a database of its own, where no other test's
    /// keys are.
    pub fn in_database(&self, db: u32) -> Self {
        let mut url = url::Url::parse(&self.url).expect("TEST_REDIS_URL is a URL");
        url.set_path(&format!("/{db}"));
        Self {
            url: url.to_string(),
            prefix: self.prefix.clone(),
        }
    }

    /// Every key in this Redis database (`SCAN`), whatever its prefix.
    pub async fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("a Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to Redis");
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }

    /// The pub/sub channels with a subscriber whose name starts with this prefix.
    pub async fn channels(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("a Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to Redis");
        redis::cmd("PUBSUB")
            .arg("CHANNELS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .expect("PUBSUB CHANNELS")
    }

    /// Points a product's settings at this Redis and prefix.
    pub fn apply(&self, s: &mut ProductSettings) {
        s.redis_url = Some(Secret::new(self.url.clone()));
        s.redis_prefix = Some(self.prefix.clone());
    }
}

/// Removes every key under a [`SharedRedis`] prefix when dropped: the harness's prefix for a
/// test's instances, whose stream sequence keys never expire (ids must never restart), so that
/// a suite run does not leave thousands behind. Like [`crate::TestDb`]'s drop, it runs on a
/// thread with a runtime of its own; a failure is only reported.
pub(crate) struct RemoveOnDrop(pub(crate) SharedRedis);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let redis = self.0.clone();
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = redis::Client::open(redis.url.as_str()).map_err(|e| e.to_string())?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut cursor = 0u64;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{}:*", redis.prefix))
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !batch.is_empty() {
                        let _: i64 = redis::cmd("UNLINK")
                            .arg(&batch)
                            .query_async(&mut conn)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    if next == 0 {
                        return Ok::<_, String>(());
                    }
                    cursor = next;
                }
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = removed.map_err(|_| "panicked".to_owned()) {
            eprintln!("testkit: could not remove a test's Redis keys: {e}");
        }
    }
}
