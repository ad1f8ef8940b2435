//! Two-factor authentication: TOTP enrolment, one-time acceptance of each code, and
//! single-use recovery codes stored hashed.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Identity, User,
    crypto::{self, totp},
    entities::{recovery_code, user},
    now,
};
use crate::{
    error::{ApiError, ApiResult},
    extract::ClientInfo,
};

const RECOVERY_CODES: usize = 10;

/// What `setup` hands the user once: the secret and the recovery codes are not shown again.
#[derive(Clone, Debug)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_url: String,
    pub recovery_codes: Vec<String>,
}

impl Identity {
    /// Generates a pending secret and fresh recovery codes; 2FA is on only after `totp_enable`.
    pub async fn totp_setup(&self, u: &User, client: &ClientInfo) -> ApiResult<TotpSetup> {
        if u.totp_enabled {
            return Err(ApiError::precondition(
                "two-factor authentication is already enabled",
            ));
        }
        let secret = totp::new_secret();
        let otpauth_url = totp::otpauth_url(&secret, &u.email, self.cfg.display_name)
            .ok_or_else(|| ApiError::internal("could not build otpauth url"))?;
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| crypto::recovery_code())
            .collect();
        let txn = self.db.begin().await?;
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(u.id))
            .exec(&txn)
            .await?;
        let now = now();
        recovery_code::Entity::insert_many(codes.iter().map(|code| recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(u.id),
            code_hash: Set(crypto::token_hash(code)),
            created_at: Set(now),
            used_at: Set(None),
        }))
        .exec_without_returning(&txn)
        .await?;
        let mut row = u.clone().into_active_model();
        row.totp_pending_secret = Set(Some(secret.clone()));
        row.update(&txn).await?;
        txn.commit().await?;
        self.user_changed(u.id).await;
        self.log_event(Some(u.id), None, "two_factor_setup", client, None)
            .await;
        Ok(TotpSetup {
            secret,
            otpauth_url,
            recovery_codes: codes,
        })
    }

    /// Turns 2FA on when `code` matches the pending secret.
    pub async fn totp_enable(&self, u: &User, code: &str, client: &ClientInfo) -> ApiResult<()> {
        if u.totp_enabled {
            return Err(ApiError::precondition(
                "two-factor authentication is already enabled",
            ));
        }
        let secret = u
            .totp_pending_secret
            .clone()
            .ok_or_else(|| ApiError::precondition("call /auth/2fa/setup first"))?;
        let step = totp::matching_step(&secret, code, now().timestamp() as u64)
            .ok_or_else(|| ApiError::invalid("invalid two-factor code"))?;
        let mut row = u.clone().into_active_model();
        row.totp_secret = Set(Some(secret));
        row.totp_pending_secret = Set(None);
        row.totp_enabled = Set(true);
        row.totp_last_step = Set(Some(step));
        row.update(&self.db).await?;
        self.user_changed(u.id).await;
        self.log_event(Some(u.id), None, "two_factor_enabled", client, None)
            .await;
        Ok(())
    }

    /// A current TOTP code not used before, or an unused recovery code.
    pub(super) async fn check_second_factor(
        &self,
        u: &User,
        code: &str,
        client: &ClientInfo,
    ) -> Result<bool, sea_orm::DbErr> {
        if let Some(secret) = &u.totp_secret
            && let Some(step) = totp::matching_step(secret, code, now().timestamp() as u64)
        {
            // Accept each step once: the update only succeeds past the last accepted step.
            let res = user::Entity::update_many()
                .col_expr(user::Column::TotpLastStep, Expr::value(Some(step)))
                .filter(user::Column::Id.eq(u.id))
                .filter(
                    Condition::any()
                        .add(user::Column::TotpLastStep.is_null())
                        .add(user::Column::TotpLastStep.lt(step)),
                )
                .exec(&self.db)
                .await?;
            self.user_changed(u.id).await;
            return Ok(res.rows_affected == 1);
        }
        let hash = crypto::token_hash(&crypto::normalize_recovery_code(code));
        let res = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(Some(now())))
            .filter(recovery_code::Column::UserId.eq(u.id))
            .filter(recovery_code::Column::CodeHash.eq(hash))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        if res.rows_affected == 1 {
            self.log_event(
                Some(u.id),
                None,
                "recovery_code_used",
                client,
                Some(json!({})),
            )
            .await;
            return Ok(true);
        }
        Ok(false)
    }
}
