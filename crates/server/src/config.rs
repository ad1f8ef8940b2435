//! Configuration: defaults, then `basalt.toml` (or `--config`), then environment variables.
//! The result is a `ProductSettings` value per product; nothing is global.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
};

use anyhow::Context;
use platform::{
    datamode::Mode,
    identity::oauth::ProviderSettings,
    secrets::{self, Secret},
    server::{ServerFile, ServerSettings},
    settings::{ProductSettings, SamlSettings},
    vendor::{VENDOR_SETTINGS, VendorSettings},
};
use serde::Deserialize;

/// `basalt.toml`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub data_mode: Option<String>,
    pub smtp_url: Option<Secret>,
    pub redis_url: Option<Secret>,
    pub mail_from: Option<String>,
    /// `[http]`: the server's timeouts and connection caps (`platform::server::ServerFile`).
    #[serde(default)]
    pub http: ServerFile,
    /// `[vendors]`: vendor settings by the seeds' names (`TWILIO_SID = "AC…"`), for every product.
    #[serde(default)]
    pub vendors: HashMap<String, Secret>,
    #[serde(default)]
    pub products: HashMap<String, ProductFile>,
}

/// `[products.<name>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFile {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub public_url: Option<String>,
    pub app_url: Option<String>,
    #[serde(default)]
    pub cors_origins: Vec<String>,
    pub cookie_secure: Option<bool>,
    /// `rotate` (default) or `reuse`.
    pub refresh_rotation: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    #[serde(default)]
    pub google: ProviderFile,
    #[serde(default)]
    pub meta: ProviderFile,
    #[serde(default)]
    pub saml: SamlSettings,
    /// `[products.<name>.vendors]`: this product's vendor settings, over the top-level table.
    #[serde(default)]
    pub vendors: HashMap<String, Secret>,
}

/// `[products.<name>.google]` / `.meta`: any key given replaces the built-in default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub redirect_uri: Option<String>,
    pub jwks_url: Option<String>,
    pub issuers: Option<Vec<String>>,
}

impl ProviderFile {
    fn over(&self, mut p: ProviderSettings) -> ProviderSettings {
        p.client_id = self.client_id.clone().or(p.client_id);
        p.client_secret = self.client_secret.clone().or(p.client_secret);
        p.token_url = self.token_url.clone().unwrap_or(p.token_url);
        p.userinfo_url = self.userinfo_url.clone().unwrap_or(p.userinfo_url);
        p.redirect_uri = self.redirect_uri.clone().or(p.redirect_uri);
        p.jwks_url = self.jwks_url.clone().or(p.jwks_url);
        p.issuers = self.issuers.clone().unwrap_or(p.issuers);
        p
    }
}

/// Reads the file: `--config` must exist; the default `basalt.toml` may not.
pub fn load_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("basalt.toml"), false),
    };
    if !required && !path.exists() {
        return Ok(FileConfig::default());
    }
    let cfg = config::Config::builder()
        .add_source(config::File::from(path.as_path()).required(required))
        .build()
        .with_context(|| format!("reading {}", path.display()))?;
    cfg.try_deserialize()
        .with_context(|| format!("in {}", path.display()))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn list(v: String) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The server's timeouts and connection caps: defaults, then `[http]`, then `HTTP_*`.
pub fn server_settings(file: &FileConfig) -> anyhow::Result<ServerSettings> {
    ServerSettings::resolve(&file.http, env)
}

/// Where a product listens when the command line does not say: `<PRODUCT>_LISTEN`, then the
/// file, then its default port on 127.0.0.1.
fn configured_listen(
    file: &FileConfig,
    product: &str,
    default_port: u16,
) -> anyhow::Result<SocketAddr> {
    let upper = product.to_uppercase();
    let pf = file.products.get(product);
    Ok(env(&format!("{upper}_LISTEN"))
        .map(|v| v.parse())
        .transpose()
        .context("invalid <PRODUCT>_LISTEN")?
        .or(pf.and_then(|p| p.listen))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port))))
}

/// The public URL (`<PRODUCT>_PUBLIC_URL`, then the file, then `default`) and the app URL
/// (`<PRODUCT>_APP_URL`, then the file, then the public URL).
fn public_urls(pf: &ProductFile, upper: &str, default: String) -> (String, String) {
    let public_url = env(&format!("{upper}_PUBLIC_URL"))
        .or_else(|| pf.public_url.clone())
        .unwrap_or(default);
    let app_url = env(&format!("{upper}_APP_URL"))
        .or_else(|| pf.app_url.clone())
        .unwrap_or_else(|| public_url.clone());
    (public_url, app_url)
}

