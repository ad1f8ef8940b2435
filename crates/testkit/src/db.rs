//! `TestDb`: a database no other test touches, on SQLite by default and on the PostgreSQL
//! server of `TEST_DATABASE_URL` when that is set, so one suite runs on both.

use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

/// A fresh, empty database for one test; the product's migrations fill it.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to give the product (`ProductSettings::database_url`).
    pub url: String,
    /// The SQLite file's directory, removed when the test ends.
    _dir: Option<TempDir>,
    /// The PostgreSQL server's admin URL and the database's name, dropped when the test ends.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// `<tempdir>/<name>.db`, or `basalt_test_<uuid>` created on the server of
    /// `TEST_DATABASE_URL`; either is removed when the `TestDb` is dropped.
    pub async fn fresh(name: &str) -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(admin_url) => {
                let (url, name) = fresh_postgres_database(&admin_url).await;
                Self {
                    url,
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("{name}.db")).display()
                );
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }
}

/// A PostgreSQL suite creates a database per test: a thousand runs' worth fill a disk, so each
/// is dropped as its test ends. `WITH (FORCE)` ends the connections the product's pool may still
/// hold. Drop cannot await, and the test's runtime may be the current-thread kind that this
/// drop is running on, so the statement runs on a thread with a runtime of its own; the drop
/// waits for it (~0.1 s), so a test binary that exits leaves nothing behind. A failure is only
/// reported: `.ci/run` also drops leftovers by their prefix.
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let dropped = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string());
                admin.close().await.ok();
                dropped
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!("testkit: could not drop a test database: {e}");
        }
    }
}

/// Creates `basalt_test_<uuid>` on the server of `admin_url`; returns its URL and name.
async fn fresh_postgres_database(admin_url: &str) -> (String, String) {
    let name = format!("basalt_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    (url.to_string(), name)
}
