//! `Core`: the shared services one product runs on (database, identity, OAuth, outbox, jobs,
//! data mode, rate limiter, instance bus, live connections, background work), wired once from
//! `ProductSettings` by `product::build`. Each product's context holds one and derefs to it.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::{
    bus::Bus,
    cookies::CookiePolicy,
    datamode::DataMode,
    error::ApiError,
    identity::{
        Identity, IdentityConfig,
        auth::HasIdentity,
        google::{GoogleProof, MockAuthorizeRequest, MockTokenRequest, MockTokenResponse},
        mockidp::MockIdp,
        oauth::{CodeGrant, ExternalProfile, MockAuthorization, OAuthProviders, Provider},
    },
    jobs::Jobs,
    lifecycle::Background,
    mail::Mailer,
    outbox::Outbox,
    ratelimit::RateLimiter,
    realtime::Connections,
    roles::{Perm, RoleTable},
    settings::ProductSettings,
};

/// The shared services, behind one `Arc`: every handler's `State` extractor and every
/// middleware with state clones its product's context per request, and a `Core` of plain
/// fields cost a dozen reference counts and several heap copies (configuration strings) each
/// time. Reads go through `Deref` to [`CoreParts`], so `core.db`, `core.identity` read as
/// before.
#[derive(Clone)]
pub struct Core(Arc<CoreParts>);

impl std::ops::Deref for Core {
    type Target = CoreParts;

    fn deref(&self) -> &CoreParts {
        &self.0
    }
}

/// What a [`Core`] holds.
pub struct CoreParts {
    /// The product's name (`warroom`).
    pub product: &'static str,
    /// The product's database: queries, and the writes no hot path makes.
    pub db: DatabaseConnection,
    /// Hot writes and write transactions: one connection on SQLite, where writers queue here
    /// instead of spinning on the busy timeout; `db` itself on PostgreSQL (`db::Pools`).
    pub writer: DatabaseConnection,
    /// The database's state as health answers report it (cached, at most a second old).
    pub db_health: crate::health::DbHealth,
    pub identity: Identity,
    pub oauth: OAuthProviders,
    pub outbox: Outbox,
    /// The durable job queue on the product's database.
    pub jobs: Jobs,
    pub data_mode: DataMode,
    pub limiter: Arc<RateLimiter>,
    /// Notices to every instance of the product (through Redis when configured).
    pub bus: Bus,
    /// This instance's live connections (WebSocket, SSE, ...), which end with their session.
    pub connections: Connections,
    /// The product's role → permission table.
    pub roles: RoleTable,
    /// The product's session cookies, when its browser clients keep tokens in cookies.
    pub cookies: Option<Arc<CookiePolicy>>,
    /// `REDIS_URL`, for readiness checks.
    pub redis_url: Option<crate::secrets::Secret>,
    /// Long-running work, stopped by the server after a graceful stop.
    pub background: Background,
    mock_idp: Arc<tokio::sync::OnceCell<Arc<MockIdp>>>,
}

/// What a product gives `Core::build` besides its settings.
pub struct CoreSpec {
    pub identity: IdentityConfig,
    pub roles: RoleTable,
    pub cookies: Option<CookiePolicy>,
}

