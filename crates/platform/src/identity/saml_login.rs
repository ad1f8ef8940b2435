//! SAML sign-in on top of `crate::saml`: outstanding AuthnRequest ids (single use, 10
//! minutes), the replay cache of assertion ids, and turning a validated assertion into a
//! session. Only SP-initiated sign-in is accepted: a response must answer a request we made
//! (`InResponseTo`), and that request must have been started in the browser that posts the
//! response (the product keeps the request id in a cookie and hands it back here). Without
//! that binding an attacker could start a sign-in, authenticate as themselves, and make a
//! victim's browser post the result (login CSRF): the victim would work in the attacker's
//! account.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::{
    Identity, IssuedTokens, User, chrono_dur,
    oauth::{ExternalProfile, Provider},
};
use crate::{
    ApiError, ApiResult,
    extract::ClientInfo,
    saml::{self, SpConfig},
};

const REQUEST: &str = "saml_request";
const REQUEST_TTL: Duration = Duration::from_secs(600);
const SEEN_ASSERTION: &str = "saml_assertion";
/// Assertion ids are kept this long past their own expiry, covering the validator's skew.
const REPLAY_MARGIN: Duration = Duration::from_secs(600);

/// A started sign-in: the AuthnRequest id and where the browser returns afterwards.
pub struct SamlStart {
    pub request_id: String,
}

impl Identity {
    /// Records a new outstanding request. `return_to` must be a page of the app (or one of
    /// the allowed origins); anything else is refused rather than silently dropped.
    pub async fn saml_begin(&self, return_to: Option<&str>) -> ApiResult<SamlStart> {
        if let Some(url) = return_to
            && !self.is_app_url(url)
        {
            return Err(ApiError::validation(vec![super::field(
                "redirectTo",
                "must be a URL of this app",
            )]));
        }
        let token = self
            .issue_one_time(
                None,
                REQUEST,
                REQUEST_TTL,
                Some(json!({ "returnTo": return_to })),
            )
            .await?;
        // An NCName (xs:ID) must not start with a digit or '-'.
        Ok(SamlStart {
            request_id: format!("_{token}"),
        })
    }

    /// Validates a posted `SAMLResponse`, spends the request it answers, refuses a replayed
    /// assertion, and signs the person in (provisioned on first sign-in). Returns the page
    /// to send the browser to.
    /// `started_here` is the request id the posting browser holds (see the module docs).
    pub async fn saml_sign_in(
        &self,
        sp: &SpConfig,
        saml_response: &str,
        started_here: Option<&str>,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens, Option<String>)> {
        let refused = |why: String| {
            tracing::info!(%why, "SAML response refused");
            ApiError::unauthenticated(format!("SAML sign-in failed: {why}"))
        };
        // Off the async runtime, under the untrusted-input pool's cap and budget (503 when
        // busy); then the validation's own answer.
        let assertion = saml::validate_response_off_runtime(sp, saml_response, Utc::now())
            .await?
            .map_err(|e| refused(e.to_string()))?;
        let in_response_to = assertion
            .in_response_to
            .as_deref()
            .ok_or_else(|| refused("unsolicited response (no InResponseTo)".into()))?;
        if started_here != Some(in_response_to) {
            return Err(refused(
                "this sign-in was not started in this browser".into(),
            ));
        }
        let request_id = in_response_to
            .strip_prefix('_')
            .ok_or_else(|| refused("the sign-in request is unknown".into()))?;
        let request = self
            .consume_one_time(request_id, REQUEST)
            .await?
            .ok_or_else(|| refused("the sign-in request is unknown, used or expired".into()))?;
        let keep = assertion.not_on_or_after - Utc::now() + chrono_dur(REPLAY_MARGIN);
        let seen = format!("{}|{}", assertion.issuer, assertion.id);
        if !self
            .claim_once(
                SEEN_ASSERTION,
                &seen,
                keep.to_std().unwrap_or(REPLAY_MARGIN),
            )
            .await?
        {
            return Err(refused("this assertion was already used".into()));
        }
        let email = assertion
            .email()
            .ok_or_else(|| refused("the identity provider sent no email address".into()))?;
        let profile = ExternalProfile {
            provider: Provider::Saml,
            subject: format!("{}|{}", assertion.issuer, assertion.name_id),
            email: Some(super::normalize_email(&email)),
            // The operator chose to trust this IdP for its directory's addresses.
            email_verified: true,
            name: assertion.display_name(),
        };
        let (user, tokens) = self.sign_in_external(profile, None, client).await?;
        let return_to = request
            .data
            .and_then(|d| d["returnTo"].as_str().map(str::to_owned));
        Ok((user, tokens, return_to))
    }

