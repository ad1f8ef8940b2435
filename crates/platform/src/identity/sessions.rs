//! Sessions: password sign-in (through the sign-in throttle), access tokens, refresh-token
//! rotation with reuse detection (or, by policy, reuse), revocation and impersonation.
//!
//! Rotation and the reuse grace: refreshing spends a token and stores its successor's hash. A
//! spent token presented again within `reuse_grace` (two tabs refreshing at once) answers the
//! *same* successor, so a session stays one chain of tokens. To answer it, the spent row keeps
//! the successor sealed (AES-256-GCM) under a key derived from the spent token itself and the
//! product's secret: only someone presenting the spent token can open it, so a database
//! reader learns nothing usable (the table holds hashes and ciphertext, never a token). The
//! seal is erased once the grace is over; from then on a spent token revokes its session.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Identity, IssuedTokens, RefreshRotation, SESSION_REVOKED, Session, USER_SESSIONS_REVOKED, User,
    chrono_dur,
    crypto::{self, Claims},
    entities::{refresh_token, session},
    now,
    throttle::{Device, DeviceGrant},
};
use crate::{
    error::{ApiError, ApiResult, ErrorDetails},
    extract::ClientInfo,
};

/// Impersonation tokens live at most this long and are never refreshed.
const IMPERSONATION_TTL_SECS: i64 = 15 * 60;

fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated("Invalid credentials")
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthenticated("invalid or expired refresh token")
}

fn two_factor_error(message: &str) -> ApiError {
    ApiError::unauthenticated(message).with_details(ErrorDetails::TwoFactorRequired {
        two_factor_required: true,
    })
}

/// A password sign-in attempt as a handler received it.
pub struct PasswordSignIn<'a> {
    pub email: &'a str,
    pub password: &'a str,
    /// A TOTP or recovery code, when the client sent one.
    pub second_factor: Option<&'a str>,
    pub client: &'a ClientInfo,
    /// The device cookie the request carried (see `throttle`).
    pub device: &'a Device,
}

/// A successful sign-in: the user, their new session's tokens, and a device cookie to set.
pub struct SignedIn {
    pub user: User,
    pub tokens: IssuedTokens,
    pub device: DeviceGrant,
}