/// A product's public and app URLs as `serve` would resolve them without `--listen`, for the
/// commands that print its documents (`openapi`, `gen types`). Unlike [`product_settings`] it
/// touches nothing on disk (no secret is generated).
pub fn urls(
    file: &FileConfig,
    product: &str,
    default_port: u16,
) -> anyhow::Result<(String, String)> {
    let listen = configured_listen(file, product, default_port)?;
    let empty = ProductFile::default();
    let pf = file.products.get(product).unwrap_or(&empty);
    Ok(public_urls(
        pf,
        &product.to_uppercase(),
        format!("http://{listen}"),
    ))
}

/// Resolves one product's settings. `listen` from the command line wins over everything.
pub fn product_settings(
    file: &FileConfig,
    data_dir: &Path,
    product: &str,
    default_port: u16,
    listen: Option<SocketAddr>,
) -> anyhow::Result<ProductSettings> {
    let upper = product.to_uppercase();
    let empty = ProductFile::default();
    let pf = file.products.get(product).unwrap_or(&empty);
    let listen = match listen {
        Some(l) => l,
        None => configured_listen(file, product, default_port)?,
    };
    let database_url = env(&format!("{upper}_DATABASE_URL"))
        .or_else(|| env("DATABASE_URL"))
        .or_else(|| pf.database_url.as_ref().map(|s| s.expose().to_owned()))
        .unwrap_or_else(|| platform::db::sqlite_url(data_dir, product));
    let jwt_secret = match env(&format!("{upper}_JWT_SECRET"))
        .map(Secret::new)
        .or_else(|| pf.jwt_secret.clone())
    {
        Some(s) => {
            anyhow::ensure!(
                s.expose().len() >= 32,
                "{upper}_JWT_SECRET must be at least 32 characters"
            );
            s
        }
        None => secrets::load_or_generate(data_dir, &format!("{product}.jwt"))?,
    };
    let data_mode = match env("DATA_MODE").or_else(|| file.data_mode.clone()) {
        Some(m) => {
            Mode::parse(&m).with_context(|| format!("DATA_MODE must be MOCK or LIVE, not {m:?}"))?
        }
        None => Mode::Mock,
    };
    let mut s = ProductSettings::new(listen, database_url, jwt_secret);
    (s.public_url, s.app_url) = public_urls(pf, &upper, s.public_url);
    s.data_mode = data_mode;
    s.redis_url = env("REDIS_URL")
        .map(Secret::new)
        .or_else(|| file.redis_url.clone());
    s.smtp_url = env("SMTP_URL")
        .map(Secret::new)
        .or_else(|| file.smtp_url.clone());
    if let Some(from) = env("MAIL_FROM").or_else(|| file.mail_from.clone()) {
        s.mail_from = from;
    }
    s.cors_origins = env(&format!("{upper}_CORS_ORIGINS"))
        .map(list)
        .unwrap_or_else(|| pf.cors_origins.clone());
    s.cookie_secure = match env(&format!("{upper}_COOKIE_SECURE")) {
        Some(v) => v
            .parse()
            .with_context(|| format!("{upper}_COOKIE_SECURE must be true or false"))?,
        None => pf.cookie_secure.unwrap_or(true),
    };
    if let Some(v) = env(&format!("{upper}_REFRESH_ROTATION")).or(pf.refresh_rotation.clone()) {
        s.refresh_rotation = v
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{upper}_REFRESH_ROTATION: {e}"))?;
    }
    s.trusted_proxies = match env(&format!("{upper}_TRUSTED_PROXIES")) {
        Some(v) => list(v)
            .iter()
            .map(|ip| ip.parse())
            .collect::<Result<_, _>>()
            .context("invalid TRUSTED_PROXIES")?,
        None => pf.trusted_proxies.clone(),
    };
    s.google = provider(
        pf.google.over(ProviderSettings::google()),
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "GOOGLE_REDIRECT_URI",
    );
    // Google's endpoints and issuer, for proxies and test issuers.
    s.google.token_url = env("GOOGLE_TOKEN_URL").unwrap_or(s.google.token_url);
    s.google.userinfo_url = env("GOOGLE_USERINFO_URL").unwrap_or(s.google.userinfo_url);
    s.google.jwks_url = env("GOOGLE_JWKS_URL").or(s.google.jwks_url);
    s.google.issuers = env("GOOGLE_ISSUERS").map(list).unwrap_or(s.google.issuers);
    s.saml = pf.saml.clone();
    s.saml.idp_entity_id = env("SAML_IDP_ENTITY_ID").or(s.saml.idp_entity_id);
    s.saml.idp_sso_url = env("SAML_IDP_SSO_URL").or(s.saml.idp_sso_url);
    s.saml.sp_entity_id = env(&format!("{upper}_SAML_SP_ENTITY_ID")).or(s.saml.sp_entity_id);
    if let Some(cert) = env("SAML_IDP_CERT").or(s.saml.idp_certificate.take()) {
        s.saml.idp_certificate = Some(certificate_text(cert)?);
    }
    s.meta = provider(
        pf.meta.over(ProviderSettings::meta()),
        "META_APP_ID",
        "META_APP_SECRET",
        "META_REDIRECT_URI",
    );
    s.vendors = vendors(file, pf);
    s.redis_prefix = env("REDIS_PREFIX").map(|p| format!("{p}:{product}"));
    if let Some(secs) = env(&format!("{upper}_STREAM_HEARTBEAT_SECS")) {
        let secs: u64 = secs
            .parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .with_context(|| format!("{upper}_STREAM_HEARTBEAT_SECS must be 1 to 3600"))?;
        s.stream_heartbeat = std::time::Duration::from_secs(secs);
    }
    Ok(s)
}

