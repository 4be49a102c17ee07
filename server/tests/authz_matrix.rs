//! The authorization matrix: each gated lock endpoint against each of the six lock permissions,
//! units scope versus all locks, residents, pending and revoked users, the endpoints that
//! need the right to manage lock access, and the wall between organizations. In-process server.

mod common;

use access_server::bootstrap::create_organization;
use access_server::secrets::PasswordCost;
use common::{Answer, Api};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PERMS: [&str; 6] = [
    "give_access",
    "reset_codes",
    "view_logs",
    "rename_locks",
    "change_modes",
    "view_master_code",
];

/// A gated lock endpoint and the permission it needs.
struct Gated {
    perm: &'static str,
    method: Method,
    suffix: &'static str,
    body: Option<Value>,
}

fn gated() -> Vec<Gated> {
    vec![
        Gated {
            perm: "rename_locks",
            method: Method::PATCH,
            suffix: "",
            body: Some(json!({"name": "Renamed"})),
        },
        Gated {
            perm: "change_modes",
            method: Method::PUT,
            suffix: "/mode",
            body: Some(json!({"mode": "maintenance"})),
        },
        Gated {
            perm: "reset_codes",
            method: Method::POST,
            suffix: "/reset-codes",
            body: None,
        },
        Gated {
            perm: "view_master_code",
            method: Method::GET,
            suffix: "/master-code",
            body: None,
        },
        Gated {
            perm: "view_logs",
            method: Method::GET,
            suffix: "/logs",
            body: None,
        },
        Gated {
            perm: "give_access",
            method: Method::POST,
            suffix: "/access-codes",
            body: Some(json!({"kind": "permanent", "label": "Cleaner"})),
        },
    ]
}

async fn hit(api: &Api, token: &str, g: &Gated, lock: &str) -> Answer {
    api.call(
        g.method.clone(),
        &format!("/api/v1/locks/{lock}{}", g.suffix),
        Some(token),
        g.body.clone(),
    )
    .await
}

