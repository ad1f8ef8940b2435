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
}

impl TestDb {
    /// `<tempdir>/<name>.db`, or `basalt_test_<uuid>` created on the server of
    /// `TEST_DATABASE_URL` (left behind when the test ends; drop them by their prefix).
    pub async fn fresh(name: &str) -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(admin_url) => Self {
                url: fresh_postgres_database(&admin_url).await,
                _dir: None,
            },
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("{name}.db")).display()
                );
                Self {
                    url,
                    _dir: Some(dir),
                }
            }
        }
    }
}

/// Creates `basalt_test_<uuid>` on the server of `admin_url` and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
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
    url.to_string()
}
