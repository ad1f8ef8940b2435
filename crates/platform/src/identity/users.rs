//! Accounts: creation, lookup, admin updates, registration, password change and reset,
//! email verification. The writes a product may need to make part of its own transaction
//! (`create_user_in`, `update_user_in`, `delete_user_in`, `verification_token_in`) take any
//! connection: the pool or an open `DatabaseTransaction`.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Identity, IssuedTokens, User, check_password, crypto, entities::user, field, is_valid_email,
    normalize_email,
};
use crate::{
    db::is_unique_violation,
    error::{ApiError, ApiResult, ErrorDetails, FieldError},
    extract::ClientInfo,
    validate::{Page, Paging},
};

const VERIFY_EMAIL: &str = "verify_email";
const RESET_PASSWORD: &str = "reset_password";
/// At most one "someone tried to register with your address" mail per address per hour.
const REGISTRATION_NOTICE: &str = "registration_notice";
const REGISTRATION_NOTICE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A user to create. `password: None` makes an account that signs in only through a provider.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub password: Option<String>,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
}

/// Which users a list shows.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    /// Part of the address (matched on the stored, lower-cased form).
    pub email_contains: Option<String>,
}

/// Fields an admin (or, for `name` and `profile`, the user) may change.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    /// Merged key by key into the stored profile; a `null` value removes the key.
    pub profile: Option<serde_json::Map<String, Value>>,
}

fn mailed_to(email: &str) -> Value {
    json!({ "mailedTo": email })
}

/// 1 to 100 characters as sent (the limit the schema states), not all whitespace.
fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() || name.chars().count() > 100 {
        errors.push(field("name", "must be 1 to 100 characters"));
    }
}

