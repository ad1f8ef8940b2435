//! War Room's live streams on the platform hub: publishing events (the vocabulary is
//! `domain::stream`) on a campaign's topic and the feed, and who may follow what.

use async_trait::async_trait;
use platform::{
    identity::auth::AuthUser,
    realtime::{Authorize, Gateway, Hub, HubConfig, RealtimeError, StreamConfig},
    settings::ProductSettings,
};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::{
    domain::stream::{EventType, FEED_TOPIC, StreamingData, campaign_topic, topic_campaign},
    service::access::{MONITORING_READ, ROLES},
};

/// Publishes War Room events on the hub: each goes to its campaign's topic and to the feed.
#[derive(Clone, Debug)]
pub struct Streams {
    gateway: Gateway<AuthUser>,
}

impl Streams {
    /// The hub on Redis when `REDIS_URL` is set (every instance's clients see every event),
    /// else in memory; the heartbeat from settings.
    pub async fn build(
        settings: &ProductSettings,
        db: DatabaseConnection,
    ) -> Result<Self, RealtimeError> {
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
        let gateway = Gateway::new(hub, CampaignReaders { db }, config);
        Ok(Self { gateway })
    }

    pub fn gateway(&self) -> &Gateway<AuthUser> {
        &self.gateway
    }

    /// Publishes `data` as an event of `kind` for `campaign_id`, on the campaign's topic and
    /// on the feed. A hub failure (Redis down) is logged, not returned: the change that caused
    /// the event is already stored, and clients that miss it are told to resync.
    pub async fn publish<T: Serialize>(
        &self,
        event: EventType,
        message: &StreamingData<T>,
    ) -> Option<u64> {
        let hub = self.gateway.hub();
        let topic = campaign_topic(message.campaign_id);
        let published = hub.publish(&topic, event.as_str(), message).await;
        if let Err(e) = hub.publish(FEED_TOPIC, event.as_str(), message).await {
            tracing::warn!(error = %e, "realtime: feed publish failed");
        }
        match published {
            Ok(e) => Some(e.seq),
            Err(e) => {
                tracing::warn!(error = %e, %topic, "realtime: publish failed");
                None
            }
        }
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
