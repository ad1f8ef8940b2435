//! `Core`: the shared services one product runs on (database, identity, OAuth, outbox,
//! data mode, rate limiter), wired once from `ProductSettings`. Each product's context wraps it.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::{
    datamode::DataMode,
    error::ApiError,
    extract::ClientInfo,
    identity::{Identity, IdentityConfig, auth::HasIdentity, oauth::OAuthProviders},
    mail::Mailer,
    outbox::Outbox,
    ratelimit::{Allowance, RateLimiter, Rule},
    settings::ProductSettings,
};

#[derive(Clone)]
pub struct Core {
    pub db: DatabaseConnection,
    pub identity: Identity,
    pub oauth: OAuthProviders,
    pub outbox: Outbox,
    pub data_mode: DataMode,
    pub limiter: Arc<RateLimiter>,
}

impl Core {
    /// Connects, applies `M`'s migrations, and wires the services. `identity` is the
    /// product's policy; mail-link redirect origins get the CORS allow-list added here.
    pub async fn build<M: MigratorTrait>(
        settings: &ProductSettings,
        mut identity: IdentityConfig,
    ) -> anyhow::Result<Self> {
        let db = crate::db::connect(&settings.database_url).await?;
        M::up(&db, None).await?;
        let data_mode = DataMode::new(settings.data_mode);
        let outbox = Outbox::new(db.clone());
        let mailer = Mailer::new(
            outbox.clone(),
            settings.smtp_url.as_ref().map(|s| s.expose()),
            &settings.mail_from,
            data_mode.clone(),
        )?;
        identity
            .redirect_origins
            .extend(settings.cors_origins.iter().cloned());
        let product = identity.product;
        let identity = Identity::new(
            db.clone(),
            identity,
            settings.jwt_secret.expose().as_bytes(),
            mailer,
        );
        let oauth = OAuthProviders::new(
            settings.google.clone(),
            settings.meta.clone(),
            data_mode.clone(),
        );
        let limiter = match &settings.redis_url {
            Some(url) => RateLimiter::redis(url.expose(), product).await?,
            None => RateLimiter::new(),
        };
        Ok(Self {
            db,
            identity,
            oauth,
            outbox,
            data_mode,
            limiter: Arc::new(limiter),
        })
    }

    /// Counts a hit of `rule` for `key` (an IP, a normalised email, a user id).
    pub async fn limit(&self, rule: &Rule, key: &str) -> Result<Allowance, ApiError> {
        self.limiter.hit(rule, key).await
    }

    /// Counts a per-IP rule for the caller; callers without a known address share one bucket.
    pub async fn limit_ip(&self, rule: &Rule, client: &ClientInfo) -> Result<Allowance, ApiError> {
        self.limit(
            rule,
            &client.ip_string().unwrap_or_else(|| "unknown".into()),
        )
        .await
    }
}

/// Applies a product's migrations (`basalt migrate`).
pub async fn migrate<M: MigratorTrait>(database_url: &str) -> anyhow::Result<()> {
    let db = crate::db::connect(database_url).await?;
    M::up(&db, None).await?;
    Ok(())
}

impl Core {
    /// True when at least one user has `role` (the server hints how to create the first admin).
    pub async fn has_role(&self, role: &str) -> anyhow::Result<bool> {
        Ok(self.identity.count_with_role(role).await? > 0)
    }
}

/// For `basalt user create`: an error listing the product's roles when `role` is not one.
pub fn check_role(
    roles: &crate::roles::RoleTable,
    product: &str,
    role: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        roles.is_role(role),
        "unknown role {role:?}; {product} roles are: {}",
        roles.roles().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

impl HasIdentity for Core {
    fn identity(&self) -> &Identity {
        &self.identity
    }
}
