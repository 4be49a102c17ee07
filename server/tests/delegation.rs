//! Delegated management: the right to manage lock access is held by any number of team
//! members, each within their own units and permissions; nobody raises their own rights and
//! the organization always keeps one holder. In-process server (PostgreSQL when
//! `ACCESS_TEST_DATABASE_URL` is set).

mod common;

use common::{Answer, Api};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn units(ids: &[&String]) -> Value {
    json!({"type": "units", "unit_ids": ids})
}

fn status_code(a: &Answer) -> (StatusCode, &str) {
    (a.status, a.code())
}

/// The administrator, a property with units A and B, and a manager of unit A holding
/// `manage_access`, `give_access` and `view_logs`.
struct Site {
    admin: String,
    admin_id: String,
    unit_a: String,
    unit_b: String,
    manager_id: String,
    manager: String,
}

async fn site(api: &Api) -> Site {
    let admin = api.admin().await;
    let admin_id = api.get("/api/v1/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, u) = api.property(&admin, "Birch", &["A", "B"]).await;
    let (manager_id, manager) = api
        .team_member(
            &admin,
            "unit-manager@birch.example",
            json!(["manage_access", "give_access", "view_logs"]),
            units(&[&u[0]]),
        )
        .await;
    Site {
        admin,
        admin_id,
        unit_a: u[0].clone(),
        unit_b: u[1].clone(),
        manager_id,
        manager,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_manager_invites_within_their_units_and_permissions_only() {
    let t = common::start().await;
    let api = &t.api;
    let s = site(api).await;
    let invite = |email: &str, user_type: &str, perms: Value, access: Value| json!({"user_type": user_type, "email": email, "permissions": perms, "access": access});

    let ok = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            invite(
                "res-a@birch.example",
                "resident",
                json!([]),
                units(&[&s.unit_a]),
            ),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    let agent = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            invite(
                "agent-a@birch.example",
                "team_member",
                json!(["give_access", "manage_access"]),
                units(&[&s.unit_a]),
            ),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{:?}", agent.body);

    for (body, want) in [
        (
            invite(
                "res-b@birch.example",
                "resident",
                json!([]),
                units(&[&s.unit_b]),
            ),
            (StatusCode::FORBIDDEN, "out_of_scope"),
        ),
        (
            invite(
                "res-ab@birch.example",
                "resident",
                json!([]),
                units(&[&s.unit_a, &s.unit_b]),
            ),
            (StatusCode::FORBIDDEN, "out_of_scope"),
        ),
        (
            invite(
                "lead@birch.example",
                "team_member",
                json!([]),
                json!({"type": "all_locks"}),
            ),
            (StatusCode::FORBIDDEN, "out_of_scope"),
        ),
        (
            invite(
                "modes@birch.example",
                "team_member",
                json!(["change_modes"]),
                units(&[&s.unit_a]),
            ),
            (StatusCode::FORBIDDEN, "missing_permission"),
        ),
    ] {
        let a = api
            .post("/api/v1/invitations", &s.manager, body.clone())
            .await;
        assert_eq!(status_code(&a), want, "{body}");
    }

    // The table, the counters and a profile show only the users of unit A.
    let (res_b, _) = api
        .team_member(
            &s.admin,
            "vendor-b@birch.example",
            json!([]),
            units(&[&s.unit_b]),
        )
        .await;
    let page = api.get("/api/v1/users?limit=200", &s.manager).await;
    let mut emails: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["invited_email"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        [
            "agent-a@birch.example",
            "res-a@birch.example",
            "unit-manager@birch.example"
        ]
    );
    assert_eq!(page.body["total"], 3);
    let summary = api.get("/api/v1/access/summary", &s.manager).await;
    assert_eq!(summary.body["total_users"], 3, "{:?}", summary.body);
    for hidden in [&res_b, &s.admin_id] {
        let a = api
            .get(&format!("/api/v1/users/{hidden}"), &s.manager)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{hidden}");
        let r = api
            .post(
                &format!("/api/v1/users/{hidden}/revoke"),
                &s.manager,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{hidden}");
    }
    // The whole organization's pages stay with managers of all locks.
    for (path, body) in [
        ("/api/v1/properties", Some(json!({"name": "Mine"}))),
        ("/api/v1/outbox", None),
    ] {
        let a = match body {
            Some(b) => api.post(path, &s.manager, b).await,
            None => api.get(path, &s.manager).await,
        };
        assert_eq!(
            status_code(&a),
            (StatusCode::FORBIDDEN, "not_manager"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_raises_their_own_rights_or_reaches_beyond_them() {
    let t = common::start().await;
    let api = &t.api;
    let s = site(api).await;

    // Not oneself, not even to lower one's rights.
    let own = format!("/api/v1/users/{}", s.manager_id);
    for (path, body) in [
        (
            format!("{own}/permissions"),
            json!({"permissions": ["manage_access", "give_access", "view_logs", "change_modes"]}),
        ),
        (
            format!("{own}/permissions"),
            json!({"permissions": ["view_logs"]}),
        ),
        (format!("{own}/access"), json!({"type": "all_locks"})),
    ] {
        let a = api.put(&path, &s.manager, body).await;
        assert_eq!(
            status_code(&a),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
    }
    let a = api
        .post(&format!("{own}/revoke"), &s.manager, json!({}))
        .await;
    assert_eq!(status_code(&a), (StatusCode::FORBIDDEN, "forbidden"));

    // A colleague in unit A: the manager grants what they hold, not more, and moves them
    // only within their units.
    let (colleague, colleague_token) = api
        .team_member(
            &s.admin,
            "colleague@birch.example",
            json!(["view_logs"]),
            units(&[&s.unit_a]),
        )
        .await;
    let path = format!("/api/v1/users/{colleague}");
    let grant = api
        .put(
            &format!("{path}/permissions"),
            &s.manager,
            json!({"permissions": ["view_logs", "give_access", "manage_access"]}),
        )
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.body);
    let beyond = api
        .put(
            &format!("{path}/permissions"),
            &s.manager,
            json!({"permissions": ["view_logs", "view_master_code"]}),
        )
        .await;
    assert_eq!(
        status_code(&beyond),
        (StatusCode::FORBIDDEN, "missing_permission")
    );
    let wider = api
        .put(
            &format!("{path}/access"),
            &s.manager,
            units(&[&s.unit_a, &s.unit_b]),
        )
        .await;
    assert_eq!(status_code(&wider), (StatusCode::FORBIDDEN, "out_of_scope"));
    // The colleague, now a manager of unit A too, cannot turn on the one who promoted them
    // beyond what they hold either, and sees the grant at once.
    let me = api.get("/api/v1/me", &colleague_token).await;
    assert!(
        me.body["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("manage_access"))
    );

    // Someone holding a permission the manager lacks is out of their hands.
    let (senior, _) = api
        .team_member(
            &s.admin,
            "senior@birch.example",
            json!(["view_master_code"]),
            units(&[&s.unit_a]),
        )
        .await;
    let a = api
        .post(
            &format!("/api/v1/users/{senior}/revoke"),
            &s.manager,
            json!({}),
        )
        .await;
    assert_eq!(status_code(&a), (StatusCode::FORBIDDEN, "forbidden"));
    let visible = api
        .get(&format!("/api/v1/users/{senior}"), &s.manager)
        .await;
    assert_eq!(visible.status, StatusCode::OK);

    // Nothing the refusals touched changed.
    let detail = api
        .get(&format!("/api/v1/users/{}", s.manager_id), &s.admin)
        .await;
    assert_eq!(
        detail.body["permissions"],
        json!(["give_access", "view_logs", "manage_access"])
    );
    assert_eq!(detail.body["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_manager_is_kept_even_against_parallel_requests() {
    let t = common::start().await;
    let api = &t.api;
    let s = site(api).await;
    // The only other holder of all locks: they and the administrator each try to take the
    // right from the other at the same moment, many times over.
    let all: Vec<&str> = access_domain::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    let (lead_id, lead) = api
        .team_member(
            &s.admin,
            "lead@birch.example",
            json!(all),
            json!({"type": "all_locks"}),
        )
        .await;
    // The unit manager is a holder too: revoke them first so two holders are left.
    assert_eq!(
        api.post(
            &format!("/api/v1/users/{}/revoke", s.manager_id),
            &s.admin,
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );
    let without_right = json!({"permissions": &all[..6]});
    let (lead_path, admin_path) = (
        format!("/api/v1/users/{lead_id}/permissions"),
        format!("/api/v1/users/{}/permissions", s.admin_id),
    );
    let (a, b) = tokio::join!(
        api.put(&lead_path, &s.admin, without_right.clone()),
        api.put(&admin_path, &lead, without_right.clone()),
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{:?} / {:?}", a.body, b.body);
    let refused = if a.status == StatusCode::OK { &b } else { &a };
    assert!(
        matches!(
            status_code(refused),
            (StatusCode::CONFLICT, "conflict") | (StatusCode::FORBIDDEN, "not_manager")
        ),
        "{:?}",
        refused.body
    );
    // One holder is left: it keeps the right, the other has lost it for its next request.
    let (holder, holder_id, stripped) = if a.status == StatusCode::OK {
        (&s.admin, &s.admin_id, &lead)
    } else {
        (&lead, &lead_id, &s.admin)
    };
    let detail = api.get(&format!("/api/v1/users/{holder_id}"), holder).await;
    assert!(
        detail.body["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("manage_access")),
        "{:?}",
        detail.body
    );
    let gone = api.get("/api/v1/users", stripped).await;
    assert_eq!(status_code(&gone), (StatusCode::FORBIDDEN, "not_manager"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_other_holder_in_parallel_leaves_one() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let admin_id = api.get("/api/v1/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let all: Vec<&str> = access_domain::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    let (lead_id, lead) = api
        .team_member(
            &admin,
            "lead@birch.example",
            json!(all),
            json!({"type": "all_locks"}),
        )
        .await;
    let (lead_path, admin_path) = (
        format!("/api/v1/users/{lead_id}/revoke"),
        format!("/api/v1/users/{admin_id}/revoke"),
    );
    let (a, b) = tokio::join!(
        api.post(&lead_path, &admin, json!({})),
        api.post(&admin_path, &lead, json!({})),
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{:?} / {:?}", a.body, b.body);
    // Exactly one of the two can still manage access.
    let alive = [
        api.get("/api/v1/access/summary", &admin).await.status,
        api.get("/api/v1/access/summary", &lead).await.status,
    ];
    assert_eq!(
        alive.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{alive:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_whose_access_ended_manages_nobody() {
    use time::format_description::well_known::Rfc3339;
    let t = common::start().await;
    let api = &t.api;
    let s = site(api).await;
    let ended = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap();
    let set = api
        .put(
            &format!("/api/v1/users/{}/period", s.manager_id),
            &s.admin,
            json!({"period": {"ends_at": ended.format(&Rfc3339).unwrap()}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    let refused = api.get("/api/v1/users", &s.manager).await;
    assert_eq!(
        status_code(&refused),
        (StatusCode::FORBIDDEN, "outside_access_period"),
        "{:?}",
        refused.body
    );
    assert!(refused.message().contains("ended"), "{}", refused.message());
    let invite = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            json!({"user_type": "resident", "email": "late@birch.example",
                   "access": units(&[&s.unit_a])}),
        )
        .await;
    assert_eq!(invite.status, StatusCode::FORBIDDEN);
    // Extended: they manage again.
    let set = api
        .put(
            &format!("/api/v1/users/{}/period", s.manager_id),
            &s.admin,
            json!({"period": {}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(
        api.get("/api/v1/users", &s.manager).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_manager_links_and_reinstates_only_within_their_reach() {
    let t = common::start().await;
    let api = &t.api;
    let s = site(api).await;
    let admin = s.admin.as_str();
    let username = |id: String| async move {
        let u = api.get(&format!("/api/v1/users/{id}"), admin).await;
        u.body["username"].as_str().unwrap().to_string()
    };
    let by_username = |name: &str, access: Value| {
        json!({"user_type": "team_member", "username": name,
               "permissions": ["view_logs"], "access": access})
    };
    let (agent_b, _) = api
        .team_member(
            &s.admin,
            "agent-b@birch.example",
            json!(["view_logs"]),
            units(&[&s.unit_b]),
        )
        .await;
    let agent_b_name = username(agent_b.clone()).await;

    // Their own account: no raising their own rights through a username invitation.
    let own = username(s.manager_id.clone()).await;
    let me = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            by_username(&own, units(&[&s.unit_a])),
        )
        .await;
    assert_eq!(status_code(&me), (StatusCode::FORBIDDEN, "forbidden"));
    // Access beyond their units is refused before any account is looked at.
    let beyond = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            by_username(&agent_b_name, units(&[&s.unit_b])),
        )
        .await;
    assert_eq!(
        status_code(&beyond),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );
    // Adding their own unit to someone else's account is a link.
    let linked = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            by_username(&agent_b_name, units(&[&s.unit_a])),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{:?}", linked.body);
    assert_eq!(linked.body["linked"], true);
    let agent = api.get(&format!("/api/v1/users/{agent_b}"), &s.admin).await;
    assert_eq!(
        agent.body["access"]["unit_ids"].as_array().unwrap().len(),
        2
    );

    // A revoked user beyond their reach: neither reinstated by id (not even seen) nor
    // through a username invitation, which would replace that user's access.
    assert_eq!(api.revoke(&s.admin, &agent_b).await.status, StatusCode::OK);
    let hidden = api
        .post(
            &format!("/api/v1/users/{agent_b}/reinstate"),
            &s.manager,
            json!({}),
        )
        .await;
    assert_eq!(status_code(&hidden), (StatusCode::NOT_FOUND, "not_found"));
    let through_name = api
        .post(
            "/api/v1/invitations",
            &s.manager,
            by_username(&agent_b_name, units(&[&s.unit_a])),
        )
        .await;
    assert_eq!(
        status_code(&through_name),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let still = api.get(&format!("/api/v1/users/{agent_b}"), &s.admin).await;
    assert_eq!(still.body["status"], "revoked");

    // Their own unit's revoked user comes back.
    let (agent_a, _) = api
        .team_member(
            &s.admin,
            "agent-a@birch.example",
            json!(["view_logs"]),
            units(&[&s.unit_a]),
        )
        .await;
    assert_eq!(
        api.revoke(&s.manager, &agent_a).await.status,
        StatusCode::OK
    );
    let back = api
        .post(
            &format!("/api/v1/users/{agent_a}/reinstate"),
            &s.manager,
            json!({}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{:?}", back.body);
    assert_eq!(back.body["status"], "pending");
}
