//! Manage Access: invitations, users, permissions, access, revoke, resend, summary, outbox.
//! For holders of `manage_access` (403 `not_manager` for everyone else), each within their
//! reach: a unit manager sees and manages only users of their units, and nobody grants more
//! than they hold or edits themselves ([`access_domain::delegation`]).

use access_domain::api::{
    AccessSummary, AccountStatus, Channel, ErrorBody, InvitationRequest, InvitationResponse,
    OutboxMessage, Page, Passcode, PeriodUpdate, PermissionsUpdate, UserDetail, UserSummary,
};
use access_domain::delegation::{ManageDenied, check_manages, within_reach};
use access_domain::{
    Access, AccessPeriod, INVITATION_TTL, Member, Permission, UserStatus, UserType,
};
use axum::extract::State;
use axum::http::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Id, Json, LockId, Manager, OrgManager, Query, SeqListParams, page_answer, page_size};
use crate::error::{ApiError, ApiResult};
use crate::notify::{self, Outgoing};
use crate::store::user_list::{Cursor, UserQuery, UserSort};
use crate::store::{
    NewInvitation, NewInvitationToken, NewMessage, PasscodeRecord, Store, StoreError, StoreResult,
    UserRecord,
};
use crate::validate::{clean_email, clean_phone};
use crate::{AppState, secrets};

fn summary_of(u: &UserRecord, now: OffsetDateTime) -> UserSummary {
    UserSummary {
        id: u.id,
        name: u.name.clone(),
        user_type: u.user_type,
        status: AccountStatus::of(u.status, u.invitation_expires_at, now),
        access_type: match u.access {
            Access::AllLocks => "all_locks".into(),
            Access::Units { .. } => "units".into(),
        },
        invited_email: u.invited_email.clone(),
        username: u.username.clone(),
        registered_email: u.registered_email.clone(),
        invited_at: u.invited_at,
        period: u.period,
    }
}

/// A period as the API takes it: whole seconds (what both stores keep), checked.
fn clean_period(period: AccessPeriod) -> ApiResult<AccessPeriod> {
    let whole = |t: Option<OffsetDateTime>| t.map(|t| t.replace_nanosecond(0).unwrap_or(t));
    let period = AccessPeriod {
        starts_at: whole(period.starts_at),
        ends_at: whole(period.ends_at),
        weekly_hours: period.weekly_hours,
    };
    period.check().map_err(ApiError::validation)?;
    Ok(period)
}

/// A passcode as the API shows it (a user's profile, the phone's sync).
pub(crate) fn passcode(p: PasscodeRecord) -> Passcode {
    Passcode {
        lock_id: p.lock_id,
        lock_name: p.lock_name,
        code: p.code,
        sync_state: p.sync_state,
        failure_reason: p.failure_reason,
    }
}

fn user_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("User"),
        other => other.into(),
    }
}

/// The units a manager's view is limited to: `None` for a manager of all locks.
fn reach_of(manager: &UserRecord) -> Option<Vec<Uuid>> {
    match &manager.access {
        Access::AllLocks => None,
        Access::Units { unit_ids } => Some(unit_ids.clone()),
    }
}

/// A user of the manager's organization within their scope; others are "not found", as
/// the table does not list them.
async fn visible(state: &AppState, manager: &UserRecord, id: Uuid) -> ApiResult<UserRecord> {
    let org = manager.org_id;
    let user = state
        .db
        .run(move |s| s.user(org, id))
        .await
        .map_err(user_not_found)?;
    if within_reach(&manager.actor(), &user.access, &[]).is_err() {
        return Err(ApiError::not_found("User"));
    }
    Ok(user)
}

/// A user the manager may change: visible, not themselves, with no access or permission
/// beyond the manager's.
async fn managed(state: &AppState, manager: &UserRecord, id: Uuid) -> ApiResult<UserRecord> {
    let user = visible(state, manager, id).await?;
    check_manages(
        &manager.actor(),
        manager.id,
        &user.actor(),
        user.id,
        OffsetDateTime::now_utc(),
    )?;
    Ok(user)
}

