//! The OpenAPI document, generated from the handlers' annotations and the wire types.
//!
//! Each handler documents the answers of its own rules; [`SharedAnswers`] adds those that
//! the shared extractors and middleware give (`crate::api`'s `Auth`, `Json`, `Query` and
//! `Id`, the body limit, `Idempotency-Key`, a failure), so no operation can leave them out.
//! `server/tests/openapi_answers.rs` holds the server's real answers against the document.

use std::collections::BTreeMap;

use access_domain::api::ErrorBody;
use axum::http::StatusCode;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api::{auth, ble, door, locks, manage, offline_codes};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Why each shared answer comes, by status.
const UNAUTHENTICATED: &str = "`unauthenticated`: no live session (send `Authorization: Bearer \
    <token>` from `POST /api/v1/sessions`); `revoked`: the user's access was revoked";
const BAD_BODY: &str =
    "`bad_request`: the JSON body does not parse or does not fit the request schema";
const BAD_QUERY: &str = "`bad_request`: the query string does not fit its parameters";
const BAD_KEY: &str = "`bad_request`: an `Idempotency-Key` that is empty or over 200 characters";
const NOT_FOUND: &str = "`not_found`: no such resource in the organization (an id that is \
    not a UUID is unknown too)";
const KEY_RUNNING: &str = "`conflict`: a request with this `Idempotency-Key` is still running";
const TOO_LARGE: &str =
    "`payload_too_large`: the body is over the server's limit (64 KiB by default)";
const NOT_JSON: &str = "`bad_request`: the body is not sent as `application/json`";
const KEY_REUSED: &str =
    "`idempotency_key_reused`: this `Idempotency-Key` came with a different request";
const KEYS_EXHAUSTED: &str = "`too_many_attempts`: over 1,000 `Idempotency-Key`s from this \
    user in 24 hours; send the request without one or later";
const INTERNAL: &str = "`internal`: a failure on the server; try again";

/// Adds to every operation the answers the shared extractors and middleware give, from
/// what the operation takes: a session (401), a JSON body (400, 413, 415), query
/// parameters (400), path ids (404), and for a signed-in POST, PUT or PATCH the
/// `Idempotency-Key` header with its answers (400, 409, 413, 422, 429); 500 anywhere. Each is
/// an [`ErrorBody`]. A status the handler documents keeps its description, followed by
/// the shared one. Responses still without a description get the status's reason phrase.
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for (method, op) in operations(item) {
                add_shared_answers(method, op);
            }
        }
    }
}

/// The operations of a path item with their methods.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn add_shared_answers(method: &str, op: &mut Operation) {
    let has = |op: &Operation, place: ParameterIn| {
        op.parameters.iter().flatten().any(
            |p| matches!(p, RefOr::T(Parameter { parameter_in, .. }) if *parameter_in == place),
        )
    };
    let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let body = op.request_body.is_some();
    let keyed = signed_in && matches!(method, "post" | "put" | "patch");
    let mut shared: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    let mut add = |status: u16, why: &'static str| shared.entry(status).or_default().push(why);
    if signed_in {
        add(401, UNAUTHENTICATED);
    }
    if body {
        add(400, BAD_BODY);
        add(415, NOT_JSON);
    }
    if has(op, ParameterIn::Query) {
        add(400, BAD_QUERY);
    }
    if has(op, ParameterIn::Path) {
        add(404, NOT_FOUND);
    }
    if body || keyed {
        add(413, TOO_LARGE);
    }
    if keyed {
        add(400, BAD_KEY);
        add(409, KEY_RUNNING);
        add(422, KEY_REUSED);
        add(429, KEYS_EXHAUSTED);
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::T(idempotency_key()));
    }
    add(500, INTERNAL);
    let responses = &mut op.responses.responses;
    for (status, whys) in shared {
        let why = whys.join("; ");
        let entry = responses.entry(status.to_string()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                            .build(),
                    )
                    .build(),
            )
        });
        if let RefOr::T(r) = entry {
            r.description = match r.description.as_str() {
                "" => why,
                own => format!("{own}; {why}"),
            };
        }
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(r) = response
            && r.description.is_empty()
        {
            r.description = status
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("The answer")
                .to_string();
        }
    }
}

/// The optional `Idempotency-Key` header of signed-in POST, PUT and PATCH requests.
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "The same key from the same user gets the first request's stored answer (with \
             `Idempotent-Replayed: true`) and has no second effect.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(200)),
        ))
        .build()
}

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "access-server", description = "Lock access platform: the Manage Access API."),
    modifiers(&BearerAuth, &SharedAnswers),
    paths(
        auth::login, auth::logout, auth::me_handler, auth::register, auth::verify,
        auth::password_reset, auth::password_reset_confirm, manage::reinstate,
        manage::invite, manage::resend, manage::summary, manage::list_users, manage::user_detail,
        manage::set_permissions, manage::set_access, manage::set_period, manage::revoke,
        manage::renew_passcode, manage::outbox,
        locks::create_property, locks::list_properties, locks::create_unit, locks::public_key,
        ble::register_lock, locks::list_locks, locks::get_lock, locks::rename, locks::set_mode,
        locks::reset_codes, locks::master_code, locks::list_logs, locks::upload_logs,
        offline_codes::give_access, locks::list_access_codes,
        offline_codes::list_offline_codes, offline_codes::revoke, ble::credentials,
        ble::set_identity, ble::revocations, door::door_state, door::contact,
        door::door_update,
        locks::sync, serve,
    )
)]
pub struct ApiDoc;

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn serve() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
