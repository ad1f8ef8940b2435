//! Live connections follow their session. Every connection a product opens for a signed-in
//! user (WebSocket, SSE, and later transports such as Socket.IO) takes a [`Lease`] from the
//! product's [`Connections`], naming the session and user it was opened for and when the access
//! token it presented expires. The lease ends, and the transport closes the connection with
//! the [`CloseReason`]:
//!
//! * `session_revoked` when the session ends: identity announces every revocation on the
//!   product's [`Bus`] after it committed ([`SESSION_REVOKED`] with the session id,
//!   [`USER_SESSIONS_REVOKED`] with the user id), so with Redis a revocation made on one
//!   instance closes the connections of every instance. A user notice does not say which
//!   sessions ended (a password change keeps the current one), so the registry re-reads the
//!   user's sessions it holds connections for. It also re-reads every held session every
//!   [`RECHECK_EVERY`], which bounds what a notice lost while Redis was away can cost;
//! * `token_expired` when the access token expires: a stream is no more than a long request,
//!   and a stolen access token must not buy more than its lifetime. The client refreshes its
//!   tokens and reconnects from its last position, losing nothing.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{broadcast, oneshot},
    time::{Instant, MissedTickBehavior},
};
use uuid::Uuid;

use crate::{
    bus::{Bus, Notice},
    identity::{Identity, SESSION_REVOKED, USER_SESSIONS_REVOKED, auth::StreamUser},
    lifecycle::Background,
};

/// How often the registry re-reads every session it holds connections for.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// Why the server ended a connection; clients act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The session ended (logout, a revoke, a password change or reset, a role change, the
    /// account deleted). Reconnecting with the same token fails; refreshing fails too: sign in.
    SessionRevoked,
    /// The access token expired. Refresh the tokens, then reconnect from the last position.
    TokenExpired,
}

impl CloseReason {
    /// The name on the wire: the WebSocket close reason and the `reason` of `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionRevoked => "session_revoked",
            Self::TokenExpired => "token_expired",
        }
    }

    /// The WebSocket close code: 4001, HTTP 401's counterpart (authenticate again), for both
    /// reasons; the reason says whether a refresh will do.
    pub fn close_code(self) -> u16 {
        4001
    }
}

/// Whose a connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// When the access token the connection was opened with expires; `None`: never.
    pub token_expires_at: Option<DateTime<Utc>>,
}

impl From<&StreamUser> for Owner {
    fn from(caller: &StreamUser) -> Self {
        Self {
            session_id: caller.user.session_id,
            user_id: caller.user.id(),
            token_expires_at: caller.token_expires_at,
        }
    }
}

/// Where the registry learns which sessions still live.
#[async_trait]
pub trait SessionCheck: Send + Sync + 'static {
    /// Which of `sessions` are live (not revoked, not expired, their user not deleted).
    async fn live_sessions(&self, sessions: &[Uuid]) -> anyhow::Result<HashSet<Uuid>>;
}

#[async_trait]
impl SessionCheck for Identity {
    async fn live_sessions(&self, sessions: &[Uuid]) -> anyhow::Result<HashSet<Uuid>> {
        Ok(self.live_session_ids(sessions).await?)
    }
}

/// The registry of a product instance's live connections, by session and user. Cheap to
/// clone; every clone is the same registry.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Registry>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("open", &self.open())
            .finish()
    }
}

struct Registry {
    check: Arc<dyn SessionCheck>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    sessions: HashMap<Uuid, SessionConnections>,
    /// The sessions of each user that have connections.
    users: HashMap<Uuid, HashSet<Uuid>>,
}

struct SessionConnections {
    user: Uuid,
    /// Each connection's way to be told it must end.
    ends: HashMap<u64, oneshot::Sender<CloseReason>>,
}

impl State {
    /// Takes a session's connections out of the registry.
    fn remove_session(&mut self, session: Uuid) -> Option<SessionConnections> {
        let conns = self.sessions.remove(&session)?;
        if let Some(sessions) = self.users.get_mut(&conns.user) {
            sessions.remove(&session);
            if sessions.is_empty() {
                self.users.remove(&conns.user);
            }
        }
        Some(conns)
    }
}

