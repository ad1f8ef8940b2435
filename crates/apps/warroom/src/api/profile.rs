//! `PATCH /api/v1/auth/profile` (seed 000 "Authentication System"): the fields a user edits
//! about themself (name, phone, timezone, avatar), checked here and kept by the platform's
//! identity beside the account.

use axum::extract::State;
use platform::{
    ApiError,
    extract::Json,
    identity::{UserUpdate, auth::AuthUser},
    phone::is_e164,
    validate::Problems,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::types::UserProfile;
use crate::{Ctx, domain::notifications::E164_RULE};

/// The self-editable profile fields; anything else (role, email, flags) is refused.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Alex Rivera", "phone": "+14155550123", "timezone": "America/New_York", "avatarUrl": "https://cdn.example.com/avatars/alex.png"}))]
pub struct ProfileUpdateRequest {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// E.164, e.g. `+14155550100`; `""` clears it.
    #[schema(pattern = r"^(\+[1-9][0-9]{7,14})?$")]
    pub phone: Option<String>,
    /// IANA zone name, e.g. `Europe/Paris`; `""` clears it.
    #[schema(pattern = r"^[A-Za-z0-9/_+-]{0,64}$")]
    pub timezone: Option<String>,
    /// An http(s) URL; `""` clears it.
    #[schema(
        max_length = 2048,
        pattern = r"^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?)?$"
    )]
    pub avatar_url: Option<String>,
}

/// `PATCH /api/v1/auth/profile`: name, phone, timezone, avatar.
#[utoipa::path(patch, operation_id = "updateProfile", path = "/auth/profile", tag = "auth", request_body = ProfileUpdateRequest,
    security(("bearer" = [])), responses((status = 200, body = UserProfile)))]
pub async fn update(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<ProfileUpdateRequest>,
) -> Result<Json<UserProfile>, ApiError> {
    let update = req.try_into()?;
    let updated = ctx.identity.update_user(user.user, update).await?;
    Ok(Json((&updated).into()))
}

impl TryFrom<ProfileUpdateRequest> for UserUpdate {
    type Error = ApiError;

    /// The name as given (the platform checks it), and the profile fields to merge: each one
    /// checked, `""` clearing it.
    fn try_from(req: ProfileUpdateRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let mut profile = Map::new();
        let mut set = |key: &str, value: Option<String>, ok: fn(&str) -> bool, rule: &str| {
            if let Some(v) = value {
                p.require(v.is_empty() || ok(&v), key, rule);
                profile.insert(key.into(), cleared_if_empty(v));
            }
        };
        set("phone", req.phone, is_e164, E164_RULE);
        set(
            "timezone",
            req.timezone,
            is_zone_name,
            "must be an IANA zone name",
        );
        let avatar = |u: &str| u.len() <= 2048 && is_http_url(u);
        set(
            "avatarUrl",
            req.avatar_url,
            avatar,
            "must be an http(s) URL",
        );
        p.or_value(UserUpdate {
            name: req.name,
            profile: Some(profile),
            ..Default::default()
        })
    }
}

/// An IANA zone name's characters, at most 64 of them.
fn is_zone_name(tz: &str) -> bool {
    tz.len() <= 64
        && tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
}

/// An http(s) URL as the schema states it: `http(s)://`, a host of letters, digits, dots and
/// hyphens, an optional port, then an optional path without whitespace.
fn is_http_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let (host, port) = authority
        .split_once(':')
        .map_or((authority, None), |(h, p)| (h, Some(p)));
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        && !path.chars().any(char::is_whitespace)
}

fn cleared_if_empty(v: String) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::String(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(phone: &str, timezone: &str, avatar_url: &str) -> ProfileUpdateRequest {
        ProfileUpdateRequest {
            name: None,
            phone: Some(phone.into()),
            timezone: Some(timezone.into()),
            avatar_url: Some(avatar_url.into()),
        }
    }

    #[test]
    fn avatar_urls_follow_the_schema_pattern() {
        assert!(is_http_url("https://cdn.example.com/a.png"));
        assert!(is_http_url("http://localhost:8080"));
        assert!(!is_http_url("https://0*"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("https://a.com:123456/x"));
        assert!(!is_http_url("https:///path"));
    }

    #[test]
    fn an_empty_phone_clears_it_and_bad_fields_are_all_reported() {
        let update = UserUpdate::try_from(request("", "Europe/Paris", "")).unwrap();
        let profile = update.profile.unwrap();
        assert_eq!(profile["phone"], Value::Null);
        assert_eq!(profile["timezone"], "Europe/Paris");
        let err = UserUpdate::try_from(request("12", "not a zone!", "javascript:x")).unwrap_err();
        assert_eq!(err.field_names(), ["phone", "timezone", "avatarUrl"]);
    }
}