/// The frontend origins `serve --dev` lets in: Vite (5173), Create React App and Next.js
/// (3000), Angular (4200) and the common static servers (8080), by name and by address.
pub const DEV_ORIGINS: &[&str] = &[
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://localhost:4200",
    "http://127.0.0.1:4200",
    "http://localhost:8080",
    "http://127.0.0.1:8080",
];

/// `serve --dev`: the local frontend origins join the configured ones, and mails are echoed.
pub fn development(s: &mut ProductSettings) {
    for origin in DEV_ORIGINS {
        if !s.cors_origins.iter().any(|o| o == origin) {
            s.cors_origins.push((*origin).to_owned());
        }
    }
    s.dev = true;
}

/// The global flags as another command must repeat them to reach what `serve` reaches: the
/// data directory (absolute, so the hint works from any directory) and the config file.
pub fn repeat_flags(data_dir: &Path, config: Option<&Path>) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut flags = format!("--data-dir {}", shell_word(&absolute(data_dir)));
    if let Some(c) = config {
        flags.push_str(&format!(" --config {}", shell_word(&absolute(c))));
    }
    flags
}

/// The environment variables that chose `product`'s database, if any: a hint run without them
/// would reach the SQLite file in the data directory instead.
pub fn database_env(product: &str) -> Option<String> {
    let own = format!("{}_DATABASE_URL", product.to_uppercase());
    [own.as_str(), "DATABASE_URL"]
        .into_iter()
        .find(|v| env(v).is_some())
        .map(str::to_owned)
}

