//! Crenoir's SAML service provider: its URLs (metadata at `/auth/saml/metadata`, the
//! assertion consumer at `POST /auth/saml/login`), the operator's enterprise IdP in LIVE mode
//! and the built-in mock IdP (`/auth/saml/mock/*`) in MOCK mode.

use platform::{
    ApiError, ApiResult,
    core::Core,
    datamode::VendorState,
    extract::ClientInfo,
    identity::{IssuedTokens, User},
    saml::{self, IdpConfig, IdpKey, SpConfig},
    settings::SamlSettings,
};

pub const METADATA_PATH: &str = "/auth/saml/metadata";
pub const ACS_PATH: &str = "/auth/saml/login";
pub const MOCK_IDP_PATH: &str = "/auth/saml/mock";

pub struct Saml {
    sp_entity_id: String,
    acs_url: String,
    public_url: String,
    /// The configured IdP; `None` leaves LIVE mode unconfigured.
    live: Option<IdpConfig>,
}

impl Saml {
    /// Reads the operator's IdP settings; a certificate that does not parse stops the start.
    pub fn new(settings: &SamlSettings, public_url: &str) -> anyhow::Result<Self> {
        let live = match (
            &settings.idp_entity_id,
            &settings.idp_sso_url,
            &settings.idp_certificate,
        ) {
            (Some(entity_id), Some(sso_url), Some(cert)) => Some(IdpConfig {
                entity_id: entity_id.clone(),
                sso_url: sso_url.clone(),
                key: IdpKey::from_certificate_pem(cert)
                    .map_err(|e| anyhow::anyhow!("SAML_IDP_CERT: {e}"))?,
            }),
            _ => None,
        };
        Ok(Self {
            sp_entity_id: settings
                .sp_entity_id
                .clone()
                .unwrap_or_else(|| format!("{public_url}{METADATA_PATH}")),
            acs_url: format!("{public_url}{ACS_PATH}"),
            public_url: public_url.to_owned(),
            live,
        })
    }

    pub fn state(&self, core: &Core) -> VendorState {
        VendorState::of(&core.data_mode, self.live.is_some())
    }

    /// The built-in IdP's entity id and single sign-on URL.
    pub fn mock_idp_urls(&self) -> (String, String) {
        let base = format!("{}{MOCK_IDP_PATH}", self.public_url);
        (base.clone(), format!("{base}/sso"))
    }

    /// The service provider as it stands in the current data mode.
    pub async fn sp(&self, core: &Core) -> ApiResult<SpConfig> {
        let idp = match self.state(core) {
            VendorState::Live => self.live.clone().ok_or_else(unconfigured)?,
            VendorState::Mock => {
                let (entity_id, sso_url) = self.mock_idp_urls();
                IdpConfig {
                    entity_id,
                    sso_url,
                    key: core.mock_idp().await?.signer().public_key(),
                }
            }
            VendorState::Unconfigured => return Err(unconfigured()),
        };
        Ok(SpConfig {
            entity_id: self.sp_entity_id.clone(),
            acs_url: self.acs_url.clone(),
            idp,
        })
    }

    /// Our metadata, for the IdP's administrator. It describes the SP only, so it is served
    /// even before an IdP is configured.
    pub fn metadata(&self) -> String {
        let sp = SpConfig {
            entity_id: self.sp_entity_id.clone(),
            acs_url: self.acs_url.clone(),
            idp: self.live.clone().unwrap_or_else(|| {
                let (entity_id, sso_url) = self.mock_idp_urls();
                IdpConfig {
                    entity_id,
                    sso_url,
                    key: IdpKey::none(),
                }
            }),
        };
        saml::sp_metadata(&sp)
    }

    /// Starts an SP-initiated sign-in: the IdP URL (HTTP-Redirect binding) to send the
    /// browser to, and the request id the browser must keep (`BINDING_COOKIE`).
    pub async fn begin(&self, core: &Core, return_to: Option<&str>) -> ApiResult<SamlBegun> {
        let sp = self.sp(core).await?;
        let start = core.identity.saml_begin(return_to).await?;
        let req = saml::authn_request(&sp, &start.request_id, chrono::Utc::now());
        Ok(SamlBegun {
            redirect_url: saml::redirect_url(&sp, &req, return_to),
            request_id: req.id,
        })
    }

    /// Consumes a posted `SAMLResponse`; returns the session and the page to land on.
    pub async fn finish(
        &self,
        core: &Core,
        saml_response: &str,
        started_here: Option<&str>,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens, String)> {
        let sp = self.sp(core).await?;
        let (user, tokens, return_to) = core
            .identity
            .saml_sign_in(&sp, saml_response, started_here, client)
            .await?;
        let land = return_to.unwrap_or_else(|| core.identity.cfg.app_url.clone());
        Ok((user, tokens, land))
    }

    /// The mock IdP's consent step: checks the AuthnRequest is ours and mails the person a
    /// link that completes the sign-in (MOCK mode only).
    pub async fn mock_consent(
        &self,
        core: &Core,
        saml_request: &str,
        relay_state: Option<&str>,
        email: &str,
        name: Option<&str>,
    ) -> ApiResult<()> {
        self.require_mock(core)?;
        let sp = self.sp(core).await?;
        let continue_url = format!("{}{MOCK_IDP_PATH}/continue", self.public_url);
        core.identity
            .saml_mock_consent(&sp, saml_request, relay_state, email, name, &continue_url)
            .await
    }

    /// The mock IdP's answer once the mailed link is opened: a signed `SAMLResponse`, the
    /// relay state, and the assertion consumer to post them to.
    pub async fn mock_assert(&self, core: &Core, token: &str) -> ApiResult<MockAnswer> {
        self.require_mock(core)?;
        let sp = self.sp(core).await?;
        let idp = core.mock_idp().await?;
        let (saml_response, relay_state) = core
            .identity
            .saml_mock_assert(&sp, idp.signer(), token)
            .await?;
        Ok(MockAnswer {
            saml_response,
            relay_state,
            acs_url: sp.acs_url,
        })
    }

    /// `failed_precondition` outside MOCK mode, where the built-in IdP does not exist.
    pub fn require_mock(&self, core: &Core) -> ApiResult<()> {
        match self.state(core) {
            VendorState::Mock => Ok(()),
            _ => Err(ApiError::precondition(
                "the mock identity provider is available in MOCK data mode only",
            )),
        }
    }
}

/// A started sign-in.
pub struct SamlBegun {
    pub redirect_url: String,
    pub request_id: String,
}

pub struct MockAnswer {
    pub saml_response: String,
    pub relay_state: Option<String>,
    pub acs_url: String,
}

fn unconfigured() -> ApiError {
    ApiError::unavailable(
        "SAML sign-in is not configured: set SAML_IDP_ENTITY_ID, SAML_IDP_SSO_URL and SAML_IDP_CERT",
    )
}
