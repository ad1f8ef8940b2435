//! `DATA_MODE`: MOCK (default; vendors answer from mocks, messages land in the outbox) or LIVE
//! (vendors' real APIs). One switch per product, kept in the product's database: an admin's
//! switch survives a restart and reaches every instance (announced on the bus; instances also
//! re-read it every few seconds, so one that missed the notice catches up). Until an admin
//! switches, the configured `DATA_MODE` is the mode.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, sea_query::OnConflict};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{bus::Bus, lifecycle::Background};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    Mock,
    Live,
}

impl Mode {
    /// `mock`, `MOCK`, ` Live `: any case, surrounding space ignored.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MOCK" => Some(Self::Mock),
            "LIVE" => Some(Self::Live),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mock => "MOCK",
            Self::Live => "LIVE",
        }
    }
}

/// The bus topic of a switch.
const TOPIC: &str = "data_mode";
/// The settings row the mode is kept in.
const KEY: &str = "data_mode";
/// How often an instance re-reads the stored mode, in case it missed a notice.
const RECHECK: Duration = Duration::from_secs(5);

/// Shared, cheaply cloned handle on the product's current mode.
#[derive(Clone)]
pub struct DataMode(Arc<Inner>);

struct Inner {
    live: AtomicBool,
    /// Where the mode is kept and announced; `None` for a mode that lives in memory only.
    store: Option<(DatabaseConnection, Bus)>,
}

impl std::fmt::Debug for DataMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DataMode").field(&self.get()).finish()
    }
}

impl DataMode {
    /// A mode kept in memory only (unit tests, tools).
    pub fn new(mode: Mode) -> Self {
        Self(Arc::new(Inner {
            live: AtomicBool::new(mode == Mode::Live),
            store: None,
        }))
    }

    /// The product's mode: the stored one, or `configured` until an admin has switched. It
    /// follows switches made on other instances until `background` stops.
    pub async fn load(
        db: DatabaseConnection,
        bus: Bus,
        configured: Mode,
        background: &Background,
    ) -> Result<Self, DbErr> {
        let stored = stored(&db).await?;
        let mode = Self(Arc::new(Inner {
            live: AtomicBool::new(stored.unwrap_or(configured) == Mode::Live),
            store: Some((db, bus)),
        }));
        let follower = mode.clone();
        let stopping = background.stopping();
        background.spawn(async move {
            tokio::select! {
                () = follower.follow() => {}
                () = stopping => {}
            }
        });
        Ok(mode)
    }

    pub fn get(&self) -> Mode {
        if self.0.live.load(Ordering::Relaxed) {
            Mode::Live
        } else {
            Mode::Mock
        }
    }

    pub fn is_live(&self) -> bool {
        self.get() == Mode::Live
    }

    /// Switches the product to `mode`: stored (with who switched), then announced to every
    /// instance. This instance answers in the new mode when this returns.
    pub async fn switch(&self, mode: Mode, by: Option<Uuid>) -> Result<(), DbErr> {
        if let Some((db, bus)) = &self.0.store {
            store(db, mode, by).await?;
            self.apply(mode);
            bus.announce(TOPIC, mode.as_str()).await;
        } else {
            self.apply(mode);
        }
        Ok(())
    }

    fn apply(&self, mode: Mode) {
        let was = self.0.live.swap(mode == Mode::Live, Ordering::Relaxed);
        if was != (mode == Mode::Live) {
            tracing::info!(data_mode = mode.as_str(), "data mode now in effect");
        }
    }

    /// Applies announced switches at once, and re-reads the stored mode every few seconds.
    async fn follow(&self) {
        let Some((db, bus)) = &self.0.store else {
            return;
        };
        let mut notices = bus.subscribe();
        let mut tick = tokio::time::interval(RECHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    Ok(n) if n.topic == TOPIC => {
                        if let Some(m) = Mode::parse(&n.payload) {
                            self.apply(m);
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.reread(db).await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => self.reread(db).await,
            }
        }
    }

    async fn reread(&self, db: &DatabaseConnection) {
        match stored(db).await {
            Ok(Some(m)) => self.apply(m),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "data mode: could not re-read the stored mode"),
        }
    }
}

async fn stored(db: &DatabaseConnection) -> Result<Option<Mode>, DbErr> {
    let row = setting::Entity::find_by_id(KEY.to_owned()).one(db).await?;
    Ok(row.and_then(|r| Mode::parse(&r.value)))
}

async fn store(db: &DatabaseConnection, mode: Mode, by: Option<Uuid>) -> Result<(), DbErr> {
    let row = setting::ActiveModel {
        key: Set(KEY.to_owned()),
        value: Set(mode.as_str().to_owned()),
        updated_by: Set(by),
        updated_at: Set(Utc::now()),
    };
    setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .update_columns([
                    setting::Column::Value,
                    setting::Column::UpdatedBy,
                    setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// The product's run-time settings an operator changes (`platform_settings`).
pub mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
        pub updated_by: Option<Uuid>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
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
