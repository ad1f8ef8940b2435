//! `VendorClient`: one vendor's HTTP client. Every call goes through the breaker, then is
//! retried on transient failures with backoff (or the vendor's `Retry-After`).

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, header::RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::{
    breaker::{BreakerPolicy, CircuitBreaker},
    error::VendorError,
    retry::{RetryPolicy, parse_retry_after},
};

/// Timeouts, retries and breaker for one vendor. `Default` suits a request made while a user
/// waits; tests shorten everything.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VendorPolicy {
    pub connect_timeout: Duration,
    /// The whole of one attempt, body included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
}

impl Default for VendorPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
        }
    }
}

/// Whether repeating a request is harmless. A Twilio message or a Slack post is not: after a
/// timeout or a 500 the vendor may have acted, and a retry would send the alert twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads and idempotent writes: retried on connect errors, timeouts, 408, 429, 500,
    /// 502, 503 and 504.
    Idempotent,
    /// Retried only where the vendor certainly did not act: connect errors, 408, 429, 503.
    NotIdempotent,
}

/// One vendor's client; clones share the connection pool and the breaker.
#[derive(Clone, Debug)]
pub struct VendorClient {
    vendor: &'static str,
    http: Client,
    policy: VendorPolicy,
    breaker: CircuitBreaker,
}

/// What one attempt came to.
enum Attempt {
    Done(Response),
    /// Worth another try, after `retry_after` when the vendor said so.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The vendor is failing, but repeating could act twice (or will not help).
    Failed(String),
}

impl VendorClient {
    /// `vendor` is the name errors and logs use ("Twilio"). Fails only when the TLS stack
    /// cannot be initialised.
    pub fn new(vendor: &'static str, policy: VendorPolicy) -> Result<Self, reqwest::Error> {
        let http = Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            // A vendor API that redirects is misconfigured; following could send our
            // credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("basalt/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            vendor,
            http,
            breaker: CircuitBreaker::new(policy.breaker),
            policy,
        })
    }

    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    pub fn policy(&self) -> &VendorPolicy {
        &self.policy
    }

    /// The breaker, for status reporting (`VendorEntry`).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// An idempotent call: `send_with(Idempotency::Idempotent, build)`.
    pub async fn send<F>(&self, build: F) -> Result<Response, VendorError>
    where
        F: Fn(&Client) -> RequestBuilder,
    {
        self.send_with(Idempotency::Idempotent, build).await
    }

    /// A call the vendor must not receive twice: `send_with(Idempotency::NotIdempotent, build)`.
    pub async fn send_once<F>(&self, build: F) -> Result<Response, VendorError>
    where
        F: Fn(&Client) -> RequestBuilder,
    {
        self.send_with(Idempotency::NotIdempotent, build).await
    }

    /// Builds the request with `build` (called again for each attempt) and sends it.
    ///
    /// `Ok` carries a 2xx response, or a 4xx other than 408/429: the vendor is up and
    /// refused this request; the adapter reads its error body (see [`Self::rejected`]). A
    /// 4xx does not count against the breaker. Everything else is an `Err`: `CircuitOpen`
    /// without sending anything, `Unavailable` after the retries (a call that failed after
    /// its retries is one breaker failure), `BadResponse` for a redirect.
    pub async fn send_with<F>(&self, idem: Idempotency, build: F) -> Result<Response, VendorError>
    where
        F: Fn(&Client) -> RequestBuilder,
    {
        let permit = self
            .breaker
            .acquire()
            .map_err(|retry_after| VendorError::CircuitOpen {
                vendor: self.vendor,
                retry_after,
            })?;
        let retry = self.policy.retry;
        let mut attempt = 0;
        let (message, retry_after) = loop {
            let (message, retry_after) = match self.attempt(idem, &build).await {
                Attempt::Done(res) => {
                    permit.success();
                    return self.check_redirect(res);
                }
                Attempt::Failed(message) => break (message, None),
                Attempt::Transient {
                    message,
                    retry_after,
                } => (message, retry_after),
            };
            if let Some(wait) = retry_after
                && wait > retry.max_retry_after
            {
                break (message, Some(wait));
            }
            if attempt >= retry.max_retries {
                break (message, retry_after);
            }
            let wait = retry_after.unwrap_or_else(|| retry.backoff(attempt));
            tracing::warn!(vendor = self.vendor, attempt, %message, wait_ms = wait.as_millis() as u64, "vendor call failed, retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        };
        permit.failure(retry_after);
        Err(VendorError::Unavailable {
            vendor: self.vendor,
            message,
            retry_after,
        })
    }

    async fn attempt<F>(&self, idem: Idempotency, build: &F) -> Attempt
    where
        F: Fn(&Client) -> RequestBuilder,
    {
        let res = match build(&self.http).send().await {
            Ok(res) => res,
            // `without_url`: a webhook URL or an account path is a credential.
            Err(e) if e.is_connect() => {
                return Attempt::Transient {
                    message: format!("could not connect: {}", e.without_url()),
                    retry_after: None,
                };
            }
            Err(e) if e.is_timeout() && idem == Idempotency::Idempotent => {
                return Attempt::Transient {
                    message: "timed out".into(),
                    retry_after: None,
                };
            }
            Err(e) if e.is_timeout() => return Attempt::Failed("timed out".into()),
            Err(e) => return Attempt::Failed(format!("request failed: {}", e.without_url())),
        };
        let status = res.status();
        let transient = match status.as_u16() {
            408 | 429 | 503 => true,
            500 | 502 | 504 => idem == Idempotency::Idempotent,
            _ if status.is_server_error() => false,
            _ => return Attempt::Done(res),
        };
        let message = format!("answered {status}");
        if !transient {
            return Attempt::Failed(message);
        }
        let retry_after = res
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        Attempt::Transient {
            message,
            retry_after,
        }
    }

    fn check_redirect(&self, res: Response) -> Result<Response, VendorError> {
        if res.status().is_redirection() {
            return Err(VendorError::BadResponse {
                vendor: self.vendor,
                message: format!("unexpected redirect ({})", res.status()),
            });
        }
        Ok(res)
    }

    /// A refused request (the 4xx `send` passed back) as `VendorError::Rejected`, with the
    /// message `extract` finds in the vendor's error body (its JSON `message`, say), or the
    /// status's reason. The message is cut to 300 characters.
    pub async fn rejected(
        &self,
        res: Response,
        extract: impl FnOnce(&str) -> Option<String>,
    ) -> VendorError {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        let message = extract(&body)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("refused").to_owned());
        VendorError::Rejected {
            vendor: self.vendor,
            status: status.as_u16(),
            message: message.chars().take(300).collect(),
        }
    }

    /// A 2xx body as `T`: `Unavailable` when it cannot be read to the end, `BadResponse` when
    /// it is not the JSON `T` describes.
    pub async fn json<T: DeserializeOwned>(&self, res: Response) -> Result<T, VendorError> {
        let body = res.text().await.map_err(|e| VendorError::Unavailable {
            vendor: self.vendor,
            message: format!("reading the answer failed: {}", e.without_url()),
            retry_after: None,
        })?;
        serde_json::from_str(&body).map_err(|e| self.bad_response(e.to_string()))
    }

    /// A `BadResponse` naming what was wrong with a 2xx body.
    pub fn bad_response(&self, message: impl Into<String>) -> VendorError {
        VendorError::BadResponse {
            vendor: self.vendor,
            message: message.into(),
        }
    }
}
