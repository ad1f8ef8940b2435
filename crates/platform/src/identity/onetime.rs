//! Single-use, expiring tokens (verification, reset, mock sign-in links), stored hashed.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use super::{Identity, chrono_dur, crypto, entities::one_time_token as ott, now};

impl Identity {
    /// Creates a token and returns its only plaintext copy.
    pub(crate) async fn issue_one_time(
        &self,
        user_id: Option<Uuid>,
        purpose: &str,
        ttl: Duration,
        data: Option<Value>,
    ) -> Result<String, sea_orm::DbErr> {
        self.issue_one_time_in(&self.db, user_id, purpose, ttl, data)
            .await
    }

    /// `issue_one_time` on `conn` (the pool or a transaction).
    pub(crate) async fn issue_one_time_in(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Option<Uuid>,
        purpose: &str,
        ttl: Duration,
        data: Option<Value>,
    ) -> Result<String, sea_orm::DbErr> {
        let token = crypto::random_token();
        ott::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            purpose: Set(purpose.to_owned()),
            token_hash: Set(crypto::token_hash(&token)),
            data: Set(data),
            created_at: Set(now()),
            expires_at: Set(now() + chrono_dur(ttl)),
            used_at: Set(None),
        }
        .insert(conn)
        .await?;
        Ok(token)
    }

    /// Records `key` under `purpose` as spent, for `ttl`: true the first time, false when it
    /// was recorded before (a replay). The unique hash makes concurrent claims yield one true.
    pub(crate) async fn claim_once(
        &self,
        purpose: &str,
        key: &str,
        ttl: Duration,
    ) -> Result<bool, sea_orm::DbErr> {
        let row = ott::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(None),
            purpose: Set(purpose.to_owned()),
            token_hash: Set(crypto::token_hash(&format!("{purpose}:{key}"))),
            data: Set(None),
            created_at: Set(now()),
            expires_at: Set(now() + chrono_dur(ttl)),
            used_at: Set(Some(now())),
        };
        match row.insert(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Marks the token used and returns it, if it exists for `purpose`, is unused and
    /// unexpired. The conditional update makes two concurrent uses yield one success.
    pub(crate) async fn consume_one_time(
        &self,
        token: &str,
        purpose: &str,
    ) -> Result<Option<ott::Model>, sea_orm::DbErr> {
        let now = now();
        let Some(row) = ott::Entity::find()
            .filter(ott::Column::TokenHash.eq(crypto::token_hash(token.trim())))
            .filter(ott::Column::Purpose.eq(purpose))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if row.used_at.is_some() || row.expires_at <= now {
            return Ok(None);
        }
        let claimed = ott::Entity::update_many()
            .col_expr(ott::Column::UsedAt, Expr::value(Some(now)))
            .filter(ott::Column::Id.eq(row.id))
            .filter(ott::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok((claimed.rows_affected == 1).then_some(row))
    }
}