impl Connections {
    /// A registry that follows `bus` (revocation notices) and re-reads its sessions from
    /// `check` every [`RECHECK_EVERY`], until `background` stops.
    pub fn new(check: impl SessionCheck, bus: &Bus, background: &Background) -> Self {
        Self::with_recheck(check, bus, background, RECHECK_EVERY)
    }

    /// [`Connections::new`] with another re-read interval.
    pub fn with_recheck(
        check: impl SessionCheck,
        bus: &Bus,
        background: &Background,
        every: Duration,
    ) -> Self {
        let registry = Self {
            inner: Arc::new(Registry {
                check: Arc::new(check),
                state: Mutex::new(State::default()),
            }),
        };
        // Subscribed before anything can announce: no notice given after this is missed.
        let notices = bus.subscribe();
        let follower = registry.clone();
        let stopping = background.stopping();
        background.spawn(async move {
            tokio::select! {
                () = follower.follow(notices, every) => {}
                () = stopping => {}
            }
        });
        registry
    }

    /// Registers a connection of `owner`. A revocation committed before this call was
    /// announced when the connection was not yet here, so the session is read once more
    /// after registering: a lease of a session that already ended ends at once.
    pub async fn register(&self, owner: impl Into<Owner>) -> Lease {
        let owner = owner.into();
        let (end, told) = oneshot::channel();
        let id = {
            let mut state = self.lock();
            state.next_id += 1;
            let id = state.next_id;
            state
                .sessions
                .entry(owner.session_id)
                .or_insert_with(|| SessionConnections {
                    user: owner.user_id,
                    ends: HashMap::new(),
                })
                .ends
                .insert(id, end);
            state
                .users
                .entry(owner.user_id)
                .or_default()
                .insert(owner.session_id);
            id
        };
        let expires = owner.token_expires_at.map(|at| {
            let left = (at - Utc::now()).to_std().unwrap_or_default();
            Instant::now() + left
        });
        let lease = Lease {
            registry: self.clone(),
            id,
            owner,
            told: Some(told),
            expires,
            reason: None,
        };
        self.recheck(vec![owner.session_id]).await;
        lease
    }

    /// Ends every connection of `session` with `reason`; returns how many there were.
    pub fn close_session(&self, session: Uuid, reason: CloseReason) -> usize {
        let Some(conns) = self.lock().remove_session(session) else {
            return 0;
        };
        let n = conns.ends.len();
        for end in conns.ends.into_values() {
            // A connection that is ending anyway may have dropped its lease's receiver.
            let _ = end.send(reason);
        }
        n
    }

    /// Re-reads the sessions of `user` that have connections here; ends those that ended.
    pub async fn recheck_user(&self, user: Uuid) {
        let sessions: Vec<Uuid> = self
            .lock()
            .users
            .get(&user)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.recheck(sessions).await;
    }

    /// Re-reads every session that has connections here; ends those that ended.
    pub async fn recheck_all(&self) {
        let sessions: Vec<Uuid> = self.lock().sessions.keys().copied().collect();
        self.recheck(sessions).await;
    }

    /// Open connections in this instance.
    pub fn open(&self) -> usize {
        self.lock().sessions.values().map(|s| s.ends.len()).sum()
    }

    async fn recheck(&self, sessions: Vec<Uuid>) {
        if sessions.is_empty() {
            return;
        }
        match self.inner.check.live_sessions(&sessions).await {
            Ok(live) => {
                for session in sessions.into_iter().filter(|s| !live.contains(s)) {
                    self.close_session(session, CloseReason::SessionRevoked);
                }
            }
            // The connections stay until the next re-read can tell.
            Err(e) => tracing::warn!(error = %e, "realtime: cannot re-read sessions"),
        }
    }

