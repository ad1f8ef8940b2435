//! Vendor adapters' shared machinery: one `VendorClient` per vendor (timeouts, retries with
//! jittered backoff honouring `Retry-After`, a circuit breaker), the `VendorError` every
//! adapter returns, vendor settings, and the status (`mock | live | unconfigured |
//! circuit_open`) that `/api/v1/status` reports.
//!
//! Each product's adapter is a trait with a Live implementation (on `VendorClient`) and a
//! Mock one (deterministic data, messages to the outbox), behind a wrapper that picks one
//! from the `DataMode` on every call, so an admin's switch flips them all.
//!
//! Why our own retry and breaker rather than reqwest-middleware + reqwest-retry and
//! recloser: we need `Retry-After` honoured (and, when it is too long, handed to the job
//! that can reschedule), retries that know a non-idempotent call (a Twilio message) must
//! not be repeated after a timeout, and a breaker whose state the status endpoints can
//! read. Together that is ~300 lines on reqwest 0.13, which is a dependency already.

mod breaker;
mod client;
mod error;
mod retry;
mod settings;
mod status;

pub use breaker::{BreakerPolicy, BreakerState, CallCounts, CircuitBreaker, Permit};
pub use client::{Idempotency, VendorClient, VendorPolicy};
pub use error::VendorError;
pub use retry::{RetryPolicy, parse_retry_after};
pub use settings::{VENDOR_SETTINGS, VendorSettings};
pub use status::{VendorEntry, VendorRegistry, VendorStatus, VendorStatusState};