/// A path as one POSIX shell word: as is when it holds only safe characters, else quoted.
fn shell_word(p: &Path) -> String {
    let s = p.to_string_lossy();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Vendor settings: `[vendors]`, then `[products.<name>.vendors]`, then the environment
/// (the names in `VENDOR_SETTINGS`).
fn vendors(file: &FileConfig, pf: &ProductFile) -> VendorSettings {
    let mut v = VendorSettings::default();
    for (name, value) in file.vendors.iter().chain(&pf.vendors) {
        v.set(name, value.clone());
    }
    for name in VENDOR_SETTINGS {
        if let Some(value) = env(name) {
            v.set(name, Secret::new(value));
        }
    }
    v
}

/// A certificate given inline (PEM or base64) or as the path of a PEM file.
fn certificate_text(v: String) -> anyhow::Result<String> {
    let looks_inline = v.contains("BEGIN CERTIFICATE") || (v.len() > 200 && !v.contains('/'));
    if looks_inline {
        return Ok(v);
    }
    std::fs::read_to_string(&v).with_context(|| format!("reading the SAML IdP certificate {v}"))
}

fn provider(mut p: ProviderSettings, id: &str, secret: &str, redirect: &str) -> ProviderSettings {
    p.client_id = env(id).or(p.client_id);
    p.client_secret = env(secret).map(Secret::new).or(p.client_secret);
    p.redirect_uri = env(redirect).or(p.redirect_uri);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_put_sqlite_in_the_data_dir_and_generate_a_kept_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileConfig::default();
        let a = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap();
        let b = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap();
        assert_eq!(
            a.jwt_secret, b.jwt_secret,
            "the generated secret survives a restart"
        );
        assert!(a.database_url.starts_with("sqlite://") && a.database_url.contains("warroom.db"));
        assert_eq!(a.listen.port(), 4000);
    }

    #[test]
    fn the_file_is_read_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(&good, "data_mode = \"LIVE\"\n[products.warroom]\nlisten = \"127.0.0.1:4100\"\ncors_origins = [\"http://localhost:5173\"]\n[products.warroom.google]\nclient_id = \"cid\"\n").unwrap();
        let file = load_file(Some(&good)).unwrap();
        let s = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap();
        assert_eq!(s.listen.port(), 4100);
        assert_eq!(s.cors_origins, vec!["http://localhost:5173"]);
        assert_eq!(s.google.client_id.as_deref(), Some("cid"));
        assert_eq!(
            s.google.token_url,
            ProviderSettings::google().token_url,
            "unset keys keep their defaults"
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "data_mood = \"LIVE\"\n").unwrap();
        assert!(load_file(Some(&bad)).is_err());
    }

    #[test]
    fn the_http_table_sets_the_servers_timeouts_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http.toml");
        std::fs::write(
            &path,
            "[http]\nheader_read_timeout_secs = 2.5\nmax_connections_per_ip = 32\n",
        )
        .unwrap();
        let s = server_settings(&load_file(Some(&path)).unwrap()).unwrap();
        assert_eq!(
            s.header_read_timeout,
            std::time::Duration::from_millis(2500)
        );
        assert_eq!(s.max_connections_per_ip, 32);
        assert_eq!(s.max_connections, ServerSettings::default().max_connections);
        std::fs::write(&path, "[http]\nheader_timeout = 2\n").unwrap();
        assert!(load_file(Some(&path)).is_err(), "unknown keys are refused");
    }

    #[test]
    fn vendor_settings_come_from_the_file_with_the_products_table_over_the_shared_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vendors.toml");
        std::fs::write(
            &path,
            "[vendors]\nTWILIO_SID = \"AC-shared\"\nTWILIO_TOKEN = \"tok-shared\"\n\
             [products.warroom.vendors]\nTWILIO_SID = \"AC-warroom\"\nslack_webhook_url = \"https://hooks.slack.test/x\"\n",
        )
        .unwrap();
        let file = load_file(Some(&path)).unwrap();
        let s = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap();
        assert_eq!(s.vendors.text("TWILIO_SID"), Some("AC-warroom"));
        assert_eq!(s.vendors.text("TWILIO_TOKEN"), Some("tok-shared"));
        assert_eq!(
            s.vendors.text("SLACK_WEBHOOK_URL"),
            Some("https://hooks.slack.test/x")
        );
        assert!(
            !format!("{s:?}").contains("tok-shared"),
            "secrets never print"
        );
        let other = product_settings(&file, dir.path(), "crenoir", 4001, None).unwrap();
        assert_eq!(other.vendors.text("TWILIO_SID"), Some("AC-shared"));
    }

    #[test]
    fn refresh_rotation_is_per_product_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotation.toml");
        std::fs::write(&path, "[products.warroom]\nrefresh_rotation = \"reuse\"\n").unwrap();
        let file = load_file(Some(&path)).unwrap();
        let s = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap();
        assert_eq!(
            s.refresh_rotation,
            platform::identity::RefreshRotation::Reuse
        );
        let other = product_settings(&file, dir.path(), "pawfect", 3000, None).unwrap();
        assert_eq!(
            other.refresh_rotation,
            platform::identity::RefreshRotation::Rotate,
            "rotation is the default"
        );
        std::fs::write(
            &path,
            "[products.warroom]\nrefresh_rotation = \"sometimes\"\n",
        )
        .unwrap();
        let file = load_file(Some(&path)).unwrap();
        let err = product_settings(&file, dir.path(), "warroom", 4000, None).unwrap_err();
        assert!(
            err.to_string().contains("WARROOM_REFRESH_ROTATION"),
            "{err}"
        );
    }
}
