//! One fake Google (an OpenID Connect issuer) for every product's LIVE-mode tests: a wiremock
//! server that publishes the issuer's key set, exchanges authorization codes at its token
//! endpoint and answers userinfo, and the RSA key its ID tokens are signed with.
//! [`FakeGoogle::configure`] points a product's Google settings at it (and switches to LIVE).
//!
//! Nothing is mounted until a test asks: `serve_keys` for ID-token sign-ins (`credential`),
//! `serve_token` and `serve_userinfo` for the code flow; tests that need an outage or a
//! request matcher mount their own `wiremock::Mock` on [`FakeGoogle::server`] at the paths
//! named here.

use platform::{
    datamode::Mode, identity::google, saml::IdpSigner, secrets::Secret, settings::ProductSettings,
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

/// The OAuth client the products are registered as at the fake.
pub const CLIENT_ID: &str = "basalt-test.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The fake's `iss` (not Google's own, so a token claiming Google's issuer is refused).
pub const ISSUER: &str = "https://accounts.google.test";
/// The key id the fake's key is published under by [`FakeGoogle::serve_keys`].
pub const KID: &str = "fake-google-1";
pub const JWKS_PATH: &str = "/oauth2/v3/certs";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/v1/userinfo";
/// The access token [`FakeGoogle::serve_code_flow`] hands out.
pub const ACCESS_TOKEN: &str = "ya29.fake-access";

/// A local stand-in for Google on its own port, with its own signing key.
pub struct FakeGoogle {
    pub server: MockServer,
    pub key: IdpSigner,
}

impl FakeGoogle {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
            key: IdpSigner::generate().expect("RSA key"),
        }
    }

    /// `{"keys":[…]}` with this issuer's public key under `kid`.
    pub fn jwks(&self, kid: &str) -> Value {
        let (n, e) = self.key.rsa_public_components();
        json!({ "keys": [google::rsa_jwk(kid, &n, &e)] })
    }

    /// Publishes the key set under [`KID`] (cacheable for an hour, as Google's is); when
    /// `fetches` is given, wiremock checks on drop that it was fetched that often by each
    /// instance: exactly that often by one instance, and with several
    /// ([`crate::instances_wanted`]), since each caches the set apart, at least once
    /// and at most that often per instance.
    pub async fn serve_keys(&self, fetches: Option<u64>) {
        let mock = Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("cache-control", "public, max-age=3600")
                    .set_body_json(self.jwks(KID)),
            );
        match fetches {
            Some(n) => match crate::instances_wanted() as u64 {
                1 => mock.expect(n).mount(&self.server).await,
                instances => {
                    mock.expect(n.min(1)..=n * instances)
                        .mount(&self.server)
                        .await
                }
            },
            None => mock.mount(&self.server).await,
        }
    }

    /// Claims Google would put in an ID token for us, valid for ten minutes.
    pub fn claims(&self, sub: &str, email: &str) -> Value {
        let now = unix_now();
        json!({
            "iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "email": email,
            "email_verified": true, "name": "Liv Live", "iat": now, "exp": now + 600,
        })
    }

    /// An RS256 ID token over `claims`, signed with this issuer's key, header `kid`.
    pub fn id_token(&self, kid: &str, claims: &Value) -> String {
        signed_jwt(&self.key, kid, claims)
    }

    /// The token endpoint: any code is exchanged for `access_token` (and an ID token for
    /// `claims`, as Google sends one).
    pub async fn serve_token(&self, access_token: &str, claims: &Value) {
        let body = json!({
            "access_token": access_token, "token_type": "Bearer", "expires_in": 3599,
            "scope": "openid email profile", "id_token": self.id_token(KID, claims),
        });
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// The userinfo endpoint: `person` to whoever presents `access_token`.
    pub async fn serve_userinfo(&self, access_token: &str, person: Value) {
        Mock::given(method("GET"))
            .and(path(USERINFO_PATH))
            .and(header("authorization", format!("Bearer {access_token}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(person))
            .mount(&self.server)
            .await;
    }

    /// The code flow end to end: the token endpoint hands out [`ACCESS_TOKEN`] and userinfo
    /// describes the person of `claims` (`sub`, `email`, `email_verified`, `name`).
    pub async fn serve_code_flow(&self, claims: &Value) {
        self.serve_token(ACCESS_TOKEN, claims).await;
        let person = json!({
            "sub": claims["sub"], "email": claims["email"],
            "email_verified": claims["email_verified"], "name": claims["name"],
        });
        self.serve_userinfo(ACCESS_TOKEN, person).await;
    }

    /// LIVE mode with Google configured against this fake: client, secret, its endpoints and
    /// its issuer.
    pub fn configure(&self, s: &mut ProductSettings) {
        s.data_mode = Mode::Live;
        let uri = self.server.uri();
        s.google.client_id = Some(CLIENT_ID.into());
        s.google.client_secret = Some(Secret::new(CLIENT_SECRET));
        s.google.jwks_url = Some(format!("{uri}{JWKS_PATH}"));
        s.google.token_url = format!("{uri}{TOKEN_PATH}");
        s.google.userinfo_url = format!("{uri}{USERINFO_PATH}");
        s.google.issuers = vec![ISSUER.into()];
    }
}

/// Now, in seconds since the epoch (JWT `iat`/`exp`).
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An RS256 JWT over `claims` signed by `key` (the fake's, a stranger's, a product's mock
/// issuer's).
pub fn signed_jwt(key: &IdpSigner, kid: &str, claims: &Value) -> String {
    google::rs256_jwt(kid, claims, |msg| key.sign_rs256(msg))
}
