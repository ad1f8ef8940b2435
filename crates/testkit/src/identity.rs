//! Fixtures on the platform's identity tables, reached through the product's core: users made
//! without HTTP, stored refresh tokens and sessions, clocks moved back; and JWT claims.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use platform::{
    core::HasCore,
    identity::{
        NewUser, User,
        crypto::token_hash,
        entities::{one_time_token, refresh_token, session},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::Value;
use uuid::Uuid;

use crate::server::TestServer;

/// The password of every user the fixtures create.
pub const PASSWORD: &str = "correct horse battery staple";

impl<C: HasCore> TestServer<C> {
    /// A user created directly through the identity service (no HTTP, no rate limits), email
    /// verified, password [`PASSWORD`].
    pub async fn create_user(&self, email: &str, role: &str) -> User {
        self.ctx
            .core()
            .identity
            .create_user(NewUser {
                email: email.into(),
                password: Some(PASSWORD.into()),
                name: format!("Test {role}"),
                role: role.into(),
                email_verified: true,
            })
            .await
            .expect("create user")
    }

    /// The stored row of a refresh token.
    pub async fn refresh_row(&self, refresh: &str) -> refresh_token::Model {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash(refresh)))
            .one(&self.ctx.core().db)
            .await
            .unwrap()
            .expect("refresh token stored")
    }

    /// The session a refresh token belongs to, as stored.
    pub async fn session_of(&self, refresh: &str) -> session::Model {
        let row = self.refresh_row(refresh).await;
        session::Entity::find_by_id(row.session_id)
            .one(&self.ctx.core().db)
            .await
            .unwrap()
            .expect("session stored")
    }

    /// Every session row of a user.
    pub async fn sessions_of(&self, user: Uuid) -> Vec<session::Model> {
        session::Entity::find()
            .filter(session::Column::UserId.eq(user))
            .all(&self.ctx.core().db)
            .await
            .unwrap()
    }

    /// Moves the rotation time of one rotated refresh token `secs` seconds into the past.
    pub async fn age_rotation(&self, refresh: &str, secs: i64) {
        let n = refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::RotatedAt,
                Expr::value(Some(Utc::now() - chrono::Duration::seconds(secs))),
            )
            .filter(refresh_token::Column::TokenHash.eq(token_hash(refresh)))
            .filter(refresh_token::Column::RotatedAt.is_not_null())
            .exec(&self.ctx.core().db)
            .await
            .unwrap()
            .rows_affected;
        assert_eq!(n, 1, "the rotated refresh token row exists");
    }

    /// Moves the rotation time of every rotated refresh token `secs` into the past, so that
    /// presenting one again falls outside the reuse grace.
    pub async fn age_rotated_refresh_tokens(&self, secs: i64) {
        let at = Utc::now() - chrono::Duration::seconds(secs);
        let n = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(Some(at)))
            .filter(refresh_token::Column::RotatedAt.is_not_null())
            .exec(&self.ctx.core().db)
            .await
            .unwrap()
            .rows_affected;
        assert!(n > 0, "no rotated refresh token to age");
    }

    /// Expires every one-time token (verification and reset links) of `purpose`.
    pub async fn expire_one_time_tokens(&self, purpose: &str) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        let n = one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::ExpiresAt, Expr::value(past))
            .filter(one_time_token::Column::Purpose.eq(purpose))
            .exec(&self.ctx.core().db)
            .await
            .unwrap()
            .rows_affected;
        assert!(n > 0, "no {purpose} token to expire");
    }
}

/// The claims of a JWT, decoded without checking the signature.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("JWT payload is JSON")
}

#[cfg(test)]
mod tests {
    use super::jwt_claims;

    #[test]
    fn jwt_claims_decodes_the_payload_without_a_key() {
        // {"alg":"HS256"} . {"sub":"ann","exp":1} . signature
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4iLCJleHAiOjF9.c2ln";
        let claims = jwt_claims(token);
        assert_eq!(claims["sub"], "ann");
        assert_eq!(claims["exp"], 1);
    }
}
