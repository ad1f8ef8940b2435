//! Mentionlytics MOCK: a deterministic mention stream (to be written).
