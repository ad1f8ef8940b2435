//! Mentionlytics LIVE: the vendor HTTP API (to be written).
