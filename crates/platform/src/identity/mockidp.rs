//! The built-in mock identity provider of MOCK mode: one RSA key per product database
//! (`crate::keys`), signing the mock SAML IdP's assertions and the mock Google issuer's ID
//! tokens. Its tokens pass the same verification as real ones; only MOCK mode trusts its key,
//! and it signs only for people who proved they read the address's mail (see `oauth`).

use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::{
    google::{self, MOCK_ISSUER},
    oauth::ExternalProfile,
};
use crate::{error::ApiResult, saml::IdpSigner};

const KEY_NAME: &str = "mock_identity_provider_rsa";
const KID: &str = "basalt-mock-1";

pub struct MockIdp {
    signer: IdpSigner,
}

impl MockIdp {
    /// The product's mock key, generated and stored on first use.
    pub async fn load(db: &DatabaseConnection) -> anyhow::Result<Self> {
        let der = crate::keys::load_or_create(db, KEY_NAME, || {
            Ok(IdpSigner::generate()
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .to_pkcs8_der())
        })
        .await?;
        let signer = IdpSigner::from_pkcs8_der(&der).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self { signer })
    }

    pub fn signer(&self) -> &IdpSigner {
        &self.signer
    }

    fn jwk(&self) -> Jwk {
        let (n, e) = self.signer.rsa_public_components();
        google::rsa_jwk(KID, &n, &e)
    }

    /// An ID token of the mock Google issuer for `profile`, as Google would sign it.
    pub fn google_id_token(
        &self,
        profile: &ExternalProfile,
        audience: &str,
        ttl: Duration,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": MOCK_ISSUER, "aud": audience, "sub": profile.subject,
            "email": profile.email, "email_verified": profile.email_verified, "name": profile.name,
            "iat": now, "exp": now + ttl.as_secs() as i64,
        });
        google::rs256_jwt(KID, &claims, |msg| self.signer.sign_rs256(msg))
    }

    /// Verifies an ID token of the mock Google issuer.
    pub fn verify_google(&self, token: &str, audience: &str) -> ApiResult<ExternalProfile> {
        google::verify_with(&self.jwk(), token, &[MOCK_ISSUER.to_owned()], audience)
    }
}
