//! Live sessions kept in memory, so that admitting a request costs no database round trip in
//! the common case: [`Identity::authenticate`] answers from here for up to [`SESSION_CACHE_TTL`]
//! after it read a session and its user from the database.
//!
//! An entry goes at once, on this instance, when its session or user changes through the
//! identity service (logout, a revoke, refresh-token reuse, password change or reset, role or
//! profile change, two-factor changes, deletion); other instances forget it when the notice
//! reaches them on the product's bus (Redis pub/sub with `REDIS_URL`). A notice that never
//! arrives (Redis away) leaves a revoked session usable for at most the TTL. Impersonation
//! tokens are never cached: each request re-checks its admin.
//!
//! Hand-written rather than a cache crate because of the generation check: a lookup that read
//! the database while a revocation was being written must not put the old row back.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Session, User};

/// How long a cached session is believed without the database: the longest a revocation
/// whose notice was lost (another instance, Redis away) goes unnoticed.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// Sessions kept at most; past it the expired ones go, then everything.
pub const SESSION_CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<Uuid, Entry>>,
    /// Bumped by every invalidation; an insert made from a read older than the last bump is
    /// dropped.
    generation: AtomicU64,
}

struct Entry {
    user: User,
    session: Session,
    at: Instant,
}

impl SessionCache {
    /// The session and its user, when cached less than [`SESSION_CACHE_TTL`] ago.
    pub(crate) fn get(&self, session_id: Uuid) -> Option<(User, Session)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&session_id)
            .filter(|e| e.at.elapsed() < SESSION_CACHE_TTL)
            .map(|e| (e.user.clone(), e.session.clone()))
    }

    /// To pass to [`SessionCache::insert`]: taken before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a live session read from the database, unless something was invalidated since
    /// `generation` was taken.
    pub(crate) fn insert(&self, generation: u64, user: User, session: Session) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock: invalidations bump the generation under it too.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= SESSION_CACHE_MAX && !entries.contains_key(&session.id) {
            entries.retain(|_, e| e.at.elapsed() < SESSION_CACHE_TTL);
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(
            session.id,
            Entry {
                user,
                session,
                at: Instant::now(),
            },
        );
    }

    /// Records that the session's last use was written.
    pub(crate) fn touched(&self, session_id: Uuid, at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(&session_id) {
            e.session.last_used_at = at;
        }
    }

    pub(crate) fn forget_session(&self, session_id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&session_id);
    }

    pub(crate) fn forget_user(&self, user_id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Impersonation sessions are never cached, so the user is the session's owner.
        entries.retain(|_, e| e.user.id != user_id);
    }

    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: Uuid) -> User {
        User {
            id,
            email: "a@example.com".into(),
            password_hash: None,
            name: "A".into(),
            role: "member".into(),
            email_verified: true,
            totp_enabled: false,
            totp_secret: None,
            totp_pending_secret: None,
            totp_last_step: None,
            profile: serde_json::json!({}),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            last_login_at: None,
        }
    }

    fn session(id: Uuid, user_id: Uuid) -> Session {
        Session {
            id,
            user_id,
            user_agent: None,
            ip: None,
            impersonator_id: None,
            created_at: Utc::now(),
            last_used_at: Utc::now(),
            expires_at: Utc::now() + chrono::Duration::days(1),
            revoked_at: None,
            revoke_reason: None,
        }
    }

    #[test]
    fn invalidations_remove_entries_and_spoil_reads_in_flight() {
        let cache = SessionCache::default();
        let (u, s1, s2) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let g = cache.generation();
        cache.insert(g, user(u), session(s1, u));
        cache.insert(g, user(u), session(s2, u));
        assert!(cache.get(s1).is_some());
        cache.forget_session(s1);
        assert!(cache.get(s1).is_none());
        assert!(cache.get(s2).is_some());
        // A read that began before the revocation does not put the session back.
        cache.insert(g, user(u), session(s1, u));
        assert!(cache.get(s1).is_none());
        cache.forget_user(u);
        assert!(cache.get(s2).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SessionCache::default();
        let u = Uuid::now_v7();
        for _ in 0..SESSION_CACHE_MAX + 10 {
            let g = cache.generation();
            cache.insert(g, user(u), session(Uuid::now_v7(), u));
        }
        let n = cache.entries.lock().unwrap().len();
        assert!(n <= SESSION_CACHE_MAX, "{n}");
    }
}