    /// Applies revocation notices as they come, and re-reads every `every`.
    async fn follow(self, mut notices: broadcast::Receiver<Arc<Notice>>, every: Duration) {
        let mut recheck = tokio::time::interval_at(Instant::now() + every, every);
        recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    Ok(notice) => self.apply(&notice).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.recheck_all().await,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = recheck.tick() => self.recheck_all().await,
            }
        }
    }

    async fn apply(&self, notice: &Notice) {
        let Ok(id) = notice.payload.parse::<Uuid>() else {
            if [SESSION_REVOKED, USER_SESSIONS_REVOKED].contains(&notice.topic.as_str()) {
                tracing::warn!(topic = %notice.topic, "realtime: notice without an id");
            }
            return;
        };
        match notice.topic.as_str() {
            // A revoked session never comes back: no need to ask.
            SESSION_REVOKED => {
                self.close_session(id, CloseReason::SessionRevoked);
            }
            USER_SESSIONS_REVOKED => self.recheck_user(id).await,
            _ => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self, owner: &Owner, id: u64) {
        let mut state = self.lock();
        let Some(conns) = state.sessions.get_mut(&owner.session_id) else {
            return;
        };
        conns.ends.remove(&id);
        if conns.ends.is_empty() {
            state.remove_session(owner.session_id);
        }
    }
}

