//! The hub's Prometheus series. Labels stay low-cardinality: never a topic or a principal.

/// `realtime_events_published_total`
pub(crate) fn published() {
    metrics::counter!("realtime_events_published_total").increment(1);
}

/// `realtime_events_duplicate_total`: an event the hub already had (two instances published
/// it from the event log); nothing was sent.
pub(crate) fn duplicate() {
    metrics::counter!("realtime_events_duplicate_total").increment(1);
}

/// `realtime_events_delivered_total{transport}`: events written to a client.
pub(crate) fn delivered(transport: &'static str) {
    metrics::counter!("realtime_events_delivered_total", "transport" => transport).increment(1);
}

/// `realtime_catch_ups_total{reason}`: a subscriber re-read the store (`lagged`, `gap`,
/// `recheck`).
pub(crate) fn catch_up(reason: &'static str) {
    metrics::counter!("realtime_catch_ups_total", "reason" => reason).increment(1);
}

/// `realtime_resyncs_total{reason}`: a subscriber was told to resync, i.e. events were
/// dropped for it.
pub(crate) fn resync(reason: &'static str) {
    metrics::counter!("realtime_resyncs_total", "reason" => reason).increment(1);
}

/// `realtime_subscriptions_denied_total`: the product's hook refused a topic.
pub(crate) fn denied() {
    metrics::counter!("realtime_subscriptions_denied_total").increment(1);
}

/// `realtime_disconnects_total{transport, reason}`: connections the server closed (`idle`,
/// `slow`, `session_revoked`, `token_expired`) or lost (`client`).
pub(crate) fn disconnected(transport: &'static str, reason: &'static str) {
    metrics::counter!("realtime_disconnects_total", "transport" => transport, "reason" => reason)
        .increment(1);
}

/// `realtime_connections{transport}`: open connections, for as long as the guard lives.
pub(crate) struct ConnectionGauge(&'static str);

impl ConnectionGauge {
    pub(crate) fn open(transport: &'static str) -> Self {
        metrics::gauge!("realtime_connections", "transport" => transport).increment(1.0);
        metrics::counter!("realtime_connections_total", "transport" => transport).increment(1);
        Self(transport)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("realtime_connections", "transport" => self.0).decrement(1.0);
    }
}