async fn detail(state: &AppState, org: Uuid, id: Uuid) -> ApiResult<UserDetail> {
    let (user, codes) = state
        .db
        .run(move |s| Ok((s.user(org, id)?, s.user_passcodes(id)?)))
        .await
        .map_err(user_not_found)?;
    Ok(UserDetail {
        summary: summary_of(&user, OffsetDateTime::now_utc()),
        phone: user.phone.clone(),
        permissions: user.permissions.clone(),
        access: user.access.clone(),
        invited_by: user.invited_by,
        invitation_expires_at: (user.status == UserStatus::Pending)
            .then_some(user.invitation_expires_at)
            .flatten(),
        passcodes: codes.into_iter().map(passcode).collect(),
    })
}

/// Validates an access scope for a user type: units must exist in the organization;
/// residents only get units.
async fn check_access(
    state: &AppState,
    org: Uuid,
    user_type: UserType,
    access: Access,
) -> ApiResult<Access> {
    match access {
        Access::AllLocks if user_type == UserType::Resident => Err(ApiError::validation(
            "Residents get access to their own units only: use {\"type\": \"units\"}.",
        )),
        Access::AllLocks => Ok(Access::AllLocks),
        Access::Units { mut unit_ids } => {
            unit_ids.sort();
            unit_ids.dedup();
            if unit_ids.is_empty() {
                return Err(ApiError::validation("Select at least one unit."));
            }
            if unit_ids.len() > 10_000 {
                return Err(ApiError::validation("Too many units in one scope."));
            }
            let ids = unit_ids.clone();
            let found = state.db.run(move |s| s.existing_units(org, &ids)).await?;
            if let Some(missing) = unit_ids.iter().find(|u| !found.contains(u)) {
                return Err(ApiError::validation(format!("Unknown unit {missing}.")));
            }
            Ok(Access::Units { unit_ids })
        }
    }
}

fn dedup_permissions(mut p: Vec<Permission>) -> Vec<Permission> {
    p.sort();
    p.dedup();
    p
}

fn invitation_token(now: OffsetDateTime) -> (String, NewInvitationToken) {
    let token = secrets::new_token();
    let t = NewInvitationToken {
        id: Uuid::new_v4(),
        token_hash: secrets::hash_token(&token),
        sent_at: now,
        expires_at: now + INVITATION_TTL,
    };
    (token, t)
}

/// Where to get an app: both stores' links.
fn download_lines(app: access_domain::App) -> String {
    format!(
        "   Android (Google Play): {}\n   iPhone (App Store): {}\n",
        app.play_store_url(),
        app.app_store_url()
    )
}

/// The invitation email: names the right app, where to download it, and carries the link
/// with the token (and the token alone, to type when the link does not open the app).
fn invitation_mail(
    state: &AppState,
    org_id: Uuid,
    org_name: &str,
    to: &str,
    user_type: UserType,
    token: &str,
    t: &NewInvitationToken,
) -> Outgoing {
    let app = user_type.app().display_name();
    let role = match user_type {
        UserType::TeamMember => "a team member",
        UserType::Resident => "a resident",
    };
    let link = format!(
        "{}{}?token={token}",
        state.public_url,
        user_type.app().invite_path()
    );
    let expires = t
        .expires_at
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let stores = download_lines(user_type.app());
    let msg = NewMessage {
        id: Uuid::new_v4(),
        org_id,
        channel: Channel::Email,
        to: to.to_string(),
        subject: Some(format!("{org_name} invited you to the {app} app")),
        body: format!(
            "Hello,\n\n{org_name} has invited you to the {app} app as {role}.\n\n\
             1. Download the {app} app:\n{stores}\
             2. Complete your registration with this link:\n   {link}\n\n\
             If the link does not open the app, enter this invitation code in it:\n   {token}\n\n\
             When asked for your phone number, include +1 at the beginning, \
             for example +15551234567.\n\nThis invitation expires on {expires}.\n"
        ),
        created_at: t.sent_at,
    };
    Outgoing::new(state, msg, token)
}

/// Sends `user` a fresh invitation (resend, reinstate): `write` stores the new token and the
/// mail in one transaction, then the mail goes out with the live link.
async fn send_invitation(
    state: &AppState,
    user: &UserRecord,
    org_name: &str,
    now: OffsetDateTime,
    write: impl FnOnce(&dyn Store, &NewInvitationToken, &NewMessage) -> StoreResult<()> + Send + 'static,
) -> ApiResult<InvitationResponse> {
    let to = user
        .registered_email
        .clone()
        .or_else(|| user.invited_email.clone())
        .unwrap_or_default();
    let (token, t) = invitation_token(now);
    let mail = invitation_mail(
        state,
        user.org_id,
        org_name,
        &to,
        user.user_type,
        &token,
        &t,
    );
    let (t2, stored) = (t.clone(), mail.stored.clone());
    state.db.run(move |s| write(s, &t2, &stored)).await?;
    notify::deliver(state, &mail).await;
    Ok(InvitationResponse {
        user_id: user.id,
        status: UserStatus::Pending,
        linked: false,
        expires_at: t.expires_at,
    })
}

