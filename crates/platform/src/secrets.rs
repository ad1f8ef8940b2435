//! Secrets: a type that never prints, and keys generated on first start into the data
//! directory so tokens survive restarts without anything hard-coded.

use std::{fmt, fs, io::Write, path::Path};

/// A configured secret value; `Debug` and `Display` print `***`.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads `<data_dir>/secrets/<name>`, creating it (mode 0600) with 64 random bytes, hex, if absent.
pub fn load_or_generate(data_dir: &Path, name: &str) -> anyhow::Result<Secret> {
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim();
        anyhow::ensure!(
            existing.len() >= 32,
            "{} is shorter than 32 characters",
            path.display()
        );
        return Ok(Secret::new(existing));
    }
    fs::create_dir_all(&dir)?;
    let value = format!(
        "{}{}",
        crate::identity::crypto::random_token(),
        crate::identity::crypto::random_token()
    );
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(value.as_bytes())?;
            Ok(Secret::new(value))
        }
        // Another process created it between our read and our create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_generate(data_dir, name),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_is_kept_across_loads_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_generate(dir.path(), "k").unwrap();
        let b = load_or_generate(dir.path(), "k").unwrap();
        assert_eq!(a, b);
        assert!(a.expose().len() >= 64);
        assert_eq!(format!("{a:?}"), "Secret(***)");
    }
}
