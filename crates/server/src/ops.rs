//! The operator's commands beside `serve`: listing, re-passwording and deleting users,
//! backing up and restoring the SQLite databases, seeding demo data, and migration status.
//! What a product decides (its accounts, its demo data) is the product's, through `Mount`;
//! this module holds the files and the terminal.
//!
//! A backup is SQLite's `VACUUM INTO`: one consistent snapshot taken inside a read
//! transaction, so it is safe while the server runs and writes. A restore needs the server
//! stopped: `serve` holds a shared lock on `<database>.lock` for as long as it runs, and
//! `restore` takes it exclusively or refuses.

use std::{
    fs::File,
    path::{Path, PathBuf},
};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use platform::{
    identity::User,
    product::{Mount, SeedProgress},
    settings::ProductSettings,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// The database file of a `sqlite://PATH?…` URL; `None` for any other database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// `serve`'s hold on a SQLite database (kept until the server exits): a shared lock that
/// `restore` cannot take while it lasts. Other databases need none.
pub fn hold_database(settings: &ProductSettings) -> anyhow::Result<Option<File>> {
    let Some(db) = sqlite_path(&settings.database_url) else {
        return Ok(None);
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let lock = lock_path(&db);
    let file = File::create(&lock).with_context(|| format!("creating {}", lock.display()))?;
    file.try_lock_shared().map_err(|_| {
        anyhow::anyhow!(
            "{} is being restored (basalt restore holds {}); start again when it is done",
            db.display(),
            lock.display()
        )
    })?;
    Ok(Some(file))
}

fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// `basalt user list`: a table (id, email, role, verified, created), or JSON lines' array.
pub fn print_users(users: &[User], json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "id": u.id,
                    "email": u.email,
                    "name": u.name,
                    "role": u.role,
                    "verified": u.email_verified,
                    "created": u.created_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let email_width = users
        .iter()
        .map(|u| u.email.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let role_width = users.iter().map(|u| u.role.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<36}  {:<email_width$}  {:<role_width$}  {:<8}  created",
        "id", "email", "role", "verified"
    );
    for u in users {
        println!(
            "{:<36}  {:<email_width$}  {:<role_width$}  {:<8}  {}",
            u.id,
            u.email,
            u.role,
            if u.email_verified { "yes" } else { "no" },
            u.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        );
    }
    Ok(())
}

async fn open_read_only(path: &Path) -> anyhow::Result<DatabaseConnection> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    Database::connect(url)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// `PRAGMA integrity_check` answers one row, `ok`, for a sound database.
async fn check_integrity(db: &DatabaseConnection) -> anyhow::Result<()> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await?;
    let answers: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        answers == ["ok"],
        "the integrity check failed: {}",
        answers.join("; ")
    );
    Ok(())
}

/// `VACUUM INTO` takes a string literal; single quotes double inside it.
fn sql_string(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

/// What `pg_dump` to run for a PostgreSQL product (a backup is the database server's job).
fn postgres_backup_message(name: &str, out: &Path) -> String {
    let upper = name.to_uppercase();
    format!(
        "{name} uses PostgreSQL: back it up with the database's own tool, e.g.\n  \
         pg_dump --format=custom --file {}/{name}.dump \"${upper}_DATABASE_URL\"\n\
         (or \"$DATABASE_URL\"), and restore with pg_restore --clean --dbname \"$…_DATABASE_URL\" {name}.dump",
        out.display()
    )
}

/// `basalt backup`: each product's SQLite database copied, consistently and while the server
/// may run, to `<out>/<product>.db`, then checked. A PostgreSQL product stops the command
/// with the `pg_dump` to run instead.
pub async fn backup(
    products: &[(&'static dyn Mount, ProductSettings)],
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    if let Some((p, _)) = products
        .iter()
        .find(|(_, s)| sqlite_path(&s.database_url).is_none())
    {
        anyhow::bail!(postgres_backup_message(p.name(), out));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bar = bar(products.len() as u64);
    let mut written = Vec::new();
    for (p, s) in products {
        let source = sqlite_path(&s.database_url).unwrap_or_default();
        bar.set_message(format!("{} ({})", p.name(), source.display()));
        anyhow::ensure!(
            source.exists(),
            "{}: no database at {} yet (serve or migrate it first)",
            p.name(),
            source.display()
        );
        let target = out.join(format!("{}.db", p.name()));
        anyhow::ensure!(
            !target.exists(),
            "{} exists; back up into an empty directory",
            target.display()
        );
        let db = open_read_only(&source).await?;
        db.execute_unprepared(&format!("VACUUM INTO {}", sql_string(&target)))
            .await
            .with_context(|| format!("{}: copying to {}", p.name(), target.display()))?;
        db.close().await?;
        let copy = open_read_only(&target).await?;
        check_integrity(&copy)
            .await
            .with_context(|| format!("checking {}", target.display()))?;
        copy.close().await?;
        written.push(target);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(written)
}

/// `basalt restore`: replaces the product's SQLite database with `from`, after checking that
/// `from` is a sound Basalt database and that no server holds the current one. The current
/// file (and its WAL files) is kept beside it as `<name>.before-restore-<time>`.
pub async fn restore(p: &dyn Mount, s: &ProductSettings, from: &Path) -> anyhow::Result<PathBuf> {
    let Some(db) = sqlite_path(&s.database_url) else {
        anyhow::bail!(
            "{} uses PostgreSQL: restore with pg_restore --clean --dbname \"$DATABASE_URL\" FILE.dump",
            p.name()
        );
    };
    anyhow::ensure!(from.is_file(), "{} is not a file", from.display());
    let candidate = open_read_only(from).await?;
    check_integrity(&candidate)
        .await
        .with_context(|| format!("{} is not a sound SQLite database", from.display()))?;
    let migrations = candidate
        .query_one_raw(Statement::from_string(
            candidate.get_database_backend(),
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    candidate.close().await?;
    anyhow::ensure!(
        migrations == 1,
        "{} is not a Basalt database (it has no migration table)",
        from.display()
    );
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let lock = File::create(lock_path(&db))?;
    lock.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "a server is using {} (it holds {}): stop it, then restore",
            db.display(),
            lock_path(&db).display()
        )
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut kept = PathBuf::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut current = db.as_os_str().to_owned();
        current.push(suffix);
        let current = PathBuf::from(current);
        if current.exists() {
            let mut aside = current.as_os_str().to_owned();
            aside.push(format!(".before-restore-{stamp}"));
            let aside = PathBuf::from(aside);
            std::fs::rename(&current, &aside)
                .with_context(|| format!("moving {} aside", current.display()))?;
            if suffix.is_empty() {
                kept = aside;
            }
        }
    }
    std::fs::copy(from, &db).with_context(|| format!("copying to {}", db.display()))?;
    drop(lock);
    Ok(kept)
}

/// `basalt seed demo`'s progress bar.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn start() -> Self {
        Self(bar(0))
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl SeedProgress for Bar {
    fn add(&self, n: u64) {
        self.0.inc_length(n);
    }

    fn step(&self, what: &str) {
        self.0.set_message(what.to_owned());
        self.0.inc(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file_and_others_none() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/d/warroom.db?mode=rwc"),
            Some(PathBuf::from("/tmp/d/warroom.db"))
        );
        assert_eq!(
            sqlite_path("sqlite://./data/leadgen.db"),
            Some(PathBuf::from("./data/leadgen.db"))
        );
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[test]
    fn a_quote_in_a_backup_path_stays_inside_the_sql_string() {
        assert_eq!(sql_string(Path::new("/tmp/it's")), "'/tmp/it''s'");
    }
}