impl Core {
    /// Connects, applies `M`'s migrations, and wires the services. The identity policy's
    /// mail-link redirect origins get the CORS allow-list added here.
    pub async fn build<M: MigratorTrait>(
        settings: &ProductSettings,
        spec: CoreSpec,
    ) -> anyhow::Result<Self> {
        let CoreSpec {
            mut identity,
            roles,
            cookies,
        } = spec;
        let product = identity.product;
        let crate::db::Pools {
            read: db,
            write: writer,
        } = crate::db::open(&settings.database_url).await?;
        M::up(&writer, None).await?;
        let background = Background::new();
        let prefix = settings.redis_prefix_for(product);
        let bus = match &settings.redis_url {
            Some(url) => Bus::redis(url.expose(), format!("{prefix}:bus"), &background)?,
            None => Bus::local(),
        };
        let data_mode =
            DataMode::load(db.clone(), bus.clone(), settings.data_mode, &background).await?;
        let outbox = Outbox::new(db.clone());
        let mailer = Mailer::new(
            outbox.clone(),
            settings.smtp_url.as_ref().map(|s| s.expose()),
            &settings.mail_from,
            data_mode.clone(),
        )?;
        let mailer = if settings.dev {
            mailer.echo_to_console(product)
        } else {
            mailer
        };
        identity
            .redirect_origins
            .extend(settings.cors_origins.iter().cloned());
        let mut identity = Identity::new(
            db.clone(),
            identity,
            settings.jwt_secret.expose().as_bytes(),
            mailer,
        )
        .with_bus(bus.clone())
        .with_writer(writer.clone());
        if let Some(url) = &settings.redis_url {
            identity = identity.with_shared_throttle(url.expose(), &prefix)?;
        }
        identity.follow_changes(&background);
        let connections = Connections::new(identity.clone(), &bus, &background);
        let oauth = OAuthProviders::new(
            settings.google.clone(),
            settings.meta.clone(),
            data_mode.clone(),
        );
        let limiter = match &settings.redis_url {
            Some(url) => RateLimiter::redis(url.expose(), &prefix).await?,
            None => RateLimiter::new(),
        };
        Ok(Self(Arc::new(CoreParts {
            product,
            jobs: Jobs::new(db.clone()).of_product(product),
            db_health: crate::health::DbHealth::new(db.clone()).await,
            db,
            writer,
            identity,
            oauth,
            outbox,
            data_mode,
            limiter: Arc::new(limiter),
            bus,
            connections,
            roles,
            cookies: cookies.map(Arc::new),
            redis_url: settings.redis_url.clone(),
            background,
            mock_idp: Arc::default(),
        })))
    }

    /// `permission_denied` unless the caller's role holds `perm`.
    pub fn require(
        &self,
        user: &crate::identity::auth::AuthUser,
        perm: Perm,
    ) -> Result<(), ApiError> {
        self.roles.require(&user.user.role, perm)
    }

    /// The person a Google sign-in proves: a verified ID token, or an exchanged code.
    pub async fn google_profile(&self, proof: GoogleProof) -> Result<ExternalProfile, ApiError> {
        match proof {
            GoogleProof::Credential(token) => {
                self.oauth
                    .verify_google_id_token(&token, async || self.mock_idp().await)
                    .await
            }
            GoogleProof::Code(grant) => {
                self.oauth
                    .exchange(&self.identity, Provider::Google, &grant)
                    .await
            }
        }
    }

    /// The mock Google provider exists in MOCK mode only; elsewhere `failed_precondition`.
    pub fn require_mock_google(&self) -> Result<(), ApiError> {
        if self.oauth.is_mock() {
            Ok(())
        } else {
            Err(ApiError::precondition(
                "the mock provider is available in MOCK data mode only",
            ))
        }
    }

    /// MOCK mode's mail step: mails `req.email` a link with a single-use code. (Its limits are
    /// rows of the product's route table.)
    pub async fn mock_google_authorize(&self, req: &MockAuthorizeRequest) -> Result<(), ApiError> {
        self.require_mock_google()?;
        self.identity
            .mock_authorize(MockAuthorization {
                provider: Provider::Google,
                email: &req.email,
                name: req.name.as_deref(),
                redirect_uri: &req.redirect_uri,
                state: req.state.as_deref(),
                code_challenge: req.code_challenge.as_deref(),
            })
            .await
    }

    /// MOCK mode's token endpoint: redeems a mailed code for an ID token of the mock issuer.
    pub async fn mock_google_token(
        &self,
        req: MockTokenRequest,
    ) -> Result<MockTokenResponse, ApiError> {
        const TTL: std::time::Duration = std::time::Duration::from_secs(3600);
        self.require_mock_google()?;
        if req.code.trim().is_empty() {
            return Err(ApiError::validation(vec![crate::error::FieldError {
                field: "code".into(),
                message: "is required".into(),
            }]));
        }
        let grant = CodeGrant {
            code: req.code,
            redirect_uri: req.redirect_uri,
            code_verifier: req.code_verifier,
        };
        let profile = self
            .oauth
            .exchange(&self.identity, Provider::Google, &grant)
            .await?;
        let id_token =
            self.mock_idp()
                .await?
                .google_id_token(&profile, self.oauth.google_audience(), TTL);
        Ok(MockTokenResponse {
            id_token,
            expires_in: TTL.as_secs() as i64,
        })
    }