/// The mail of an invitation by username to an existing account: nothing to register.
fn access_added_mail(
    org_id: Uuid,
    org_name: &str,
    user: &UserRecord,
    now: OffsetDateTime,
) -> NewMessage {
    let app = user.user_type.app().display_name();
    let next = if user.status == UserStatus::Active {
        format!("Sign in to the {app} app with your existing account: nothing else to do.")
    } else {
        format!(
            "Finish your registration in the {app} app from the invitation you received \
             (ask for it to be resent if it expired)."
        )
    };
    NewMessage {
        id: Uuid::new_v4(),
        org_id,
        channel: Channel::Email,
        to: user
            .registered_email
            .clone()
            .or_else(|| user.invited_email.clone())
            .unwrap_or_default(),
        subject: Some(format!("{org_name} gave you more access in {app}")),
        body: format!(
            "Hello,\n\n{org_name} has given you access to more locks in the {app} app: \
             you now have access to the units and permissions shown in the app.\n\n{next}\n\n\
             If you do not have the app on this phone:\n{}",
            download_lines(user.user_type.app())
        ),
        created_at: now,
    }
}

/// An invitation by username: the existing account gets the access (see
/// [`crate::store::UserStore::link_access`]); a revoked one is reinstated with it.
async fn invite_existing(
    state: &AppState,
    admin: &UserRecord,
    name: &str,
    user_type: UserType,
    permissions: Vec<Permission>,
    access: Access,
) -> ApiResult<(StatusCode, axum::Json<InvitationResponse>)> {
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    let wanted = access_domain::normalize_username(name).map_err(ApiError::validation)?;
    let n = wanted.clone();
    let (user, org_name) = state
        .db
        .run(move |s| Ok((s.user_by_username(org, &n)?, s.organization_name(org)?)))
        .await?;
    let user = user.ok_or_else(|| ApiError::not_found(&format!("User {wanted:?}")))?;
    if user.user_type != user_type {
        let (is, other) = match user.user_type {
            UserType::TeamMember => ("a team member", "Team Member"),
            UserType::Resident => ("a resident", "Resident"),
        };
        return Err(ApiError::validation(format!(
            "{wanted} is {is}: one account has one user type, so invite them as a {other}, \
             or invite the other role by email with another address."
        )));
    }
    if user.id == admin.id {
        return Err(ManageDenied::Yourself.into());
    }
    let id = user.id;
    if user.status == UserStatus::Revoked {
        // Reinstating replaces their access, so they must be within the manager's reach; a
        // link only adds access the manager holds (checked by the caller).
        check_manages(&admin.actor(), admin.id, &user.actor(), id, now)?;
        let answer = send_invitation(state, &user, &org_name, now, move |s, t, mail| {
            s.reinstate_user(org, id, Some((&permissions, &access)), t, mail, now)
        })
        .await?;
        return Ok((StatusCode::CREATED, axum::Json(answer)));
    }
    let mail = access_added_mail(org, &org_name, &user, now);
    let out = Outgoing::new(state, mail, "");
    let stored = out.stored.clone();
    let user = state
        .db
        .run(move |s| s.link_access(org, id, &permissions, &access, &stored, now))
        .await?;
    notify::deliver(state, &out).await;
    Ok((
        StatusCode::OK,
        axum::Json(InvitationResponse {
            user_id: id,
            status: user.status,
            linked: true,
            expires_at: user.invitation_expires_at.unwrap_or(now),
        }),
    ))
}

