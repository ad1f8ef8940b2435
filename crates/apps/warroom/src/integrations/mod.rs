//! War Room's vendor adapters: one trait per vendor, a Live implementation on the vendor's
//! documented HTTP API and a Mock one (deterministic data, messages to the outbox). The data
//! mode switch picks between them on every call.

pub mod mentionlytics;
pub mod slack;
pub mod twilio;