impl Identity {
    /// Every problem with a new user's fields, so a product can report them together with
    /// its own fields' problems.
    pub fn validate_new_user(new: &NewUser) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_valid_email(&normalize_email(&new.email)) {
            errors.push(field("email", "must be a valid email address"));
        }
        if let Some(pw) = &new.password
            && let Err(e) = check_password(pw)
        {
            errors.push(e);
        }
        check_name(&new.name, &mut errors);
        errors
    }

    /// Creates a user on the pool. A taken address is 409 `already_exists`.
    pub async fn create_user(&self, new: NewUser) -> ApiResult<User> {
        self.create_user_in(&self.db, new).await
    }

    /// Creates a user on `conn` (the pool or a transaction), so a product can create its own
    /// rows for the user in the same transaction. The password is hashed before the first
    /// write, so a transaction holds no write lock while argon2 runs. A taken address is 409
    /// `already_exists` (on PostgreSQL the transaction is then aborted: roll it back).
    pub async fn create_user_in(
        &self,
        conn: &impl ConnectionTrait,
        new: NewUser,
    ) -> ApiResult<User> {
        let errors = Self::validate_new_user(&new);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let email = normalize_email(&new.email);
        let password_hash = match &new.password {
            Some(pw) => Some(crypto::hash_password(pw).await?),
            None => None,
        };
        let now = Utc::now();
        let row = user::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(email),
            password_hash: Set(password_hash),
            name: Set(new.name.trim().to_owned()),
            role: Set(new.role),
            email_verified: Set(new.email_verified),
            totp_enabled: Set(false),
            totp_secret: Set(None),
            totp_pending_secret: Set(None),
            totp_last_step: Set(None),
            profile: Set(json!({})),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
        };
        row.insert(conn).await.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::conflict("a user with this email already exists")
            } else {
                e.into()
            }
        })
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, sea_orm::DbErr> {
        user::Entity::find_by_id(id).one(&self.db).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, sea_orm::DbErr> {
        user::Entity::find()
            .filter(user::Column::Email.eq(normalize_email(email)))
            .one(&self.db)
            .await
    }

    /// A page of users, oldest first, optionally of one role or with an address containing
    /// some text.
    pub async fn users(
        &self,
        filter: &UserFilter,
        paging: Paging,
    ) -> Result<Page<User>, sea_orm::DbErr> {
        let mut q = user::Entity::find();
        if let Some(role) = &filter.role {
            q = q.filter(user::Column::Role.eq(role.as_str()));
        }
        if let Some(text) = &filter.email_contains {
            q = q.filter(user::Column::Email.contains(normalize_email(text)));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .offset(paging.offset())
            .limit(paging.limit)
            .all(&self.db)
            .await?;
        Ok(paging.page(rows, total))
    }

    pub async fn count_with_role(&self, role: &str) -> Result<u64, sea_orm::DbErr> {
        user::Entity::find()
            .filter(user::Column::Role.eq(role))
            .count(&self.db)
            .await
    }

    pub async fn update_user(&self, current: User, update: UserUpdate) -> ApiResult<User> {
        self.update_user_in(&self.db, current, update).await
    }

    /// `update_user` on `conn` (the pool or a transaction).
    pub async fn update_user_in(
        &self,
        conn: &impl ConnectionTrait,
        current: User,
        update: UserUpdate,
    ) -> ApiResult<User> {
        let mut errors = Vec::new();
        if let Some(name) = &update.name {
            check_name(name, &mut errors);
        }
        let email = update.email.as_deref().map(normalize_email);
        if let Some(e) = &email
            && !is_valid_email(e)
        {
            errors.push(field("email", "must be a valid email address"));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let mut profile = current.profile.clone();
        if let (Some(changes), Some(obj)) = (update.profile, profile.as_object_mut()) {
            for (k, v) in changes {
                if v.is_null() {
                    obj.remove(&k);
                } else {
                    obj.insert(k, v);
                }
            }
        }
        let email_changed = email.as_ref().is_some_and(|e| *e != current.email);
        let mut row = current.into_active_model();
        if let Some(name) = update.name {
            row.name = Set(name.trim().to_owned());
        }
        if let Some(e) = email.filter(|_| email_changed) {
            row.email = Set(e);
            row.email_verified = Set(false);
        }
        if let Some(role) = update.role {
            row.role = Set(role);
        }
        row.profile = Set(profile);
        row.updated_at = Set(Utc::now());
        let updated = row.update(conn).await.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::conflict("a user with this email already exists")
            } else {
                ApiError::from(e)
            }
        })?;
        self.user_changed(updated.id).await;
        Ok(updated)
    }

    /// Deletes a user; their sessions, tokens and log go with them (foreign keys cascade), and
    /// their live connections are told so.
    pub async fn delete_user(&self, id: Uuid) -> ApiResult<()> {
        self.delete_user_in(&self.db, id).await
    }

    /// `delete_user` on `conn` (the pool or a transaction).
    pub async fn delete_user_in(&self, conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<()> {
        let res = user::Entity::delete_by_id(id).exec(conn).await?;
        if res.rows_affected == 0 {
            return Err(ApiError::not_found("user not found"));
        }
        self.announce_user_sessions_revoked(id).await;
        Ok(())
    }

    /// Self-service sign-up: the least-privileged role, a verification mail, a first session.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
        client: &ClientInfo,
    ) -> ApiResult<(User, IssuedTokens)> {
        let new = NewUser {
            email: email.to_owned(),
            password: Some(password.to_owned()),
            name: name.to_owned(),
            role: self.cfg.default_role.to_owned(),
            email_verified: false,
        };
        let user = self.create_user(new).await?;
        self.log_event(Some(user.id), None, "register", client, None)
            .await;
        if let Err(e) = self.send_verification(&user).await {
            // The account exists either way; the person can ask for a new link.
            tracing::warn!(error = %e, "verification mail not sent at registration");
        }
        let tokens = self.start_session(&user, client, None).await?;
        let user = self.touch_login(user).await?;
        Ok((user, tokens))
    }

    pub(super) async fn touch_login(&self, user: User) -> Result<User, sea_orm::DbErr> {
        let mut row = user.into_active_model();
        row.last_login_at = Set(Some(Utc::now()));
        let user = row.update(&self.db).await?;
        self.user_changed(user.id).await;
        Ok(user)
    }

    /// Mails a fresh 24-hour verification link.
    pub async fn send_verification(&self, user: &User) -> ApiResult<()> {
        self.mailer.ensure_ready()?;
        let token = self.verification_token_in(&self.db, user).await?;
        let (subject, body) = self.verification_mail(&token);
        self.mailer.send(&user.email, &subject, &body).await
    }

    /// Stores a fresh 24-hour verification token for `user` on `conn` (the pool or the
    /// transaction that creates the user) and returns it, for
    /// [`mail_verification_detached`](Self::mail_verification_detached) once committed.
    pub async fn verification_token_in(
        &self,
        conn: &impl ConnectionTrait,
        user: &User,
    ) -> Result<String, sea_orm::DbErr> {
        self.issue_one_time_in(
            conn,
            Some(user.id),
            VERIFY_EMAIL,
            self.cfg.verify_ttl,
            Some(mailed_to(&user.email)),
        )
        .await
    }

    /// Mails the verification link of `token` without waiting for delivery (where the
    /// response time must not depend on whether this mail or another one went out).
    pub fn mail_verification_detached(&self, user: &User, token: &str) {
        let (subject, body) = self.verification_mail(token);
        self.send_mail_detached(user.email.clone(), subject, body);
    }

    fn verification_mail(&self, token: &str) -> (String, String) {
        let body = format!(
            "Confirm your email address for {}:\n\n{}\n\nOr use this code: {}\n\nThe link expires in 24 hours.",
            self.cfg.display_name,
            self.link("verify-email", token),
            token
        );
        (
            format!("Confirm your {} email", self.cfg.display_name),
            body,
        )
    }

    /// Registration with an address that already has an account, answered like a new one:
    /// the account's owner (not the caller) learns of the attempt by mail, with a link to set
    /// a new password in case they forgot theirs. The lookup and the mail happen after the
    /// response; at most one such mail per address per hour.
    pub fn notify_registration_attempt(&self, email: &str, client: &ClientInfo) {
        let (me, email, client) = (self.clone(), normalize_email(email), client.clone());
        tokio::spawn(async move {
            if let Err(e) = me.send_registration_notice(&email, &client).await {
                tracing::error!(error = %e, "registration notice failed");
            }
        });
    }

    async fn send_registration_notice(&self, email: &str, client: &ClientInfo) -> ApiResult<()> {
        let Some(user) = self.user_by_email(email).await? else {
            return Ok(());
        };
        let key = user.id.to_string();
        if !self
            .claim_once(REGISTRATION_NOTICE, &key, REGISTRATION_NOTICE_EVERY)
            .await?
        {
            return Ok(());
        }
        let data = Some(mailed_to(&user.email));
        let token = self
            .issue_one_time(Some(user.id), RESET_PASSWORD, self.cfg.reset_ttl, data)
            .await?;
        self.log_event(Some(user.id), None, "registration_attempted", client, None)
            .await;
        let name = self.cfg.display_name;
        let body = format!(
            "Someone tried to create a {name} account with this address, which already has one. \
             If it was you, sign in with your password, or set a new one here:\n\n{link}\n\n\
             Or use this code: {token}\n\nThe link expires in 1 hour. If it was not you, ignore \
             this mail: nothing has changed.",
            link = self.link("reset-password", &token),
        );
        let subject = format!("Your {name} account");
        self.mailer.send(&user.email, &subject, &body).await
    }

    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> ApiResult<User> {
        let invalid = || ApiError::invalid("verification token is invalid, used or expired");
        let used = self
            .consume_one_time(token, VERIFY_EMAIL)
            .await?
            .ok_or_else(invalid)?;
        let user = self.token_owner(&used).await?.ok_or_else(invalid)?;
        let mut row = user.into_active_model();
        row.email_verified = Set(true);
        row.updated_at = Set(Utc::now());
        let user = row.update(&self.db).await?;
        self.user_changed(user.id).await;
        self.log_event(Some(user.id), None, "email_verified", client, None)
            .await;
        Ok(user)
    }

    /// `POST …/verify-email` as War Room and PawfectMatch define it: a token verifies; a
    /// signed-in caller without one gets a new mail (unless already verified); anyone else is
    /// asked to sign in.
    pub async fn verify_or_resend(
        &self,
        token: Option<&str>,
        caller: Option<&User>,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        match (token, caller) {
            (Some(token), _) => self.verify_email(token, client).await.map(|_| ()),
            (None, Some(u)) if u.email_verified => {
                Err(ApiError::precondition("email is already verified"))
            }
            (None, Some(u)) => self.send_verification(u).await,
            (None, None) => Err(ApiError::unauthenticated(
                "sign in to request a new verification mail",
            )),
        }
    }

    /// Verifies `current` and sets `new`; every other session of the user is revoked.
    pub async fn change_password(
        &self,
        user: &User,
        session_id: Uuid,
        current: &str,
        new: &str,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        check_password(new).map_err(|mut e| {
            e.field = "newPassword".into();
            ApiError::validation(vec![e])
        })?;
        if !crypto::verify_password(current, user.password_hash.as_deref()).await {
            self.log_event(Some(user.id), None, "password_change_failed", client, None)
                .await;
            return Err(
                ApiError::invalid("current password is incorrect").with_details(
                    ErrorDetails::Fields {
                        fields: vec![field("currentPassword", "is incorrect")],
                    },
                ),
            );
        }
        self.set_password(user, new).await?;
        self.revoke_all_sessions(user.id, Some(session_id), "password_changed")
            .await?;
        self.log_event(Some(user.id), None, "password_changed", client, None)
            .await;
        Ok(())
    }

    /// The user a mailed token was issued to, if their address is still the one it was
    /// mailed to: after an email change, links sent to the old mailbox are worthless.
    async fn token_owner(
        &self,
        t: &super::entities::one_time_token::Model,
    ) -> Result<Option<User>, sea_orm::DbErr> {
        let Some(user) = self.user(t.user_id.unwrap_or_default()).await? else {
            return Ok(None);
        };
        let mailed = t.data.as_ref().and_then(|d| d["mailedTo"].as_str());
        Ok((mailed == Some(user.email.as_str())).then_some(user))
    }

    /// `basalt user set-password`: the operator sets an account's password (checked like any
    /// other); every session of the account ends, and its security log records it.
    pub async fn set_password_by_operator(&self, user: &User, password: &str) -> ApiResult<()> {
        check_password(password).map_err(|e| ApiError::validation(vec![e]))?;
        self.set_password(user, password).await?;
        self.revoke_all_sessions(user.id, None, "password_set_by_operator")
            .await?;
        let client = ClientInfo {
            ip: None,
            user_agent: Some("basalt user set-password".into()),
        };
        self.log_event(
            Some(user.id),
            None,
            "password_set_by_operator",
            &client,
            None,
        )
        .await;
        Ok(())
    }

    async fn set_password(&self, user: &User, password: &str) -> ApiResult<()> {
        let hash = crypto::hash_password(password).await?;
        let mut row = user.clone().into_active_model();
        row.password_hash = Set(Some(hash));
        row.updated_at = Set(Utc::now());
        row.update(&self.db).await?;
        self.user_changed(user.id).await;
        Ok(())
    }

    /// Starts a reset. Answers the same, in the same time, whether or not the account exists:
    /// the lookup and mail happen after the response.
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) -> ApiResult<()> {
        if !is_valid_email(&normalize_email(email)) {
            return Err(ApiError::validation(vec![field(
                "email",
                "must be a valid email address",
            )]));
        }
        self.mailer.ensure_ready()?;
        let me = self.clone();
        let email = email.to_owned();
        let client = client.clone();
        tokio::spawn(async move {
            let result: ApiResult<()> = async {
                let Some(user) = me.user_by_email(&email).await? else { return Ok(()) };
                let token =
                    me.issue_one_time(Some(user.id), RESET_PASSWORD, me.cfg.reset_ttl, Some(mailed_to(&user.email))).await?;
                me.log_event(Some(user.id), None, "password_reset_requested", &client, None).await;
                let body = format!(
                    "Someone asked to reset the password of your {} account.\n\n{}\n\nOr use this code: {}\n\n\
                     The link expires in 1 hour. If this was not you, ignore this mail.",
                    me.cfg.display_name,
                    me.link("reset-password", &token),
                    token
                );
                me.send_mail_detached(user.email, format!("Reset your {} password", me.cfg.display_name), body);
                Ok(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "password reset request failed");
            }
        });
        Ok(())
    }

    /// Completes a reset: single-use token, new password, every session revoked.
    pub async fn complete_password_reset(
        &self,
        token: &str,
        password: &str,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        check_password(password).map_err(|e| ApiError::validation(vec![e]))?;
        let invalid = || ApiError::invalid("reset token is invalid, used or expired");
        let used = self
            .consume_one_time(token, RESET_PASSWORD)
            .await?
            .ok_or_else(invalid)?;
        let user = self.token_owner(&used).await?.ok_or_else(invalid)?;
        self.set_password(&user, password).await?;
        // Reading the mail proved the address.
        if !user.email_verified {
            let mut row = user.clone().into_active_model();
            row.email_verified = Set(true);
            row.update(&self.db).await?;
            self.user_changed(user.id).await;
        }
        self.revoke_all_sessions(user.id, None, "password_reset")
            .await?;
        self.log_event(Some(user.id), None, "password_reset", client, None)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_limited_as_sent_not_after_trimming() {
        let check = |n: &str| {
            let mut e = Vec::new();
            check_name(n, &mut e);
            e.is_empty()
        };
        assert!(check("Ann"));
        assert!(check(&"a".repeat(100)));
        assert!(
            !check(&format!("\r{}", "*".repeat(100))),
            "101 characters with the whitespace"
        );
        assert!(!check("   "));
    }
}
