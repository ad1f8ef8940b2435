//! Accounts with organizations: registration creates the user, an organization they own and
//! their profile; only verified accounts sign in.

use platform::{
    ApiError, ApiResult,
    extract::ClientInfo,
    identity::{
        Identity, IssuedTokens, NewUser, PasswordSignIn, SignedIn, User, google::GoogleProof,
    },
};

use crate::{
    Ctx,
    db::organizations::{self, Organization},
};

/// Creates the user, then their organization; if the organization cannot be stored the user
/// is removed again, so a failed registration leaves nothing half-made.
pub async fn create_with_organization(
    ctx: &Ctx,
    email: &str,
    password: &str,
    name: &str,
    organization_name: Option<&str>,
    role: &str,
    email_verified: bool,
) -> ApiResult<(User, Organization)> {
    let org_name = organization_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let new = NewUser {
        email: email.to_owned(),
        password: Some(password.to_owned()),
        name: name.to_owned(),
        role: role.to_owned(),
        email_verified,
    };
    // The organization's name is checked with the user's fields, so one answer lists them all.
    let mut errors = Identity::validate_new_user(&new);
    if org_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        errors.push(platform::error::FieldError {
            field: "organizationName".into(),
            message: "must be at most 100 characters".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let user = ctx.identity.create_user(new).await?;
    let org_name = org_name.unwrap_or_else(|| format!("{}'s organization", user.name));
    match organizations::create_owned(&ctx.db, user.id, &org_name).await {
        Ok(org) => Ok((user, org)),
        Err(e) => {
            ctx.identity.delete_user(user.id).await.ok();
            Err(e.into())
        }
    }
}

/// Self-service sign-up: user + organization + profile, and a verification mail.
pub async fn register(
    ctx: &Ctx,
    email: &str,
    password: &str,
    name: &str,
    organization_name: Option<&str>,
    client: &ClientInfo,
) -> ApiResult<(User, Organization)> {
    let (user, org) = create_with_organization(
        ctx,
        email,
        password,
        name,
        organization_name,
        crate::service::access::USER,
        false,
    )
    .await?;
    ctx.identity
        .log_event(Some(user.id), None, "register", client, None)
        .await;
    if let Err(e) = ctx.identity.send_verification(&user).await {
        tracing::warn!(error = %e, "verification mail not sent at registration");
    }
    Ok((user, org))
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
        return Err(ApiError::validation(vec![platform::error::FieldError {
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