/// One connection's place in the registry, held for as long as the connection lives (dropping
/// it deregisters). [`Lease::ended`] says when and why the connection must end.
pub struct Lease {
    registry: Connections,
    id: u64,
    owner: Owner,
    /// Answers once, when the registry ends the lease.
    told: Option<oneshot::Receiver<CloseReason>>,
    expires: Option<Instant>,
    reason: Option<CloseReason>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Lease {
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Resolves when the connection must end: its session ended, or its access token
    /// expired. Cancel-safe, for use in a `select!` loop; once ended, it answers the same.
    pub async fn ended(&mut self) -> CloseReason {
        if let Some(reason) = self.reason {
            return reason;
        }
        let expires = self.expires;
        let expiry = async move {
            match expires {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let revoked = async {
            if let Some(told) = &mut self.told {
                let reason = told.await;
                self.told = None;
                // Only the registry ends a lease, and this lease keeps the registry alive.
                if let Ok(reason) = reason {
                    return reason;
                }
            }
            std::future::pending().await
        };
        let reason = tokio::select! {
            biased;
            reason = revoked => reason,
            () = expiry => CloseReason::TokenExpired,
        };
        self.reason = Some(reason);
        reason
    }
}

/// When a transport's lease ends; never for a connection without one.
pub(super) async fn lease_ended(lease: &mut Option<Lease>) -> CloseReason {
    match lease {
        Some(lease) => lease.ended().await,
        None => std::future::pending().await,
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.registry.release(&self.owner, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions are live until the test ends them.
    #[derive(Clone, Default)]
    struct Ended(Arc<Mutex<HashSet<Uuid>>>);

    impl Ended {
        fn end(&self, session: Uuid) {
            self.0.lock().unwrap().insert(session);
        }
    }

    #[async_trait]
    impl SessionCheck for Ended {
        async fn live_sessions(&self, sessions: &[Uuid]) -> anyhow::Result<HashSet<Uuid>> {
            let ended = self.0.lock().unwrap();
            Ok(sessions
                .iter()
                .filter(|s| !ended.contains(s))
                .copied()
                .collect())
        }
    }

    fn owner(session: Uuid, user: Uuid) -> Owner {
        Owner {
            session_id: session,
            user_id: user,
            token_expires_at: None,
        }
    }

    async fn ends(lease: &mut Lease) -> Option<CloseReason> {
        tokio::time::timeout(Duration::from_secs(2), lease.ended())
            .await
            .ok()
    }

    async fn stays(lease: &mut Lease) {
        let ended = tokio::time::timeout(Duration::from_millis(100), lease.ended()).await;
        assert!(ended.is_err(), "the lease ended: {ended:?}");
    }

    #[tokio::test]
    async fn a_session_revoked_notice_ends_only_that_sessions_leases() {
        let (bus, bg) = (Bus::local(), Background::new());
        let conns = Connections::new(Ended::default(), &bus, &bg);
        let (user, s1, s2) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut a = conns.register(owner(s1, user)).await;
        let mut b = conns.register(owner(s1, user)).await;
        let mut other = conns.register(owner(s2, user)).await;
        bus.announce(SESSION_REVOKED, s1.to_string()).await;
        assert_eq!(ends(&mut a).await, Some(CloseReason::SessionRevoked));
        assert_eq!(ends(&mut b).await, Some(CloseReason::SessionRevoked));
        stays(&mut other).await;
        assert_eq!(conns.open(), 1);
        bg.shutdown().await;
    }

    #[tokio::test]
    async fn a_user_notice_ends_the_sessions_that_ended_and_keeps_the_others() {
        let (bus, bg, check) = (Bus::local(), Background::new(), Ended::default());
        let conns = Connections::new(check.clone(), &bus, &bg);
        let (user, kept, ended) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut on_kept = conns.register(owner(kept, user)).await;
        let mut on_ended = conns.register(owner(ended, user)).await;
        check.end(ended);
        bus.announce(USER_SESSIONS_REVOKED, user.to_string()).await;
        assert_eq!(ends(&mut on_ended).await, Some(CloseReason::SessionRevoked));
        stays(&mut on_kept).await;
        bg.shutdown().await;
    }

    #[tokio::test]
    async fn registering_a_session_that_already_ended_ends_at_once() {
        let (bus, bg, check) = (Bus::local(), Background::new(), Ended::default());
        let conns = Connections::new(check.clone(), &bus, &bg);
        let session = Uuid::now_v7();
        check.end(session);
        let mut lease = conns.register(owner(session, Uuid::now_v7())).await;
        assert_eq!(ends(&mut lease).await, Some(CloseReason::SessionRevoked));
        bg.shutdown().await;
    }

    #[tokio::test]
    async fn the_periodic_reread_ends_sessions_whose_notice_was_lost() {
        let (bus, bg, check) = (Bus::local(), Background::new(), Ended::default());
        let every = Duration::from_millis(50);
        let conns = Connections::with_recheck(check.clone(), &bus, &bg, every);
        let session = Uuid::now_v7();
        let mut lease = conns.register(owner(session, Uuid::now_v7())).await;
        stays(&mut lease).await;
        check.end(session);
        assert_eq!(ends(&mut lease).await, Some(CloseReason::SessionRevoked));
        bg.shutdown().await;
    }

    #[tokio::test]
    async fn a_lease_ends_when_its_token_expires_and_says_so_again() {
        let (bus, bg) = (Bus::local(), Background::new());
        let conns = Connections::new(Ended::default(), &bus, &bg);
        let started = std::time::Instant::now();
        let mut lease = conns
            .register(Owner {
                token_expires_at: Some(Utc::now() + chrono::Duration::milliseconds(300)),
                ..owner(Uuid::now_v7(), Uuid::now_v7())
            })
            .await;
        assert_eq!(ends(&mut lease).await, Some(CloseReason::TokenExpired));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(ends(&mut lease).await, Some(CloseReason::TokenExpired));
        bg.shutdown().await;
    }

    #[tokio::test]
    async fn a_dropped_lease_leaves_the_registry() {
        let (bus, bg) = (Bus::local(), Background::new());
        let conns = Connections::new(Ended::default(), &bus, &bg);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let lease = conns.register(owner(session, user)).await;
        let kept = conns.register(owner(Uuid::now_v7(), user)).await;
        assert_eq!(conns.open(), 2);
        drop(lease);
        assert_eq!(conns.open(), 1);
        assert_eq!(conns.close_session(session, CloseReason::SessionRevoked), 0);
        drop(kept);
        let state = conns.lock();
        assert!(state.sessions.is_empty() && state.users.is_empty());
    }
}
