//! What the status endpoints say about each vendor: `mock`, `live`, `unconfigured` or
//! `circuit_open`, computed from the data mode at the moment of asking.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::breaker::{BreakerState, CircuitBreaker};
use crate::datamode::{DataMode, Mode, VendorState};

// A superset of `datamode::VendorState` (which the breaker-less services, mail and OAuth,
// report): adding `CircuitOpen` there would make every match on it handle a state those
// services cannot be in.
/// One outside service's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatusState {
    Mock,
    Live,
    Unconfigured,
    CircuitOpen,
}

impl From<VendorState> for VendorStatusState {
    fn from(s: VendorState) -> Self {
        match s {
            VendorState::Mock => Self::Mock,
            VendorState::Live => Self::Live,
            VendorState::Unconfigured => Self::Unconfigured,
        }
    }
}

impl VendorStatusState {
    /// MOCK → mock; LIVE + a missing setting → unconfigured; LIVE + open breaker →
    /// circuit_open; else live.
    pub fn of(mode: Mode, configured: bool, breaker: Option<&CircuitBreaker>) -> Self {
        match mode {
            Mode::Mock => Self::Mock,
            Mode::Live if !configured => Self::Unconfigured,
            Mode::Live if breaker.is_some_and(CircuitBreaker::is_open) => Self::CircuitOpen,
            Mode::Live => Self::Live,
        }
    }

    /// `mock` and `live` are healthy; `unconfigured` and `circuit_open` degrade the product.
    pub fn is_healthy(self) -> bool {
        matches!(self, Self::Mock | Self::Live)
    }
}

/// One vendor on a status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VendorStatus {
    /// `twilio_sms`, `slack`, `mentionlytics`, ...
    pub name: String,
    pub state: VendorStatusState,
    /// When `unconfigured`: the first setting to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_setting: Option<String>,
    /// When `circuit_open`: seconds until a call is tried again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// A vendor as an adapter describes itself for status: its name, the first missing setting
/// (`None` when configured) and its breaker (`None` for vendors without one).
#[derive(Clone, Debug)]
pub struct VendorEntry {
    pub name: &'static str,
    pub missing: Option<&'static str>,
    pub breaker: Option<CircuitBreaker>,
}

impl VendorEntry {
    pub fn new(
        name: &'static str,
        missing: Option<&'static str>,
        breaker: Option<CircuitBreaker>,
    ) -> Self {
        Self {
            name,
            missing,
            breaker,
        }
    }

    pub fn status(&self, mode: Mode) -> VendorStatus {
        let state = VendorStatusState::of(mode, self.missing.is_none(), self.breaker.as_ref());
        let retry_after_secs = match (state, self.breaker.as_ref().map(CircuitBreaker::state)) {
            (VendorStatusState::CircuitOpen, Some(BreakerState::Open { retry_after })) => {
                Some(ceil_secs(retry_after))
            }
            _ => None,
        };
        VendorStatus {
            name: self.name.to_owned(),
            state,
            missing_setting: match state {
                VendorStatusState::Unconfigured => self.missing.map(str::to_owned),
                _ => None,
            },
            retry_after_secs,
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The vendors one product uses, in the order its status page lists them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct VendorRegistry {
    mode: DataMode,
    entries: Vec<VendorEntry>,
}

impl VendorRegistry {
    pub fn new(mode: DataMode) -> Self {
        Self {
            mode,
            entries: Vec::new(),
        }
    }

    pub fn with(mut self, entries: impl IntoIterator<Item = VendorEntry>) -> Self {
        self.entries.extend(entries);
        self
    }

    pub fn add(&mut self, entry: VendorEntry) {
        self.entries.push(entry);
    }

    /// Every vendor's status under the current data mode.
    pub fn statuses(&self) -> Vec<VendorStatus> {
        let mode = self.mode.get();
        self.entries.iter().map(|e| e.status(mode)).collect()
    }

    /// The vendors as their adapters described them (for the product's metrics).
    pub fn entries(&self) -> &[VendorEntry] {
        &self.entries
    }

    pub fn status(&self, name: &str) -> Option<VendorStatus> {
        let mode = self.mode.get();
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.status(mode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::breaker::BreakerPolicy;

    #[tokio::test]
    async fn the_state_follows_the_mode_the_configuration_and_the_breaker() {
        let mode = DataMode::new(Mode::Mock);
        let breaker = CircuitBreaker::new(BreakerPolicy {
            failure_threshold: 1,
            cool_down: Duration::from_secs(60),
        });
        let registry = VendorRegistry::new(mode.clone()).with([
            VendorEntry::new("slack", Some("SLACK_WEBHOOK_URL"), None),
            VendorEntry::new("twilio_sms", None, Some(breaker.clone())),
        ]);
        let states = |r: &VendorRegistry| {
            r.statuses()
                .into_iter()
                .map(|s| s.state)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            states(&registry),
            [VendorStatusState::Mock, VendorStatusState::Mock]
        );
        mode.switch(Mode::Live, None).await.unwrap();
        assert_eq!(
            states(&registry),
            [VendorStatusState::Unconfigured, VendorStatusState::Live]
        );
        assert_eq!(
            registry.status("slack").unwrap().missing_setting.as_deref(),
            Some("SLACK_WEBHOOK_URL")
        );
        breaker.acquire().unwrap().failure(None);
        let sms = registry.status("twilio_sms").unwrap();
        assert_eq!(sms.state, VendorStatusState::CircuitOpen);
        assert_eq!(sms.retry_after_secs, Some(60));
        assert_eq!(
            serde_json::to_value(&sms).unwrap(),
            serde_json::json!({ "name": "twilio_sms", "state": "circuit_open", "retryAfterSecs": 60 })
        );
        mode.switch(Mode::Mock, None).await.unwrap();
        assert_eq!(
            registry.status("twilio_sms").unwrap().state,
            VendorStatusState::Mock
        );
    }
}