/// Invite a team member or a resident; the right app's invitation goes out. By username,
/// an existing account gets the access instead (no second user, nothing to register).
#[utoipa::path(post, path = "/api/v1/invitations", tag = "manage access", security(("bearer" = [])),
    request_body = InvitationRequest,
    responses((status = 201, description = "A new pending user (by email), or a revoked user reinstated (by username)", body = InvitationResponse),
        (status = 200, description = "By username: the existing account got the access (`linked`: true)", body = InvitationResponse),
        (status = 403, description = "`not_manager`: without the manage-access permission; `out_of_scope` or `missing_permission`: units or permissions beyond your own", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown username", body = ErrorBody),
        (status = 409, description = "`conflict`: the email already signs in to this organization (invite by username)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a malformed email, permissions for a resident, an access scope with unknown or no units, not exactly one of `email` and `username`, a username of another user type, a period ending before it starts or with impossible weekly hours", body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Json(req): Json<InvitationRequest>,
) -> ApiResult<(StatusCode, axum::Json<InvitationResponse>)> {
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    let permissions = dedup_permissions(req.permissions);
    if req.user_type == UserType::Resident && !permissions.is_empty() {
        return Err(ApiError::validation(
            "Residents hold no permissions; send \"permissions\": [].",
        ));
    }
    let access = check_access(&state, org, req.user_type, req.access).await?;
    within_reach(&admin.actor(), &access, &permissions)?;
    let period = clean_period(req.period)?;
    let email = match (req.email.as_deref(), req.username.as_deref()) {
        (Some(e), None) => clean_email(e)?,
        (None, Some(name)) => {
            if period != AccessPeriod::ALWAYS {
                return Err(ApiError::validation(
                    "An existing account keeps its access dates: set them on the user's profile.",
                ));
            }
            return invite_existing(&state, &admin, name, req.user_type, permissions, access).await;
        }
        _ => {
            return Err(ApiError::validation(
                "Give exactly one of \"email\" or \"username\".",
            ));
        }
    };
    let e = email.clone();
    if let Some((user, _)) = state.db.run(move |s| s.login_lookup(&e)).await?
        && user.org_id == org
    {
        return Err(ApiError::conflict(format!(
            "{email} already signs in here as {}: invite them by username (\"Existing user\") \
             to add access to their account.",
            user.username.as_deref().unwrap_or("an existing user")
        )));
    }
    let invited_phone = req.phone.as_deref().map(clean_phone).transpose()?;
    let (token, t) = invitation_token(now);
    let org_name = state.db.run(move |s| s.organization_name(org)).await?;
    let mail = invitation_mail(&state, org, &org_name, &email, req.user_type, &token, &t);
    let inv = NewInvitation {
        org_id: org,
        user_id: Uuid::new_v4(),
        user_type: req.user_type,
        invited_email: email,
        username: None,
        permissions,
        access,
        invited_by: admin.id,
        token: t.clone(),
        invited_phone,
        period,
    };
    let (inv2, mail2) = (inv.clone(), mail.stored.clone());
    state
        .db
        .run(move |s| s.create_invitation(&inv2, &mail2))
        .await?;
    notify::deliver(&state, &mail).await;
    Ok((
        StatusCode::CREATED,
        axum::Json(InvitationResponse {
            user_id: inv.user_id,
            status: UserStatus::Pending,
            linked: false,
            expires_at: t.expires_at,
        }),
    ))
}

/// Resend Invite: a fresh link; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/users/{id}/resend-invite", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = InvitationResponse),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the user is not pending", body = ErrorBody)))]
pub async fn resend(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
) -> ApiResult<axum::Json<InvitationResponse>> {
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    let user = managed(&state, &admin, id).await?;
    let org_name = state.db.run(move |s| s.organization_name(org)).await?;
    if user.status != UserStatus::Pending {
        return Err(ApiError::conflict(format!(
            "Only pending invitations can be resent; this user is {}.",
            user.status.as_str()
        )));
    }
    let answer = send_invitation(&state, &user, &org_name, now, move |s, t, mail| {
        s.resend_invitation(org, id, t, mail)
    })
    .await?;
    Ok(axum::Json(answer))
}

/// Reinstate a revoked user: a new invitation to the same person (same id: history, logs and
/// audit kept); they register again, their old password and sessions stay dead.
#[utoipa::path(post, path = "/api/v1/users/{id}/reinstate", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = InvitationResponse),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the user is not revoked", body = ErrorBody)))]
pub async fn reinstate(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
) -> ApiResult<axum::Json<InvitationResponse>> {
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    let user = managed(&state, &admin, id).await?;
    let org_name = state.db.run(move |s| s.organization_name(org)).await?;
    if user.status != UserStatus::Revoked {
        return Err(ApiError::conflict(format!(
            "Only revoked users can be reinstated; this user is {}.",
            user.status.as_str()
        )));
    }
    let answer = send_invitation(&state, &user, &org_name, now, move |s, t, mail| {
        s.reinstate_user(org, id, None, t, mail, now)
    })
    .await?;
    Ok(axum::Json(answer))
}

/// Totals of the Manage Access page (revoked users are not counted).
#[utoipa::path(get, path = "/api/v1/access/summary", tag = "manage access", security(("bearer" = [])),
    responses((status = 200, body = AccessSummary),
        (status = 403, description = "`not_manager`: without the manage-access permission", body = ErrorBody)))]