    /// True when `url` is an http(s) URL on the app's origin or an allowed origin.
    pub fn is_app_url(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && self
                    .cfg
                    .redirect_origins
                    .contains(&u.origin().ascii_serialization())
        })
    }
}

const MOCK_CONSENT: &str = "saml_mock_consent";
const MOCK_CONSENT_TTL: Duration = Duration::from_secs(600);
const MOCK_ASSERTION_TTL: Duration = Duration::from_secs(300);

/// The built-in IdP of MOCK mode. Like the mock OAuth provider it never signs for someone who
/// merely knows an address: it mails the address a link, and only opening that link makes it
/// sign the assertion.
impl Identity {
    /// Checks that `saml_request` (HTTP-Redirect encoding) was issued by `sp` for its own
    /// consumer, then mails `email` a link to `continue_url` that completes the sign-in.
    pub async fn saml_mock_consent(
        &self,
        sp: &SpConfig,
        saml_request: &str,
        relay_state: Option<&str>,
        email: &str,
        name: Option<&str>,
        continue_url: &str,
    ) -> ApiResult<()> {
        let email = Self::checked_email(email)?;
        super::oauth::check_mock_name_and_state(name, None)?;
        // Inflating and parsing a posted request is untrusted-input work like a response's.
        let posted = saml_request.to_owned();
        let req = crate::untrusted::shared()
            .run("saml request", move || {
                saml::decode_redirect_request(&posted)
            })
            .await?
            .map_err(|e| ApiError::validation(vec![super::field("SAMLRequest", &e.to_string())]))?;
        if req.issuer.as_deref().is_some_and(|i| i != sp.entity_id)
            || req.acs_url.as_deref().is_some_and(|a| a != sp.acs_url)
        {
            return Err(ApiError::validation(vec![super::field(
                "SAMLRequest",
                "was not issued by this service provider",
            )]));
        }
        let data = json!({
            "requestId": req.id, "relayState": relay_state, "email": email, "name": name,
        });
        let token = self
            .issue_one_time(None, MOCK_CONSENT, MOCK_CONSENT_TTL, Some(data))
            .await?;
        let mut link = url::Url::parse(continue_url).map_err(ApiError::internal)?;
        link.query_pairs_mut().append_pair("token", &token);
        self.send_mock_sign_in(&email, "the mock SAML identity provider", link.as_str())
            .await
    }

    /// Spends a mailed consent link and signs the assertion it stands for. Returns the
    /// base64 `SAMLResponse` and the relay state.
    pub async fn saml_mock_assert(
        &self,
        sp: &SpConfig,
        signer: &saml::IdpSigner,
        token: &str,
    ) -> ApiResult<(String, Option<String>)> {
        let row = self
            .consume_one_time(token, MOCK_CONSENT)
            .await?
            .ok_or_else(|| {
                ApiError::unauthenticated("the sign-in link is invalid, used or expired")
            })?;
        let data = row.data.unwrap_or_default();
        let (Some(request_id), Some(email)) = (data["requestId"].as_str(), data["email"].as_str())
        else {
            return Err(ApiError::internal(
                "mock SAML consent without request or email",
            ));
        };
        let now = Utc::now();
        let mut spec = saml::ResponseSpec::new(&sp.idp.entity_id, sp, email, now);
        spec.in_response_to = Some(request_id.to_owned());
        spec.not_on_or_after = now + chrono_dur(MOCK_ASSERTION_TTL);
        spec.attributes = vec![("email".to_owned(), vec![email.to_owned()])];
        if let Some(name) = data["name"].as_str().filter(|n| !n.trim().is_empty()) {
            spec.attributes
                .push(("displayName".to_owned(), vec![name.to_owned()]));
        }
        let relay = data["relayState"].as_str().map(str::to_owned);
        Ok((signer.signed_response(&spec), relay))
    }
}
