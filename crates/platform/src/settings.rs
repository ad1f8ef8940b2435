//! `ProductSettings`: everything one product needs at start, resolved by the server from
//! defaults, the config file and the environment. A value, passed in; never a global.

use std::{net::IpAddr, net::SocketAddr};

use crate::{
    datamode::Mode,
    identity::{RefreshRotation, oauth::ProviderSettings, throttle::ThrottlePolicy},
    secrets::Secret,
    vendor::VendorSettings,
};

#[derive(Clone, Debug)]
pub struct ProductSettings {
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub jwt_secret: Secret,
    /// Where this product's API is reachable (printed at start).
    pub public_url: String,
    /// The frontend's base URL; links in mails point there.
    pub app_url: String,
    pub data_mode: Mode,
    /// Shared state across instances (rate limits now; fan-out, cache and jobs later).
    pub redis_url: Option<Secret>,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub cors_origins: Vec<String>,
    /// `Secure` on session cookies; turn off only for plain-http development.
    pub cookie_secure: bool,
    pub trusted_proxies: Vec<IpAddr>,
    pub google: ProviderSettings,
    pub meta: ProviderSettings,
    /// The enterprise SAML identity provider, for products that offer SAML sign-in.
    pub saml: SamlSettings,
    /// Vendor credentials and overrides by the seeds' names (`TWILIO_SID`, ...).
    pub vendors: VendorSettings,
    /// Prefix of this product's keys in Redis (default: the product's name). Instances of one
    /// deployment share it; two deployments on one Redis (or two tests) keep apart with it.
    pub redis_prefix: Option<String>,
    /// Live streams: how often a `HEARTBEAT` goes out (seed 000: every 30 s).
    pub stream_heartbeat: std::time::Duration,
    /// `<PRODUCT>_REFRESH_ROTATION`: `rotate` (default) or `reuse`.
    pub refresh_rotation: RefreshRotation,
    /// Sign-in throttling's numbers (the platform's defaults; tests shorten them).
    pub sign_in: ThrottlePolicy,
    /// Development mode (`basalt serve --dev`): in MOCK mode every mail's subject and links
    /// are also printed on stderr as the mail enters the outbox.
    pub dev: bool,
}

/// A SAML 2.0 identity provider as its operator describes it, and our service provider's
/// entity id (default: the metadata URL).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSettings {
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    /// The IdP's signing certificate, PEM (or its base64 body).
    pub idp_certificate: Option<String>,
    pub sp_entity_id: Option<String>,
}

impl SamlSettings {
    /// True when everything LIVE mode needs is set.
    pub fn configured(&self) -> bool {
        self.idp_entity_id.is_some() && self.idp_sso_url.is_some() && self.idp_certificate.is_some()
    }
}

impl ProductSettings {
    /// The Redis key prefix for `product`.
    pub fn redis_prefix_for(&self, product: &str) -> String {
        self.redis_prefix
            .clone()
            .unwrap_or_else(|| product.to_owned())
    }

    /// Settings for a product on `database_url` with everything else at its default; the
    /// server overrides from configuration, tests from their needs.
    pub fn new(listen: SocketAddr, database_url: String, jwt_secret: Secret) -> Self {
        let public_url = format!("http://{listen}");
        Self {
            listen,
            database_url,
            jwt_secret,
            app_url: public_url.clone(),
            public_url,
            data_mode: Mode::Mock,
            redis_url: None,
            smtp_url: None,
            mail_from: "Basalt <no-reply@localhost>".into(),
            cors_origins: Vec::new(),
            cookie_secure: true,
            trusted_proxies: Vec::new(),
            google: ProviderSettings::google(),
            meta: ProviderSettings::meta(),
            saml: SamlSettings::default(),
            vendors: VendorSettings::default(),
            redis_prefix: None,
            stream_heartbeat: std::time::Duration::from_secs(30),
            refresh_rotation: RefreshRotation::Rotate,
            sign_in: ThrottlePolicy::default(),
            dev: false,
        }
    }
}