pub async fn summary(
    State(state): State<AppState>,
    Manager(admin): Manager,
) -> ApiResult<axum::Json<AccessSummary>> {
    let org = admin.org_id;
    let reach = reach_of(&admin);
    let now = OffsetDateTime::now_utc();
    let c = state
        .db
        .run(move |s| s.summary(org, reach.as_deref(), now))
        .await?;
    Ok(axum::Json(AccessSummary {
        total_users: c.total_users,
        team_members: c.team_members,
        residents: c.residents,
        pending_invites: c.pending_invites,
        expired_invites: c.expired_invites,
    }))
}

/// `GET /api/v1/users` query: `?type=&status=&q=&sort=&order=&limit=&after=`. An empty
/// value is the same as none.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct UserListParams {
    /// `team_member` or `resident`.
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = user_type_filter)]
    pub user_type: Option<String>,
    /// `pending` (invitation still valid), `expired`, `active` or `revoked`.
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
    /// Case-insensitive substring of name, username, invited email or registered email.
    pub q: Option<String>,
    /// `week`: users whose access ends within the next 7 days.
    #[param(schema_with = ending_filter)]
    pub ending: Option<String>,
    /// `name`, `type`, `status`, `access_type`, `email` or `invited_at` (default).
    #[param(schema_with = sort_column)]
    pub sort: Option<String>,
    /// `asc` or `desc` (default `desc`).
    #[param(schema_with = sort_order)]
    pub order: Option<String>,
    /// Page size: default 100; 0 counts as 1 and anything over 200 as 200.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// The `next` value of the previous page (same filters and sort). Opaque; its shape is
    /// hex of the last row's sort key, U+001F and its id.
    #[param(
        pattern = r"^((?:[2-7][0-9a-fA-F])*1[fF](?:3[0-9]|[46][1-6]){8}(?:2[dD](?:3[0-9]|[46][1-6]){4}){3}2[dD](?:3[0-9]|[46][1-6]){12})?$"
    )]
    pub after: Option<String>,
}

/// A string query parameter taking one of `values`, or empty for none.
fn one_of(values: &[&str]) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(std::iter::once("").chain(values.iter().copied())))
        .build()
}

fn user_type_filter() -> utoipa::openapi::schema::Object {
    one_of(&["team_member", "resident"])
}

fn status_filter() -> utoipa::openapi::schema::Object {
    one_of(&["pending", "expired", "active", "revoked"])
}

fn ending_filter() -> utoipa::openapi::schema::Object {
    one_of(&["week"])
}

fn sort_column() -> utoipa::openapi::schema::Object {
    one_of(&[
        "name",
        "type",
        "status",
        "access_type",
        "email",
        "invited_at",
    ])
}

fn sort_order() -> utoipa::openapi::schema::Object {
    one_of(&["asc", "desc"])
}

/// A page of the Manage Access table, with the number of rows matching the filters.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserListPage {
    pub items: Vec<UserSummary>,
    pub next: Option<String>,
    pub total: u64,
}

/// An unknown value of an enumerated parameter is refused rather than ignored.
fn known<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> ApiResult<Option<T>> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| parse(v).ok_or_else(|| ApiError::bad_request(format!("Unknown {name}: {v}."))))
        .transpose()
}

impl UserListParams {
    fn query(&self) -> ApiResult<UserQuery> {
        let descending = match self.order.as_deref().filter(|o| !o.is_empty()) {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(o) => return Err(ApiError::bad_request(format!("Unknown order: {o}."))),
        };
        let after = self
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| Cursor::decode(a).ok_or_else(|| ApiError::bad_request("Invalid cursor.")))
            .transpose()?;
        Ok(UserQuery {
            user_type: known("type", self.user_type.as_deref(), UserType::parse)?,
            status: known("status", self.status.as_deref(), AccountStatus::parse)?,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            ending_between: match self.ending.as_deref().filter(|e| !e.is_empty()) {
                None => None,
                Some("week") => {
                    let now = OffsetDateTime::now_utc();
                    Some((now, now + time::Duration::days(7)))
                }
                Some(e) => return Err(ApiError::bad_request(format!("Unknown ending: {e}."))),
            },
            sort: known("sort", self.sort.as_deref(), UserSort::parse)?.unwrap_or_default(),
            descending,
            after,
            limit: page_size(self.limit, 200),
            within_units: None,
            now: None,
        })
    }
}

