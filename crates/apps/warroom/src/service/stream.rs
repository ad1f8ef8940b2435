//! War Room's live streams on the platform hub: its events (the vocabulary is
//! `domain::stream`), each on a campaign's topic and on the feed, written to the event log in
//! the transaction that stores what they announce and published from there
//! (`platform::realtime::EventLog`); and who may follow what.

use async_trait::async_trait;
use platform::{
    core::Core,
    identity::auth::AuthUser,
    realtime::{Authorize, Batch, EventLog, Gateway, Hub, HubConfig, LogError, StreamConfig},
    settings::ProductSettings,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;

use crate::{
    domain::stream::{EventType, FEED_TOPIC, StreamingData, campaign_topic, topic_campaign},
    service::access::{MONITORING_READ, ROLES},
};

/// War Room's events: each goes to its campaign's topic and to the feed, through the log.
#[derive(Clone, Debug)]
pub struct Streams {
    gateway: Gateway<AuthUser>,
    log: EventLog,
}

impl Streams {
    /// The hub on Redis when `REDIS_URL` is set (every instance's clients see every event),
    /// else in memory; the heartbeat from settings.
    /// The event log on the core's database; its relay starts with the product's background
    /// work (`WarRoom::start`), so the CLI's short-lived contexts never publish.
    pub async fn build(settings: &ProductSettings, core: &Core) -> Result<Self, LogError> {
        let hub = match &settings.redis_url {
            Some(url) => {
                let prefix = settings.redis_prefix_for(crate::PRODUCT);
                Hub::redis(url.expose(), &prefix, HubConfig::default()).await?
            }
            None => Hub::memory(HubConfig::default()),
        };
        let config = StreamConfig {
            heartbeat: settings.stream_heartbeat,
            idle_timeout: settings.stream_heartbeat * 2 + std::time::Duration::from_secs(5),
            ..StreamConfig::default()
        };
        let log = EventLog::new(core.db.clone(), core.writer.clone(), hub.clone());
        let db = core.db.clone();
        let gateway = Gateway::new(hub, CampaignReaders { db }, config);
        Ok(Self { gateway, log })
    }

    pub fn gateway(&self) -> &Gateway<AuthUser> {
        &self.gateway
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// Events to write in a transaction of the caller's: [`Outgoing::add`] them,
    /// [`Outgoing::write`] them in the transaction, commit, then [`Outgoing::publish`].
    pub fn outgoing(&self) -> Outgoing {
        Outgoing(self.log.batch())
    }

    /// Publishes `message` as an event of `event` for its campaign on its own: written to the
    /// log in a transaction of its own, then published. Answers the campaign topic's id; a
    /// failure is logged, not returned (what the event announces is already stored).
    pub async fn publish<T: Serialize>(
        &self,
        event: EventType,
        message: &StreamingData<T>,
    ) -> Option<u64> {
        let mut out = self.outgoing();
        out.add(event, message);
        let written = async {
            let txn = crate::db::begin_write(self.log.writer()).await?;
            let ids = out.write(&txn).await?;
            txn.commit().await?;
            Ok::<_, DbErr>(ids)
        }
        .await;
        match written {
            Ok(ids) => {
                out.publish().await;
                ids
            }
            Err(e) => {
                tracing::warn!(error = %e, "realtime: event not logged");
                None
            }
        }
    }
}

/// War Room events bound for the log, written in the caller's transaction.
#[must_use = "events do nothing until written and published"]
pub struct Outgoing(Batch);

impl Outgoing {
    /// Adds `message` as an event of `event` on its campaign's topic and on the feed.
    pub fn add<T: Serialize>(&mut self, event: EventType, message: &StreamingData<T>) {
        let topic = campaign_topic(message.campaign_id);
        for topic in [topic.as_str(), FEED_TOPIC] {
            if let Err(e) = self.0.push(topic, event.as_str(), message) {
                // Types and topics are ours and data serialises: a bug, not an input.
                tracing::error!(error = %e, topic, "realtime: event not logged");
            }
        }
    }

    /// Writes the events in `txn`; answers the campaign topic's id of the first event.
    pub async fn write<C: ConnectionTrait>(&mut self, txn: &C) -> Result<Option<u64>, DbErr> {
        if self.0.is_empty() {
            return Ok(None);
        }
        Ok(self.0.write(txn).await?.first().copied())
    }

    /// After the commit: publishes now what was written (the relay would, within a second).
    pub async fn publish(self) {
        self.0.publish().await;
    }
}

/// Who may follow what: anyone whose role reads monitoring data follows the feed and the
/// topic of any campaign that exists (a War Room deployment is one campaign team: every
/// reader sees every campaign). Other topics are refused.
struct CampaignReaders {
    db: DatabaseConnection,
}

#[async_trait]
impl Authorize<AuthUser> for CampaignReaders {
    async fn may_subscribe(&self, user: &AuthUser, topic: &str) -> bool {
        if !ROLES.allows(&user.user.role, MONITORING_READ) {
            return false;
        }
        if topic == FEED_TOPIC {
            return true;
        }
        match topic_campaign(topic) {
            Some(id) => match crate::db::campaigns::exists(&self.db, id).await {
                Ok(exists) => exists,
                Err(e) => {
                    tracing::error!(error = %e, "realtime: campaign lookup failed");
                    false
                }
            },
            None => false,
        }
    }
}