impl Identity {
    /// Starts a session (a new token family) for `user`.
    pub async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
        impersonator: Option<Uuid>,
    ) -> ApiResult<IssuedTokens> {
        let now = now();
        let expires_at = match impersonator {
            Some(_) => {
                now + chrono::Duration::seconds(
                    IMPERSONATION_TTL_SECS.min(self.cfg.access_ttl.as_secs() as i64),
                )
            }
            None => now + chrono_dur(self.cfg.refresh_ttl),
        };
        let txn = self.writer.begin().await?;
        let s = session::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.id),
            user_agent: Set(client.user_agent.clone()),
            ip: Set(client.ip_string()),
            impersonator_id: Set(impersonator),
            created_at: Set(now),
            last_used_at: Set(now),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            revoke_reason: Set(None),
        }
        .insert(&txn)
        .await?;
        let refresh = match impersonator {
            Some(_) => None,
            None => Some(self.insert_refresh_token(&txn, s.id, expires_at).await?),
        };
        txn.commit().await?;
        let (access_token, expires_in) = self.sign_access(user.id, &s)?;
        Ok(IssuedTokens {
            access_token,
            refresh_token: refresh,
            expires_in,
            session_id: s.id,
        })
    }

    async fn insert_refresh_token(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        session_id: Uuid,
        expires_at: chrono::DateTime<Utc>,
    ) -> Result<String, sea_orm::DbErr> {
        let token = crypto::random_token();
        self.insert_refresh_token_value(conn, session_id, &token, expires_at)
            .await?;
        Ok(token)
    }

    /// Stores `token` (its hash) as a live refresh token of the session.
    async fn insert_refresh_token_value(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        session_id: Uuid,
        token: &str,
        expires_at: chrono::DateTime<Utc>,
    ) -> Result<(), sea_orm::DbErr> {
        refresh_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            session_id: Set(session_id),
            token_hash: Set(crypto::token_hash(token)),
            created_at: Set(now()),
            expires_at: Set(expires_at),
            rotated_at: Set(None),
            successor: Set(None),
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    /// An access token for the session, never outliving it.
    fn sign_access(&self, user_id: Uuid, s: &Session) -> ApiResult<(String, i64)> {
        let now = now();
        let exp = (now + chrono_dur(self.cfg.access_ttl)).min(s.expires_at);
        let claims = Claims {
            sub: user_id,
            sid: s.id,
            iss: self.cfg.product.to_owned(),
            aud: self.cfg.product.to_owned(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: exp.timestamp(),
            imp: s.impersonator_id,
        };
        Ok((self.keys.sign(&claims)?, exp.timestamp() - now.timestamp()))
    }

    /// Email + password (+ second factor when enabled), through the sign-in throttle: an
    /// attempt waits for (or is refused by, 429) the failure streaks that apply to it, a wrong
    /// password or code grows them, a sign-in ends its source's streak. Unknown email and wrong
    /// password get the same answer after the same work.
    pub async fn login(&self, a: PasswordSignIn<'_>) -> ApiResult<SignedIn> {
        let account = super::normalize_email(a.email);
        let permit = self.throttle.admit(&account, a.client, a.device).await?;
        let user = self.user_by_email(a.email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let verified = crypto::verify_password(a.password, hash).await;
        let user = match user {
            Some(u) if verified => u,
            other => {
                if let Some(u) = &other {
                    self.log_event(
                        Some(u.id),
                        None,
                        "login_failed",
                        a.client,
                        Some(json!({ "reason": "password" })),
                    )
                    .await;
                }
                permit.failed().await;
                return Err(invalid_credentials());
            }
        };
        if let Err(e) = self.check_may_sign_in(&user) {
            permit.release().await;
            return Err(e);
        }
        if user.totp_enabled {
            let Some(code) = a.second_factor.filter(|c| !c.trim().is_empty()) else {
                permit.release().await;
                return Err(two_factor_error("two-factor code required"));
            };
            if !self.check_second_factor(&user, code, a.client).await? {
                self.log_event(
                    Some(user.id),
                    None,
                    "login_failed",
                    a.client,
                    Some(json!({ "reason": "two_factor" })),
                )
                .await;
                permit.failed().await;
                return Err(two_factor_error("invalid two-factor code"));
            }
        }
        permit.succeeded().await;
        let tokens = self.start_session(&user, a.client, None).await?;
        let user = self.touch_login(user).await?;
        self.log_event(
            Some(user.id),
            None,
            "login",
            a.client,
            Some(json!({ "sessionId": tokens.session_id })),
        )
        .await;
        Ok(SignedIn {
            user,
            tokens,
            device: self.throttle.grant(&account),
        })
    }

    /// Refreshes a session. Rotation (the default): the token is spent and a successor of the
    /// same session answered; a spent token within `reuse_grace` answers that same successor,
    /// after it revokes the whole session (a replay). Reuse (`RefreshRotation::Reuse`): a live
    /// token stays valid and is answered as is.
    pub async fn refresh(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens)> {
        let now = now();
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(token)))
            .one(&self.db)
            .await?
            .ok_or_else(invalid_refresh)?;
        let s = session::Entity::find_by_id(row.session_id)
            .one(&self.db)
            .await?
            .ok_or_else(invalid_refresh)?;
        if s.revoked_at.is_some() || s.expires_at <= now || row.expires_at <= now {
            return Err(invalid_refresh());
        }
        if self.cfg.refresh_rotation == RefreshRotation::Reuse && row.rotated_at.is_none() {
            let s = self.record_use(s, client, None).await?;
            return self.issue(s, token.to_owned()).await;
        }
        let seal_key = self.seal_key(token);
        let successor = crypto::random_token();
        let sealed = crypto::seal(&seal_key, row.id.as_bytes(), successor.as_bytes())
            .map_err(ApiError::internal)?;
        let txn = self.writer.begin().await?;
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(Some(now)))
            .col_expr(refresh_token::Column::Successor, Expr::value(Some(sealed)))
            .filter(refresh_token::Column::Id.eq(row.id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            // Spent already (by another tab a moment ago, or by a thief long ago).
            let spent = refresh_token::Entity::find_by_id(row.id).one(&txn).await?;
            txn.rollback().await?;
            return self.replayed(token, spent, client).await;
        }
        let expires_at = now + chrono_dur(self.cfg.refresh_ttl);
        self.insert_refresh_token_value(&txn, s.id, &successor, expires_at)
            .await?;
        // Seals whose grace is over are erased: past it, a spent token answers nothing.
        refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::Successor,
                Expr::value(Option::<String>::None),
            )
            .filter(refresh_token::Column::SessionId.eq(s.id))
            .filter(refresh_token::Column::Successor.is_not_null())
            .filter(refresh_token::Column::RotatedAt.lt(now - chrono_dur(self.cfg.reuse_grace)))
            .exec(&txn)
            .await?;
        let s = self
            .record_use_in(&txn, s, client, Some(expires_at))
            .await?;
        txn.commit().await?;
        self.issue(s, successor).await
    }

    /// A spent token presented again: within the grace, the successor it was spent for (the
    /// same answer the first caller got); after it, the session is revoked.
    async fn replayed(
        &self,
        token: &str,
        spent: Option<refresh_token::Model>,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens)> {
        let spent = spent.ok_or_else(invalid_refresh)?;
        let rotated_at = spent.rotated_at.unwrap_or_else(now);
        let s = session::Entity::find_by_id(spent.session_id)
            .one(&self.db)
            .await?
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now())
            .ok_or_else(invalid_refresh)?;
        if now() - rotated_at > chrono_dur(self.cfg.reuse_grace) {
            self.revoke_session_row(&s, "refresh_token_reuse").await?;
            self.log_event(
                Some(s.user_id),
                None,
                "refresh_reuse_detected",
                client,
                Some(json!({ "sessionId": s.id })),
            )
            .await;
            return Err(invalid_refresh());
        }
        let successor = spent
            .successor
            .as_deref()
            .and_then(|sealed| crypto::open(&self.seal_key(token), spent.id.as_bytes(), sealed))
            .and_then(|plain| String::from_utf8(plain).ok())
            .ok_or_else(invalid_refresh)?;
        self.issue(s, successor).await
    }

    /// The key a spent token's successor is sealed with: only the spent token's holder (and
    /// this product) can derive it; the stored hash does not yield it.
    fn seal_key(&self, token: &str) -> [u8; 32] {
        crypto::hmac_sha256(&self.successor_key, &[token.as_bytes()])
    }

    /// Notes a refresh on the session (when, from where) and, with `expires_at`, extends it.
    async fn record_use(
        &self,
        s: Session,
        client: &ClientInfo,
        expires_at: Option<chrono::DateTime<Utc>>,
    ) -> ApiResult<Session> {
        self.record_use_in(&self.db, s, client, expires_at).await
    }

    async fn record_use_in(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        s: Session,
        client: &ClientInfo,
        expires_at: Option<chrono::DateTime<Utc>>,
    ) -> ApiResult<Session> {
        let mut row = s.into_active_model();
        row.last_used_at = Set(now());
        if let Some(at) = expires_at {
            row.expires_at = Set(at);
        }
        row.ip = Set(client.ip_string());
        if client.user_agent.is_some() {
            row.user_agent = Set(client.user_agent.clone());
        }
        Ok(row.update(conn).await?)
    }

    /// A fresh access token for the session, with `refresh_token` as the refresh token.
    async fn issue(&self, s: Session, refresh_token: String) -> ApiResult<(User, IssuedTokens)> {
        let user = self.user(s.user_id).await?.ok_or_else(invalid_refresh)?;
        let (access_token, expires_in) = self.sign_access(user.id, &s)?;
        Ok((
            user,
            IssuedTokens {
                access_token,
                refresh_token: Some(refresh_token),
                expires_in,
                session_id: s.id,
            },
        ))
    }

    /// Resolves an access token to its live session and user. A revoked or expired session,
    /// or a deleted user, makes the token worthless at once.
    pub async fn authenticate(&self, access_token: &str) -> ApiResult<(User, Session, Claims)> {
        let unauth = || ApiError::unauthenticated("invalid or expired access token");
        let claims = self.keys.verify(access_token).ok_or_else(unauth)?;
        // Impersonation tokens always re-check their admin in the database.
        let cacheable = claims.imp.is_none();
        if cacheable && let Some((user, s)) = self.sessions_cache.get(claims.sid) {
            if s.expires_at <= now() || s.user_id != claims.sub {
                return Err(unauth());
            }
            return Ok((user, s, claims));
        }
        let generation = self.sessions_cache.generation();
        let s = session::Entity::find_by_id(claims.sid)
            .one(&self.db)
            .await?
            .ok_or_else(unauth)?;
        if s.revoked_at.is_some() || s.expires_at <= now() || s.user_id != claims.sub {
            return Err(unauth());
        }
        let user = self.user(claims.sub).await?.ok_or_else(unauth)?;
        if let Some(admin_id) = claims.imp {
            // An impersonation token is only as good as its admin: demoted or deleted, it dies.
            let admin = self.user(admin_id).await?;
            if admin.is_none_or(|a| a.role != self.cfg.admin_role)
                || s.impersonator_id != Some(admin_id)
            {
                return Err(unauth());
            }
        }
        if cacheable {
            self.sessions_cache
                .insert(generation, user.clone(), s.clone());
        }
        Ok((user, s, claims))
    }

    /// The claims of a validly signed, unexpired access token, without the session lookup
    /// (for keying rate limits; `authenticate` is what admits a request).
    pub fn access_claims(&self, access_token: &str) -> Option<Claims> {
        self.keys.verify(access_token)
    }

    /// The user's live sessions, most recently used first.
    pub async fn sessions(&self, user_id: Uuid) -> Result<Vec<Session>, sea_orm::DbErr> {
        session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now()))
            .order_by_desc(session::Column::LastUsedAt)
            .all(&self.db)
            .await
    }

    /// Revokes one of the user's sessions; another user's session is "not found".
    pub async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        reason: &str,
    ) -> ApiResult<()> {
        let s = session::Entity::find_by_id(session_id)
            .one(&self.db)
            .await?
            .filter(|s| s.user_id == user_id && s.revoked_at.is_none())
            .ok_or_else(|| ApiError::not_found("session not found"))?;
        self.revoke_session_row(&s, reason).await?;
        Ok(())
    }

    /// Revokes any user's live session (the console); an unknown or ended one is "not found".
    pub async fn revoke_any_session(&self, session_id: Uuid, reason: &str) -> ApiResult<Session> {
        let s = session::Entity::find_by_id(session_id)
            .one(&self.db)
            .await?
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now())
            .ok_or_else(|| ApiError::not_found("session not found"))?;
        self.revoke_session_row(&s, reason).await?;
        Ok(s)
    }

    /// Ends the live session a refresh token belongs to (logout by cookie or body) and
    /// returns its user. Spent or unknown tokens are `unauthenticated`.
    pub async fn revoke_by_refresh_token(&self, token: &str, reason: &str) -> ApiResult<Uuid> {
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(crypto::token_hash(token)))
            .one(&self.db)
            .await?
            .ok_or_else(invalid_refresh)?;
        let s = session::Entity::find_by_id(row.session_id)
            .one(&self.db)
            .await?
            .filter(|s| s.revoked_at.is_none())
            .ok_or_else(invalid_refresh)?;
        self.revoke_session_row(&s, reason).await?;
        Ok(s.user_id)
    }

    async fn revoke_session_row(&self, s: &Session, reason: &str) -> Result<(), sea_orm::DbErr> {
        let revoked = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(now())))
            .col_expr(
                session::Column::RevokeReason,
                Expr::value(Some(reason.to_owned())),
            )
            .filter(session::Column::Id.eq(s.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        self.sessions_cache.forget_session(s.id);
        if revoked.rows_affected > 0 {
            self.bus.announce(SESSION_REVOKED, s.id.to_string()).await;
        }
        Ok(())
    }

    /// Revokes every live session of the user, except `keep`.
    pub async fn revoke_all_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        reason: &str,
    ) -> Result<(), sea_orm::DbErr> {
        let mut q = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(now())))
            .col_expr(
                session::Column::RevokeReason,
                Expr::value(Some(reason.to_owned())),
            )
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null());
        if let Some(keep) = keep {
            q = q.filter(session::Column::Id.ne(keep));
        }
        let revoked = q.exec(&self.db).await?.rows_affected;
        self.sessions_cache.forget_user(user_id);
        if revoked > 0 {
            self.announce_user_sessions_revoked(user_id).await;
        }
        Ok(())
    }

    /// Tells every instance that sessions of `user_id` ended (after the change committed).
    pub(super) async fn announce_user_sessions_revoked(&self, user_id: Uuid) {
        self.sessions_cache.forget_user(user_id);
        self.bus
            .announce(USER_SESSIONS_REVOKED, user_id.to_string())
            .await;
    }

    /// Which of `ids` are live sessions (not revoked, not expired; a deleted user's are
    /// gone): what live connections re-read after a revocation notice.
    pub async fn live_session_ids(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, sea_orm::DbErr> {
        let mut live = HashSet::new();
        for chunk in ids.chunks(500) {
            let found: Vec<Uuid> = session::Entity::find()
                .select_only()
                .column(session::Column::Id)
                .filter(session::Column::Id.is_in(chunk.iter().copied()))
                .filter(session::Column::RevokedAt.is_null())
                .filter(session::Column::ExpiresAt.gt(now()))
                .into_tuple()
                .all(&self.db)
                .await?;
            live.extend(found);
        }
        Ok(live)
    }

    /// Records use of a session at most once a minute (a write per request would be waste);
    /// the cached session learns the new time, so the next minute's requests write nothing.
    pub async fn touch_session(&self, s: &Session) -> Result<(), sea_orm::DbErr> {
        let now = now();
        if now - s.last_used_at < chrono::Duration::seconds(60) {
            return Ok(());
        }
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .filter(session::Column::Id.eq(s.id))
            .exec(&self.db)
            .await?;
        self.sessions_cache.touched(s.id, now);
        Ok(())
    }

    /// An admin acting as another user: an access token only (≤ 15 minutes, no refresh)
    /// naming the admin; admins cannot be impersonated.
    pub async fn impersonate(
        &self,
        admin: &User,
        target_id: Uuid,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens)> {
        if admin.role != self.cfg.admin_role {
            return Err(ApiError::forbidden("only admins may impersonate"));
        }
        let target = self
            .user(target_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user not found"))?;
        if target.role == self.cfg.admin_role {
            return Err(ApiError::forbidden("admins cannot be impersonated"));
        }
        let tokens = self.start_session(&target, client, Some(admin.id)).await?;
        let details = json!({ "targetUserId": target.id, "sessionId": tokens.session_id });
        self.log_event(
            Some(admin.id),
            Some(admin.id),
            "impersonation_started",
            client,
            Some(details.clone()),
        )
        .await;
        self.log_event(
            Some(target.id),
            Some(admin.id),
            "impersonation_started",
            client,
            Some(details),
        )
        .await;
        Ok((target, tokens))
    }
}

impl Identity {
    /// The policy's sign-in gate: with `require_verified_email`, an unverified account gets
    /// 403 (`details.emailNotVerified`) whichever way it signs in.
    pub(crate) fn check_may_sign_in(&self, user: &User) -> ApiResult<()> {
        if self.cfg.require_verified_email && !user.email_verified {
            return Err(
                ApiError::forbidden("verify your email address before signing in").with_details(
                    ErrorDetails::EmailNotVerified {
                        email_not_verified: true,
                    },
                ),
            );
        }
        Ok(())
    }
}