/// The Manage Access table: filters, search, sort and keyset pagination.
#[utoipa::path(get, path = "/api/v1/users", tag = "manage access", security(("bearer" = [])),
    params(UserListParams), responses((status = 200, body = UserListPage),
        (status = 400, description = "`bad_request`: an unknown type, status, sort or order, or a cursor this server did not give", body = ErrorBody),
        (status = 403, description = "`not_manager`: without the manage-access permission", body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Query(p): Query<UserListParams>,
) -> ApiResult<axum::response::Response> {
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    let query = UserQuery {
        within_units: reach_of(&admin),
        now: Some(now),
        ..p.query()?
    };
    // Inline when the total is remembered and the page reads few rows; otherwise on the
    // blocking pool (a count can take tens of milliseconds).
    let quick = state.db.store().user_page_is_quick(org, &query);
    let page = state
        .db
        .read_when(quick, move |s| s.user_page(org, &query))
        .await?;
    let answer = UserListPage {
        items: page.users.iter().map(|u| summary_of(u, now)).collect(),
        next: page.next.map(|c| c.encode()),
        total: page.total,
    };
    page_answer(&answer, page.users.len())
}

/// A user's details: type, status, emails, invitation, permissions, access, passcodes.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "manage access", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = UserDetail),
        (status = 403, description = "`not_manager`: without the manage-access permission", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody)))]
pub async fn user_detail(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
) -> ApiResult<axum::Json<UserDetail>> {
    visible(&state, &admin, id).await?;
    Ok(axum::Json(detail(&state, admin.org_id, id).await?))
}

/// A [`managed`] user whose access is not revoked.
async fn editable(state: &AppState, admin: &UserRecord, id: Uuid) -> ApiResult<UserRecord> {
    let user = managed(state, admin, id).await?;
    if user.status == UserStatus::Revoked {
        return Err(ApiError::conflict("This user's access has been revoked."));
    }
    Ok(user)
}

/// Update a team member's permissions; applies to their very next request.
#[utoipa::path(put, path = "/api/v1/users/{id}/permissions", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = PermissionsUpdate,
    responses((status = 200, body = UserDetail),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions; `missing_permission`: granting one you do not hold", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the user's access is revoked, or this would leave nobody who can manage lock access", body = ErrorBody),
        (status = 422, description = "`validation_failed`: permissions for a resident", body = ErrorBody)))]
pub async fn set_permissions(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
    Json(req): Json<PermissionsUpdate>,
) -> ApiResult<axum::Json<UserDetail>> {
    let user = editable(&state, &admin, id).await?;
    let perms = dedup_permissions(req.permissions);
    if user.user_type == UserType::Resident && !perms.is_empty() {
        return Err(ApiError::validation("Residents hold no permissions."));
    }
    within_reach(&admin.actor(), &user.access, &perms)?;
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    state
        .db
        .run(move |s| s.set_permissions(org, id, &perms, now))
        .await?;
    Ok(axum::Json(detail(&state, org, id).await?))
}

/// Set when a user's access holds: start (move-in, a contract's start), end (move-out, the
/// contract's end) and optional weekly hours; every part optional, the whole period replaced.
/// Lock actions, BLE credentials and the personal passcode at the door follow it.
#[utoipa::path(put, path = "/api/v1/users/{id}/period", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = PeriodUpdate,
    responses((status = 200, body = UserDetail),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the user's access is revoked", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an end before the start, impossible weekly hours", body = ErrorBody)))]
pub async fn set_period(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
    Json(req): Json<PeriodUpdate>,
) -> ApiResult<axum::Json<UserDetail>> {
    editable(&state, &admin, id).await?;
    let period = clean_period(req.period)?;
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    state
        .db
        .run(move |s| s.set_period(org, id, &period, now))
        .await?;
    Ok(axum::Json(detail(&state, org, id).await?))
}

/// Change a user's access type and units. Body: the invitation's `access` shape, either
/// bare (`{"type": "units", "unit_ids": [...]}`) or wrapped (`{"access": {...}}`).
#[utoipa::path(put, path = "/api/v1/users/{id}/access", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = Access,
    responses((status = 200, body = UserDetail),
        (status = 400, description = "`bad_request`: not an access scope", body = ErrorBody),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions; `out_of_scope`: units beyond your own", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the user's access is revoked", body = ErrorBody),
        (status = 422, description = "`validation_failed`: all locks for a resident, unknown or no units", body = ErrorBody)))]