fn all_but(p: &str) -> Value {
    json!(PERMS.iter().filter(|x| **x != p).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_permission_gates_its_endpoint_and_only_it() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["1", "2"]).await;
    let lock = api.lock(&admin, &units[0], "Oak 1").await;
    let all = json!({"type": "all_locks"});
    for (i, g) in gated().iter().enumerate() {
        let (_, without) = api
            .team_member(
                &admin,
                &format!("without{i}@oak.example"),
                all_but(g.perm),
                all.clone(),
            )
            .await;
        let (_, with) = api
            .team_member(
                &admin,
                &format!("with{i}@oak.example"),
                json!([g.perm]),
                all.clone(),
            )
            .await;
        let refused = hit(api, &without, g, &lock).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{} without: {:?}",
            g.perm,
            refused.body
        );
        assert_eq!(refused.code(), "missing_permission");
        assert!(refused.message().contains("Can "), "{}", refused.message());
        let allowed = hit(api, &with, g, &lock).await;
        assert!(
            allowed.status.is_success(),
            "{} with: {:?}",
            g.perm,
            allowed.body
        );
        // The one permission does not open the other endpoints.
        for other in gated().iter().filter(|o| o.perm != g.perm) {
            let a = hit(api, &with, other, &lock).await;
            assert_eq!(
                a.code(),
                "missing_permission",
                "{} using {}",
                other.perm,
                g.perm
            );
        }
    }
    // Every allowed action is in the server's audit log, with who did it.
    let logs = api.get(&format!("/api/v1/locks/{lock}/logs"), &admin).await;
    let actions: Vec<&str> = logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "server" && e["user_id"].is_string())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "rename",
        "mode_change",
        "reset_codes",
        "view_master_code",
        "give_access",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_scope_versus_all_locks() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Elm", &["A", "B"]).await;
    let in_scope = api.lock(&admin, &units[0], "Elm A").await;
    let out_scope = api.lock(&admin, &units[1], "Elm B").await;
    let (_, scoped) = api
        .team_member(
            &admin,
            "scoped@elm.example",
            json!(PERMS),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    let (_, everywhere) = api
        .team_member(
            &admin,
            "ops@elm.example",
            json!(PERMS),
            json!({"type": "all_locks"}),
        )
        .await;
    for g in gated() {
        assert!(
            hit(api, &scoped, &g, &in_scope).await.status.is_success(),
            "{}",
            g.perm
        );
        let out = hit(api, &scoped, &g, &out_scope).await;
        assert_eq!(
            (out.status, out.code()),
            (StatusCode::FORBIDDEN, "out_of_scope"),
            "{}",
            g.perm
        );
        assert!(
            hit(api, &everywhere, &g, &out_scope)
                .await
                .status
                .is_success(),
            "{}",
            g.perm
        );
    }
    let get = api
        .get(&format!("/api/v1/locks/{out_scope}"), &scoped)
        .await;
    assert_eq!(get.code(), "out_of_scope");
    let list = api.get("/api/v1/locks", &scoped).await;
    let ids: Vec<_> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(in_scope)]);
    assert_eq!(
        api.get("/api/v1/locks", &everywhere).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Pairing: a team member with reset_codes may register a lock in scope only.
    let pair = api
        .post(
            "/api/v1/locks",
            &scoped,
            json!({"unit_id": units[0], "name": "Paired"}),
        )
        .await;
    assert_eq!(pair.status, StatusCode::CREATED, "{:?}", pair.body);
    let pair_out = api
        .post(
            "/api/v1/locks",
            &scoped,
            json!({"unit_id": units[1], "name": "Nope"}),
        )
        .await;
    assert_eq!(pair_out.code(), "out_of_scope");

    // Narrowing the scope applies to the very next request.
    let ua = api
        .put(
            &format!(
                "/api/v1/users/{}/access",
                api.get("/api/v1/me", &everywhere).await.body["id"]
                    .as_str()
                    .unwrap()
            ),
            &admin,
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    assert_eq!(ua.status, StatusCode::OK, "{:?}", ua.body);
    let now_out = api
        .get(&format!("/api/v1/locks/{out_scope}"), &everywhere)
        .await;
    assert_eq!(now_out.code(), "out_of_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_pending_and_revoked_users_are_refused() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Pine", &["1", "2"]).await;
    let own = api.lock(&admin, &units[0], "Pine 1").await;
    let other = api.lock(&admin, &units[1], "Pine 2").await;

    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "res@pine.example",
                              "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    let resident = api
        .register(
            &admin,
            "res@pine.example",
            "res@pine.example",
            &common::next_phone(),
            "resident-pass",
        )
        .await;
    for g in gated() {
        let a = hit(api, &resident, &g, &own).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{}",
            g.perm
        );
    }
    assert_eq!(
        api.get(&format!("/api/v1/locks/{own}"), &resident)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.get(&format!("/api/v1/locks/{other}"), &resident)
            .await
            .code(),
        "out_of_scope"
    );
    // Residents take units access and no permissions.
    let bad = api
        .post("/api/v1/invitations", &admin,
              json!({"user_type": "resident", "email": "r2@pine.example", "permissions": ["view_logs"],
                     "access": {"type": "units", "unit_ids": [units[0]]}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = api
        .post("/api/v1/invitations", &admin,
              json!({"user_type": "resident", "email": "r2@pine.example", "access": {"type": "all_locks"}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Pending: invited but not registered, there is no way in.
    api.invite(
        &admin,
        json!({"user_type": "team_member", "email": "pending@pine.example",
                              "permissions": PERMS, "access": {"type": "all_locks"}}),
    )
    .await;
    let login = api
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "pending@pine.example", "password": ""})),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);

    // Revoked: every gated endpoint answers 401 revoked on the next request.
    let (rid, revoked) = api
        .team_member(
            &admin,
            "gone@pine.example",
            json!(PERMS),
            json!({"type": "all_locks"}),
        )
        .await;
    assert!(
        hit(api, &revoked, &gated()[0], &own)
            .await
            .status
            .is_success()
    );
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{rid}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for g in gated() {
        let a = hit(api, &revoked, &g, &own).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "revoked"),
            "{}",
            g.perm
        );
    }
    for path in ["/api/v1/me", "/api/v1/locks", "/api/v1/sync"] {
        assert_eq!(api.get(path, &revoked).await.code(), "revoked", "{path}");
    }
    // Changing a revoked user is refused too.
    let p = api
        .put(
            &format!("/api/v1/users/{rid}/permissions"),
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_endpoints_refuse_team_members_without_the_right() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (pid, units) = api.property(&admin, "Cedar", &["1"]).await;
    let (uid, staff) = api
        .team_member(
            &admin,
            "lead@cedar.example",
            json!(PERMS),
            json!({"type": "all_locks"}),
        )
        .await;
    let (_, nobody) = api
        .team_member(
            &admin,
            "vendor@cedar.example",
            json!([]),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/invitations".into(),
            Some(
                json!({"user_type": "resident", "email": "x@y.example", "access": {"type": "units", "unit_ids": [units[0]]}}),
            ),
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (Method::GET, format!("/api/v1/users/{uid}"), None),
        (
            Method::PUT,
            format!("/api/v1/users/{uid}/permissions"),
            Some(json!({"permissions": []})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{uid}/access"),
            Some(json!({"type": "all_locks"})),
        ),
        (Method::POST, format!("/api/v1/users/{uid}/revoke"), None),
        (
            Method::POST,
            format!("/api/v1/users/{uid}/resend-invite"),
            None,
        ),
        (Method::POST, format!("/api/v1/users/{uid}/reinstate"), None),
        (
            Method::PUT,
            format!("/api/v1/users/{uid}/period"),
            Some(json!({"period": {}})),
        ),
        (
            Method::POST,
            "/api/v1/invitations".into(),
            Some(
                json!({"user_type": "team_member", "username": "vendor", "permissions": [], "access": {"type": "units", "unit_ids": [units[0]]}}),
            ),
        ),
        (Method::GET, "/api/v1/access/summary".into(), None),
        (Method::GET, "/api/v1/outbox".into(), None),
        (
            Method::POST,
            "/api/v1/properties".into(),
            Some(json!({"name": "Mine"})),
        ),
        (
            Method::POST,
            format!("/api/v1/properties/{pid}/units"),
            Some(json!({"name": "2"})),
        ),
    ];
    for (m, path, body) in &calls {
        let a = api.call(m.clone(), path, Some(&staff), body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "not_manager"),
            "{m} {path}"
        );
        let anon = api.call(m.clone(), path, None, body.clone()).await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{m} {path}");
    }
    // Without reset_codes a team member cannot register (pair) locks.
    let l = api
        .post(
            "/api/v1/locks",
            &nobody,
            json!({"unit_id": units[0], "name": "L"}),
        )
        .await;
    assert_eq!(
        (l.status, l.code()),
        (StatusCode::FORBIDDEN, "missing_permission")
    );
    // Nothing changed: the staff member still has every permission.
    let me = api.get("/api/v1/me", &staff).await;
    assert_eq!(me.body["permissions"].as_array().unwrap().len(), 6);
    assert_eq!(
        api.get("/api/v1/properties", &admin).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organization_never_sees_another() {
    let t = common::start().await;
    let api = &t.api;
    let store = t.server.store();
    tokio::task::spawn_blocking(move || {
        create_organization(
            store.as_ref(),
            "Rival Homes",
            "boss@rival.example",
            "rival-password",
            PasswordCost {
                memory_kib: 64,
                passes: 1,
            },
        )
    })
    .await
    .unwrap()
    .unwrap();
    let admin = api.admin().await;
    let rival = api.login("boss@rival.example", "rival-password").await;
    let (_, units) = api.property(&admin, "Ours", &["1"]).await;
    let ours = api.lock(&admin, &units[0], "Our lock").await;
    let (rpid, runits) = api.property(&rival, "Theirs", &["9"]).await;
    let theirs = api.lock(&rival, &runits[0], "Their lock").await;
    let their_user = api
        .invite(
            &rival,
            json!({"user_type": "resident", "email": "t@rival.example",
                               "access": {"type": "units", "unit_ids": [runits[0]]}}),
        )
        .await;

    // Reads: not found, not listed.
    assert_eq!(
        api.get(&format!("/api/v1/locks/{theirs}"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/api/v1/users/{their_user}"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for g in gated() {
        assert_eq!(
            hit(api, &admin, &g, &theirs).await.status,
            StatusCode::NOT_FOUND,
            "{}",
            g.perm
        );
    }
    let locks = api.get("/api/v1/locks", &admin).await;
    assert_eq!(locks.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(locks.body["items"][0]["id"], ours.as_str());
    let props = api.get("/api/v1/properties", &admin).await;
    assert!(!props.body.to_string().contains("Theirs"));
    let outbox = api.get("/api/v1/outbox", &admin).await;
    assert!(!outbox.body.to_string().contains("rival.example"));
    let users = api.get("/api/v1/users", &admin).await;
    assert!(!users.body.to_string().contains("rival.example"));
    let sync = api.get("/api/v1/sync", &admin).await;
    assert!(!sync.body.to_string().contains(&theirs));
    let summary = api.get("/api/v1/access/summary", &rival).await;
    assert_eq!(summary.body["total_users"], 2);
    // Writes: their units and properties are unknown here.
    let inv = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "resident", "email": "sneak@x.example",
                     "access": {"type": "units", "unit_ids": [runits[0]]}}),
        )
        .await;
    assert_eq!(inv.status, StatusCode::UNPROCESSABLE_ENTITY);
    let lock = api
        .post(
            "/api/v1/locks",
            &admin,
            json!({"unit_id": runits[0], "name": "x"}),
        )
        .await;
    assert_eq!(lock.status, StatusCode::NOT_FOUND);
    let unit = api
        .post(
            &format!("/api/v1/properties/{rpid}/units"),
            &admin,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(unit.status, StatusCode::NOT_FOUND);
    let rev = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{their_user}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rev.status, StatusCode::NOT_FOUND);
    // The rival's data is untouched.
    let l = api.get(&format!("/api/v1/locks/{theirs}"), &rival).await;
    assert_eq!(l.body["name"], "Their lock");
    let u = api
        .get(&format!("/api/v1/users/{their_user}"), &rival)
        .await;
    assert_eq!(u.body["status"], "pending");
    // Different organizations have different signing keys.
    let k1 = api.get("/api/v1/organization/public-key", &admin).await;
    let k2 = api.get("/api/v1/organization/public-key", &rival).await;
    assert_eq!(k1.body["algorithm"], "Ed25519");
    assert_ne!(k1.body["public_key"], k2.body["public_key"]);
}
