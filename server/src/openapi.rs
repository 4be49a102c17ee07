//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "access-server", description = "Lock access platform: the Manage Access API."),
    modifiers(&BearerAuth),
    paths(
        auth::login, auth::logout, auth::me_handler, auth::register, auth::verify,
        manage::invite, manage::resend, manage::summary, manage::list_users, manage::user_detail,
        manage::set_permissions, manage::set_access, manage::revoke, manage::outbox,
        locks::create_property, locks::list_properties, locks::create_unit, locks::public_key,
        ble::register_lock, locks::list_locks, locks::get_lock, locks::rename, locks::set_mode,
        locks::reset_codes, locks::master_code, locks::list_logs, locks::upload_logs,
        offline_codes::give_access, locks::list_access_codes, locks::code_state,
        offline_codes::list_offline_codes, offline_codes::revoke, ble::credentials,
        ble::set_identity, ble::revocations, ble::code_install, door::door_state, door::contact,
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
