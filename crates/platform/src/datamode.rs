//! `DATA_MODE`: MOCK (default; vendors answer from mocks, messages land in the outbox) or LIVE
//! (vendors' real APIs). One switch per product, flipped at run time by an admin.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    Mock,
    Live,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MOCK" => Some(Self::Mock),
            "LIVE" => Some(Self::Live),
            _ => None,
        }
    }
}

/// Shared, cheaply cloned handle on the current mode.
#[derive(Clone, Debug)]
pub struct DataMode(Arc<AtomicBool>);

impl DataMode {
    pub fn new(mode: Mode) -> Self {
        Self(Arc::new(AtomicBool::new(mode == Mode::Live)))
    }

    pub fn get(&self) -> Mode {
        if self.0.load(Ordering::Relaxed) {
            Mode::Live
        } else {
            Mode::Mock
        }
    }

    pub fn is_live(&self) -> bool {
        self.get() == Mode::Live
    }

    pub fn set(&self, mode: Mode) {
        self.0.store(mode == Mode::Live, Ordering::Relaxed);
    }
}

/// What a status endpoint says about one vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorState {
    Mock,
    Live,
    Unconfigured,
}

impl VendorState {
    pub fn of(mode: &DataMode, configured: bool) -> Self {
        match (mode.get(), configured) {
            (Mode::Mock, _) => Self::Mock,
            (Mode::Live, true) => Self::Live,
            (Mode::Live, false) => Self::Unconfigured,
        }
    }
}