    /// The mock identity provider's key (MOCK mode), loaded or generated on first use.
    pub async fn mock_idp(&self) -> Result<Arc<MockIdp>, ApiError> {
        self.mock_idp
            .get_or_try_init(|| async { MockIdp::load(&self.db).await.map(Arc::new) })
            .await
            .cloned()
            .map_err(ApiError::from)
    }
}

impl Core {
    /// True when at least one user has `role` (the server hints how to create the first admin).
    pub async fn has_role(&self, role: &str) -> anyhow::Result<bool> {
        Ok(self.identity.count_with_role(role).await? > 0)
    }
}

/// `basalt user create`: an account whose address the operator vouches for (verified).
pub struct OperatorUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
    pub role: &'a str,
}

impl Core {
    /// Creates an operator's account; the caller has checked the role (`check_role`).
    pub async fn create_operator_user(
        &self,
        u: OperatorUser<'_>,
    ) -> anyhow::Result<crate::identity::User> {
        let new = crate::identity::NewUser {
            email: u.email.to_owned(),
            password: Some(u.password.to_owned()),
            name: u.name.to_owned(),
            role: u.role.to_owned(),
            email_verified: true,
        };
        self.identity
            .create_user(new)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))
    }
}

impl Core {
    /// `basalt user token`: a new session for an existing account, started by the operator
    /// (recorded in the account's security log), for scripts and API tools.
    pub async fn operator_session(
        &self,
        email: &str,
    ) -> anyhow::Result<crate::identity::IssuedTokens> {
        let user = self.identity.user_by_email(email).await?.ok_or_else(|| {
            anyhow::anyhow!("no {} account has the address {email}", self.product)
        })?;
        let client = crate::extract::ClientInfo {
            ip: None,
            user_agent: Some("basalt user token".into()),
        };
        let tokens = self
            .identity
            .start_session(&user, &client, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let details = serde_json::json!({ "sessionId": tokens.session_id });
        self.identity
            .log_event(
                Some(user.id),
                None,
                "session_started_by_operator",
                &client,
                Some(details),
            )
            .await;
        Ok(tokens)
    }
}

/// A product context that carries a `Core` (every product's `Ctx`; `product_context!` writes
/// the impl). Such a context authenticates its callers through the core's identity.
pub trait HasCore {
    fn core(&self) -> &Core;
}

impl HasCore for Core {
    fn core(&self) -> &Core {
        self
    }
}

impl<T: HasCore> HasIdentity for T {
    fn identity(&self) -> &Identity {
        &self.core().identity
    }

    /// The product's cookies, when its access token travels in one.
    fn session_cookies(&self) -> Option<&CookiePolicy> {
        self.core()
            .cookies
            .as_deref()
            .filter(|p| p.access_name.is_some())
    }
}

/// `Deref<Target = Core>` and `HasCore` for a product context whose `core` field holds its
/// `Core`: `platform::product_context!(Ctx);`.
#[macro_export]
macro_rules! product_context {
    ($ctx:ty) => {
        impl ::std::ops::Deref for $ctx {
            type Target = $crate::core::Core;

            fn deref(&self) -> &$crate::core::Core {
                &self.core
            }
        }

        impl $crate::core::HasCore for $ctx {
            fn core(&self) -> &$crate::core::Core {
                &self.core
            }
        }
    };
}

impl Core {
    /// The account at `email`, or an error naming the product (the CLI's user commands).
    pub async fn operator_account(&self, email: &str) -> anyhow::Result<crate::identity::User> {
        self.identity
            .user_by_email(email)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no {} account has the address {email}", self.product))
    }

    /// Every account, oldest first (`basalt user list`).
    pub async fn all_users(&self) -> anyhow::Result<Vec<crate::identity::User>> {
        let filter = crate::identity::UserFilter::default();
        let mut all = Vec::new();
        for page in 1.. {
            let rows = self
                .identity
                .users(&filter, crate::validate::Paging::new(page, 100))
                .await?;
            let done = rows.items.len() < 100;
            all.extend(rows.items);
            if done {
                break;
            }
        }
        Ok(all)
    }
}
