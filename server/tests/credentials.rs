//! BLE support on the server: registration of a lock paired on site (with what to install),
//! its identity key, signed credentials checked as a lock checks them, the revocation list
//! and the material of a code reset over BLE.

mod common;

use access_domain::{Permission, UserType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::credential::{self, UserClass, rights_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use common::Api;

fn b64(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().expect("a base64 string"))
        .expect("base64")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Registers a lock as the pairing phone does and stores its identity key; returns the
/// registration answer.
async fn pair(api: &Api, token: &str, unit: &str, key: [u8; 32]) -> Value {
    let reg = api
        .post(
            "/api/v1/locks",
            token,
            json!({"unit_id": unit, "name": "Front door"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let id = reg.body["id"].as_str().unwrap();
    let done = api
        .put(
            &format!("/api/v1/locks/{id}/identity"),
            token,
            json!({"identity_public_key": STANDARD.encode(key), "firmware": "vl 1.0"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["paired"], true);
    reg.body
}

/// Asks for a credential and checks it as the lock would; returns (claims, response).
async fn credential_for(
    api: &Api,
    token: &str,
    lock: &str,
    org_key: &[u8],
) -> (credential::Claims, Value) {
    let a = api
        .post(
            &format!("/api/v1/locks/{lock}/credentials"),
            token,
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let bytes = b64(&a.body["credential"]);
    let lock_id = Uuid::parse_str(lock).unwrap();
    let claims = credential::verify(org_key, &bytes, lock_id, now()).expect("verifies");
    (claims, a.body)
}

#[tokio::test]
async fn registration_returns_the_org_key_and_the_identity_is_set_once() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101"]).await;
    let reg = api
        .post(
            "/api/v1/locks",
            &admin,
            json!({"unit_id": units[0], "name": "Front door"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let id = reg.body["id"].as_str().unwrap().to_string();
    assert_eq!(reg.body["paired"], false);
    let org = api.get("/api/v1/organization/public-key", &admin).await;
    assert_eq!(reg.body["org_public_key"], org.body["public_key"]);
    // What the pairing phone installs holds no secret of the lock.
    assert!(reg.body.get("master_code").is_none() && reg.body.get("code_secret").is_none());

    // No credential before the lock's key is known.
    let early = api
        .post(
            &format!("/api/v1/locks/{id}/credentials"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{:?}", early.body);

    let path = format!("/api/v1/locks/{id}/identity");
    let bad = api
        .put(&path, &admin, json!({"identity_public_key": "c2hvcnQ="}))
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.body
    );
    let key = STANDARD.encode([9u8; 32]);
    let ok = api
        .put(&path, &admin, json!({"identity_public_key": key}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["identity_public_key"], key.as_str());
    // A second pairing cannot replace the key.
    let again = api
        .put(
            &path,
            &admin,
            json!({"identity_public_key": STANDARD.encode([1u8; 32])}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    let lock = api.get(&format!("/api/v1/locks/{id}"), &admin).await;
    assert_eq!(lock.body["identity_public_key"], key.as_str());
}

/// A pairing retried after a wrong code reuses the first registration: the identity step
/// names the lock as the attempt that succeeded, and never renames a paired lock.
#[tokio::test]
async fn the_identity_step_names_the_lock_as_the_pairing_that_worked() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101"]).await;
    let reg = api
        .post(
            "/api/v1/locks",
            &admin,
            json!({"unit_id": units[0], "name": "Frnot door"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let id = reg.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/locks/{id}/identity");
    let key = STANDARD.encode([7u8; 32]);

    // A bad name is refused before the identity is stored.
    let bad = api
        .put(
            &path,
            &admin,
            json!({"identity_public_key": key, "name": "  "}),
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.body
    );
    let lock = api.get(&format!("/api/v1/locks/{id}"), &admin).await;
    assert_eq!(lock.body["paired"], false);

    let ok = api
        .put(
            &path,
            &admin,
            json!({"identity_public_key": key, "name": " Front door "}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["paired"], true);
    assert_eq!(ok.body["name"], "Front door");

    let again = api
        .put(
            &path,
            &admin,
            json!({"identity_public_key": STANDARD.encode([1u8; 32]), "name": "Hijack"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    let lock = api.get(&format!("/api/v1/locks/{id}"), &admin).await;
    assert_eq!(lock.body["name"], "Front door");
}

#[tokio::test]
async fn credentials_are_signed_for_the_caller_with_their_rights_and_scope() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101", "102"]).await;
    let reg = pair(api, &admin, &units[0], [4; 32]).await;
    let lock = reg["id"].as_str().unwrap();
    let org_key = b64(&reg["org_public_key"]);

    let (agent_id, agent) = api
        .team_member(
            &admin,
            "agent@example.test",
            json!(["change_modes"]),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    let (claims, body) = credential_for(api, &agent, lock, &org_key).await;
    assert_eq!(claims.user_id.to_string(), agent_id);
    assert_eq!(claims.class, UserClass::Staff);
    assert_eq!(
        claims.rights,
        rights_for(UserType::TeamMember, &[Permission::ChangeModes])
    );
    assert_eq!(
        claims.not_after - claims.not_before,
        credential::DEFAULT_LIFETIME_SECS
    );
    assert_eq!(body["lock_public_key"], STANDARD.encode([4u8; 32]).as_str());
    // Each credential has its own serial.
    let (second, _) = credential_for(api, &agent, lock, &org_key).await;
    assert!(second.serial > claims.serial);

    // A resident of the unit gets a resident credential.
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "res@example.test",
               "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    let phone = common::next_phone();
    let resident = api
        .register(
            &admin,
            "res@example.test",
            "res@example.test",
            &phone,
            "password-123",
        )
        .await;
    let (rc, _) = credential_for(api, &resident, lock, &org_key).await;
    assert_eq!(rc.class, UserClass::Resident);
    assert_eq!(rc.rights, rights_for(UserType::Resident, &[]));

    // Someone whose scope is another unit gets nothing.
    let (_, other) = api
        .team_member(
            &admin,
            "other@example.test",
            json!(["change_modes", "reset_codes"]),
            json!({"type": "units", "unit_ids": [units[1]]}),
        )
        .await;
    let refused = api
        .post(
            &format!("/api/v1/locks/{lock}/credentials"),
            &other,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
}

#[tokio::test]
async fn the_lifetime_comes_from_the_configuration() {
    let t =
        common::start_with(|c| c.credential_lifetime = std::time::Duration::from_secs(3600)).await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101"]).await;
    let reg = pair(api, &admin, &units[0], [4; 32]).await;
    let (claims, body) = credential_for(
        api,
        &admin,
        reg["id"].as_str().unwrap(),
        &b64(&reg["org_public_key"]),
    )
    .await;
    assert_eq!(claims.not_after - claims.not_before, 3600);
    let expires = time::OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires.unix_timestamp() as u64, claims.not_after);
}

#[tokio::test]
async fn revoked_and_demoted_users_credentials_are_listed_until_they_expire() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101"]).await;
    let reg = pair(api, &admin, &units[0], [4; 32]).await;
    let lock = reg["id"].as_str().unwrap();
    let org_key = b64(&reg["org_public_key"]);
    let scope = json!({"type": "units", "unit_ids": [units[0]]});
    let (vendor_id, vendor) = api
        .team_member(&admin, "vendor@example.test", json!([]), scope.clone())
        .await;
    let (lead_id, lead) = api
        .team_member(&admin, "lead@example.test", json!(["rename_locks"]), scope)
        .await;
    let (vc, _) = credential_for(api, &vendor, lock, &org_key).await;
    let (lc, _) = credential_for(api, &lead, lock, &org_key).await;
    let (ac, _) = credential_for(api, &admin, lock, &org_key).await;

    let path = format!("/api/v1/locks/{lock}/revocations");
    let list = api.get(&path, &admin).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["revoked"], json!([]));

    let r = api
        .post(
            &format!("/api/v1/users/{vendor_id}/revoke"),
            &admin,
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    // Losing a permission the credential carries revokes it too.
    let p = api
        .put(
            &format!("/api/v1/users/{lead_id}/permissions"),
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert!(p.status.is_success(), "{:?}", p.body);

    let list = api.get(&path, &lead).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let revoked: Vec<(u64, u64)> = list.body["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["serial"].as_u64().unwrap(),
                e["expires_at"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        revoked,
        vec![(vc.serial, vc.not_after), (lc.serial, lc.not_after)]
    );
    assert!(!revoked.iter().any(|(s, _)| *s == ac.serial));
    // The revoked user has no session any more.
    let gone = api.get(&path, &vendor).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{:?}", gone.body);
}

#[tokio::test]
async fn a_reset_codes_holder_resets_and_pairs_without_reading_a_secret() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["101", "102"]).await;
    let (_, tech) = api
        .team_member(
            &admin,
            "tech@example.test",
            json!(["reset_codes"]),
            json!({"type": "units", "unit_ids": [units[0], units[1]]}),
        )
        .await;
    // Registering a lock to pair it gives the organization's public key, nothing secret.
    let reg = api
        .post(
            "/api/v1/locks",
            &tech,
            json!({"unit_id": units[1], "name": "Back door"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let keys: Vec<&String> = reg.body.as_object().unwrap().keys().collect();
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("master") || k.contains("secret")),
        "{keys:?}"
    );

    let reg = pair(api, &admin, &units[0], [4; 32]).await;
    let lock = reg["id"].as_str().unwrap();
    let master = |token: String| async move {
        api.get(&format!("/api/v1/locks/{lock}/master-code"), &token)
            .await
    };
    let before = master(admin.clone()).await.body["code"].clone();
    // The material of a reset over BLE is no longer served to anyone.
    let install = api
        .get(&format!("/api/v1/locks/{lock}/code-install"), &admin)
        .await;
    assert_eq!(install.status, StatusCode::NOT_FOUND, "{:?}", install.body);
    let reset = api
        .post(
            &format!("/api/v1/locks/{lock}/reset-codes"),
            &tech,
            json!({}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{:?}", reset.body);
    assert!(reset.body.get("master_code").is_none());
    let refused = master(tech.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let after = master(admin.clone()).await.body["code"].clone();
    assert_ne!(after, before);
    // The update the technician's phone carries holds the new master code only sealed.
    let update = api
        .get(&format!("/api/v1/locks/{lock}/door-update"), &tech)
        .await;
    assert_eq!(update.status, StatusCode::OK, "{:?}", update.body);
    let bytes = b64(&update.body["updates"][0]);
    let digits = after.as_str().unwrap().as_bytes();
    assert!(!bytes.windows(digits.len()).any(|w| w == digits));
}
