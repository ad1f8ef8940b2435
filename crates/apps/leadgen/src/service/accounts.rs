//! Accounts with organizations: registration creates the user, an organization they own and
//! their profile in one transaction; only verified accounts sign in. Registration answers the
//! same whether or not the address already has an account (docs/leadgen.md).

use platform::{
    ApiError, ApiResult,
    error::{ErrorCode, FieldError},
    extract::ClientInfo,
    identity::{
        Identity, IssuedTokens, NewUser, PasswordSignIn, SignedIn, User, google::GoogleProof,
    },
};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::{
    Ctx,
    db::organizations::{self, Organization},
};

/// What a new account is made of.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
    /// Defaults to "<name>'s organization".
    pub organization_name: Option<&'a str>,
    pub role: &'a str,
    pub email_verified: bool,
}

/// The user to create and the organization's name, or every problem with the fields at once
/// (the organization's name is checked with the user's fields, so one answer lists them all).
fn checked(new: &NewAccount<'_>) -> ApiResult<(NewUser, Option<String>)> {
    let org_name = new
        .organization_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let user = NewUser {
        email: new.email.to_owned(),
        password: Some(new.password.to_owned()),
        name: new.name.to_owned(),
        role: new.role.to_owned(),
        email_verified: new.email_verified,
    };
    let mut errors = Identity::validate_new_user(&user);
    if org_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        errors.push(FieldError {
            field: "organizationName".into(),
            message: "must be at most 100 characters".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok((user, org_name))
}

/// The user's organization and owner profile, on the connection that created the user.
async fn create_organization(
    conn: &impl ConnectionTrait,
    user: &User,
    name: Option<String>,
) -> Result<Organization, sea_orm::DbErr> {
    let name = name.unwrap_or_else(|| format!("{}'s organization", user.name));
    organizations::create_owned(conn, user.id, &name).await
}

/// Creates the user, their organization and owner profile in one transaction: if any part
/// cannot be stored, none is. A taken address is 409 (operators and tests; registration
/// answers it differently).
pub async fn create_with_organization(
    ctx: &Ctx,
    new: NewAccount<'_>,
) -> ApiResult<(User, Organization)> {
    let (new_user, org_name) = checked(&new)?;
    let txn = ctx.db.begin().await?;
    let user = ctx.identity.create_user_in(&txn, new_user).await?;
    let org = create_organization(&txn, &user, org_name).await?;
    txn.commit().await?;
    Ok((user, org))
}

/// Self-service sign-up. A new address gets, in one transaction, the user (role `user`,
/// unverified), an organization, the owner profile, the `register` event and a verification
/// token, and then the verification mail. An address that already has an account gets the
/// same answer, no second account, and its owner a notice mail instead, so registration
/// does not tell who has an account. Both mails leave after the response, and both paths
/// hash the password first, so neither the answer nor its timing differs.
pub async fn register(ctx: &Ctx, new: NewAccount<'_>, client: &ClientInfo) -> ApiResult<()> {
    ctx.identity.mailer.ensure_ready()?;
    let (new_user, org_name) = checked(&new)?;
    let txn = ctx.db.begin().await?;
    let user = match ctx.identity.create_user_in(&txn, new_user).await {
        Err(e) if e.code == ErrorCode::AlreadyExists => {
            txn.rollback().await?;
            ctx.identity.notify_registration_attempt(new.email, client);
            return Ok(());
        }
        created => created?,
    };
    create_organization(&txn, &user, org_name).await?;
    ctx.identity
        .log_event_in(&txn, Some(user.id), None, "register", client, None)
        .await?;
    let token = ctx.identity.verification_token_in(&txn, &user).await?;
    txn.commit().await?;
    ctx.identity.mail_verification_detached(&user, &token);
    Ok(())
}

/// Email and password, through the platform's sign-in throttle; an unverified account is
/// refused (the identity policy's `require_verified_email`) before any session exists.
pub async fn login(ctx: &Ctx, attempt: PasswordSignIn<'_>) -> ApiResult<(SignedIn, Organization)> {
    let signed = ctx.identity.login(attempt).await?;
    let org = organization_of(ctx, &signed.user).await?;
    Ok((signed, org))
}

/// Google sign-in (a verified ID token or an exchanged code). A person new to LeadGen gets
/// their organization and profile as at registration; Google's word on the address stands
/// in for the verification mail, and an address Google has not verified cannot sign in.
pub async fn google_sign_in(
    ctx: &Ctx,
    proof: GoogleProof,
    client: &ClientInfo,
) -> ApiResult<(User, IssuedTokens, Organization)> {
    let profile = ctx.google_profile(proof).await?;
    let (user, tokens) = ctx.identity.sign_in_external(profile, None, client).await?;
    let org = match organizations::of_user(&ctx.db, user.id).await? {
        Some(org) => org,
        None => {
            let name = format!("{}'s organization", user.name);
            organizations::create_owned(&ctx.db, user.id, &name).await?
        }
    };
    Ok((user, tokens, org))
}

pub async fn organization_of(ctx: &Ctx, user: &User) -> ApiResult<Organization> {
    organizations::of_user(&ctx.db, user.id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {} has no organization", user.id)))
}

/// Resends a verification link. The same answer, in the same time, whether or not the
/// address is known: the lookup and mail happen after the response.
pub async fn resend_verification(ctx: &Ctx, email: &str) -> ApiResult<()> {
    if !platform::identity::is_valid_email(&platform::identity::normalize_email(email)) {
        return Err(ApiError::validation(vec![FieldError {
            field: "email".into(),
            message: "must be a valid email address".into(),
        }]));
    }
    ctx.identity.mailer.ensure_ready()?;
    let (identity, email) = (ctx.identity.clone(), email.to_owned());
    tokio::spawn(async move {
        if let Ok(Some(u)) = identity.user_by_email(&email).await
            && !u.email_verified
            && let Err(e) = identity.send_verification(&u).await
        {
            tracing::warn!(error = %e, "verification mail not resent");
        }
    });
    Ok(())
}
