//! `VendorError`: why a vendor call failed, in words an operator can act on; how an HTTP
//! handler answers it (`From<VendorError> for ApiError`) and how a job treats it
//! (`is_retryable`, `retry_after`). No message carries a credential or a credentialed URL.

use std::time::Duration;

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// LIVE mode without the credentials or settings this call needs.
    #[error("{vendor} is not configured: set {setting}")]
    Unconfigured {
        vendor: &'static str,
        setting: &'static str,
    },
    /// The breaker is open: nothing was sent.
    #[error("{vendor} is temporarily unavailable after repeated failures; retry in {}s", secs(*retry_after))]
    CircuitOpen {
        vendor: &'static str,
        retry_after: Duration,
    },
    /// The vendor refused the request (a 4xx: a bad number, bad credentials, a closed channel).
    #[error("{vendor} refused the request ({status}): {message}")]
    Rejected {
        vendor: &'static str,
        status: u16,
        message: String,
    },
    /// Network failure, timeout, 5xx or rate limit, after the retries; `retry_after` when the
    /// vendor said how long to wait.
    #[error("{vendor} is unavailable: {message}")]
    Unavailable {
        vendor: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The vendor answered, but not in the shape its documentation gives.
    #[error("{vendor} answered something we could not read: {message}")]
    BadResponse {
        vendor: &'static str,
        message: String,
    },
}

/// Whole seconds, rounded up (a wait of 0.2 s is "retry in 1s").
fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl VendorError {
    pub fn vendor(&self) -> &'static str {
        match self {
            Self::Unconfigured { vendor, .. }
            | Self::CircuitOpen { vendor, .. }
            | Self::Rejected { vendor, .. }
            | Self::Unavailable { vendor, .. }
            | Self::BadResponse { vendor, .. } => vendor,
        }
    }

    /// True when the same call may succeed later (a job retries it); false when only a change
    /// of configuration or input will help (a job gives up on it).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::CircuitOpen { .. } | Self::Unavailable { .. })
    }

    /// How long the vendor (or our breaker) asked us to wait, when known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CircuitOpen { retry_after, .. } => Some(*retry_after),
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<VendorError> for ApiError {
    fn from(e: VendorError) -> Self {
        let retry_after = e.retry_after().map(secs);
        let mut api = match &e {
            VendorError::Unconfigured { .. } => ApiError::precondition(e.to_string()),
            VendorError::CircuitOpen { .. } | VendorError::Unavailable { .. } => {
                ApiError::unavailable(e.to_string())
            }
            // Our credentials or account: nothing the caller can fix in the request.
            VendorError::Rejected {
                vendor,
                status: 401 | 403,
                ..
            } => ApiError::precondition(format!(
                "{vendor} refused our credentials; check its settings"
            )),
            VendorError::Rejected { .. } => ApiError::invalid(e.to_string()),
            VendorError::BadResponse { vendor, .. } => {
                tracing::warn!(error = %e, "vendor answered an unreadable response");
                ApiError::unavailable(format!("{vendor} answered something we could not read"))
            }
        };
        api.retry_after = retry_after;
        api
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn an_unconfigured_vendor_names_the_setting_to_set() {
        let e = VendorError::Unconfigured {
            vendor: "Twilio",
            setting: "TWILIO_SID",
        };
        assert_eq!(e.to_string(), "Twilio is not configured: set TWILIO_SID");
        assert!(!e.is_retryable());
        let api = ApiError::from(e);
        assert_eq!(api.code, ErrorCode::FailedPrecondition);
        assert!(api.message.contains("TWILIO_SID"));
    }

    #[test]
    fn an_open_circuit_answers_503_with_retry_after() {
        let e = VendorError::CircuitOpen {
            vendor: "Slack",
            retry_after: Duration::from_millis(2500),
        };
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(2500)));
        let api = ApiError::from(e);
        assert_eq!(api.code, ErrorCode::Unavailable);
        assert_eq!(api.retry_after, Some(3));
        assert!(api.message.contains("retry in 3s"), "{}", api.message);
    }

    #[test]
    fn a_rejected_request_is_the_callers_and_rejected_credentials_are_the_operators() {
        let bad_number = VendorError::Rejected {
            vendor: "Twilio",
            status: 400,
            message: "The 'To' number +1 is not a valid phone number.".into(),
        };
        assert!(!bad_number.is_retryable());
        let api = ApiError::from(bad_number);
        assert_eq!(api.code, ErrorCode::InvalidArgument);
        assert!(api.message.contains("not a valid phone number"));
        let creds = ApiError::from(VendorError::Rejected {
            vendor: "Twilio",
            status: 401,
            message: "Authenticate".into(),
        });
        assert_eq!(creds.code, ErrorCode::FailedPrecondition);
    }
}