pub async fn set_access(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<axum::Json<UserDetail>> {
    let raw = match body.get("access") {
        Some(inner) => inner.clone(),
        None => body,
    };
    let access: Access = serde_json::from_value(raw)
        .map_err(|e| ApiError::bad_request(format!("Invalid access: {e}")))?;
    let user = editable(&state, &admin, id).await?;
    let org = admin.org_id;
    let access = check_access(&state, org, user.user_type, access).await?;
    within_reach(&admin.actor(), &access, &user.permissions)?;
    let now = OffsetDateTime::now_utc();
    state
        .db
        .run(move |s| s.set_access(org, id, &access, now))
        .await?;
    Ok(axum::Json(detail(&state, org, id).await?))
}

/// Renew one passcode: the user's passcode on that lock is replaced by a new one (say, it
/// was seen by someone else). The old one leaves the lock with the next contact of any
/// phone, the new one is installed then; the user's other passcodes stay.
#[utoipa::path(post, path = "/api/v1/users/{id}/passcodes/{lock_id}/renew", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("lock_id" = Uuid, Path)),
    responses((status = 200, body = UserDetail),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope, or no passcode of theirs on that lock", body = ErrorBody),
        (status = 409, description = "`conflict`: the user's access is revoked", body = ErrorBody)))]
pub async fn renew_passcode(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
    LockId(lock_id): LockId,
) -> ApiResult<axum::Json<UserDetail>> {
    editable(&state, &admin, id).await?;
    let org = admin.org_id;
    let now = OffsetDateTime::now_utc();
    state
        .db
        .run(move |s| s.renew_passcode(org, id, lock_id, now))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("Passcode"),
            other => other.into(),
        })?;
    Ok(axum::Json(detail(&state, org, id).await?))
}

/// Revoke access: every session of the user dies at once, passcodes are removed.
#[utoipa::path(post, path = "/api/v1/users/{id}/revoke", tag = "manage access",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDetail),
        (status = 403, description = "`not_manager`: without the manage-access permission; `forbidden`: yourself, or a user beyond your permissions", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in your scope", body = ErrorBody),
        (status = 409, description = "`conflict`: the last user who can manage lock access", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Manager(admin): Manager,
    Id(id): Id,
) -> ApiResult<axum::Json<UserDetail>> {
    let org = admin.org_id;
    managed(&state, &admin, id).await?;
    let now = OffsetDateTime::now_utc();
    state.db.run(move |s| s.revoke_user(org, id, now)).await?;
    Ok(axum::Json(detail(&state, org, id).await?))
}

/// The mail and SMS the server sent or would send, newest first.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "manage access", security(("bearer" = [])),
    params(SeqListParams), responses((status = 200, body = Page<OutboxMessage>),
        (status = 400, description = "`bad_request`: a cursor that is not a message sequence number", body = ErrorBody),
        (status = 403, description = "`not_manager`: without the manage-access permission for all locks", body = ErrorBody)))]
pub async fn outbox(
    State(state): State<AppState>,
    OrgManager(admin): OrgManager,
    Query(p): Query<SeqListParams>,
) -> ApiResult<axum::Json<Page<OutboxMessage>>> {
    let org = admin.org_id;
    let (before, limit) = (p.after_seq()?, p.limit());
    let rows = state
        .db
        .run(move |s| s.list_outbox(org, before, limit))
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|m| m.seq.to_string()))
        .flatten();
    Ok(axum::Json(Page {
        items: rows
            .into_iter()
            .map(|m| OutboxMessage {
                id: m.id,
                channel: m.channel,
                to: m.to,
                subject: m.subject,
                body: m.body,
                created_at: m.created_at,
                delivery: m.delivery,
                delivery_error: m.delivery_error,
            })
            .collect(),
        next,
    }))
}
