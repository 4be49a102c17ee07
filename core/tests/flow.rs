//! The seed article's flow from the app side, the gates, permission changes, revocation and
//! resident versus team member, against the real server in-process.

mod support;

use access_core::{AccessError, ActionOutcome, GiveAccessOutcome, TimeWindow};
use access_domain::{AccessCodeKind, Action, App, LockMode, Permission, UserType};
use serde_json::json;
use std::time::{Duration, SystemTime};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_register_verify_login_sync_and_search() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let user = admin
        .invite(
            "team_member",
            "pat@oakwood.example",
            &["rename_locks", "view_logs"],
            units(&[&s.unit_a]),
        )
        .await;
    let link = admin.invitation_link("pat@oakwood.example").await;
    assert!(link.contains("token="), "{link}");

    let dev = Device::new(&proxy.url(), App::AccessManager);
    let c = &dev.client;
    // The phone rule is checked before anything is sent.
    let e = c
        .account()
        .register_from_invitation(
            link.clone(),
            "pat@gmail.example".into(),
            "5551234567".into(),
            "pw-123456789".into(),
            "Pat".into(),
            "pat.doe".into(),
        )
        .await
        .unwrap_err();
    let AccessError::InvalidPhone { message } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("+15551234567"), "{message}");
    assert_eq!(proxy.sent(), 0, "a refused phone must not reach the server");

    // Registration with another email than the invited one and a formatted +1 number.
    let reg = c
        .account()
        .register_from_invitation(
            link,
            "pat@gmail.example".into(),
            "+1 (555) 123-4567".into(),
            "pw-123456789".into(),
            "Pat Doe".into(),
            "pat.doe".into(),
        )
        .await
        .unwrap();
    assert!(proxy.sent() > 0);
    let code = admin.sms_code("+15551234567").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        c.account().verify_sms(reg.clone(), wrong.into()).await,
        Err(AccessError::WrongSmsCode)
    );
    let me = c.account().verify_sms(reg, code).await.unwrap();
    assert_eq!(me.user_type, UserType::TeamMember);
    assert_eq!(me.email, "pat@gmail.example");
    assert_eq!(
        me.permissions,
        vec![Permission::ViewLogs, Permission::RenameLocks]
            .into_iter()
            .filter(|p| me.permissions.contains(p))
            .collect::<Vec<_>>()
    );
    assert_eq!(me.permissions.len(), 2);
    assert!(!me.all_locks);
    assert_eq!(me.unit_ids, vec![s.unit_a.clone()]);
    let detail = admin.get(&format!("/api/v1/users/{user}")).await;
    assert_eq!(detail["registered_email"], "pat@gmail.example");
    assert_eq!(detail["phone"], "+15551234567");

    // First sync: the locks of unit 4B only.
    let sum = c.sync(None).await.unwrap();
    assert!(sum.full);
    assert_eq!(sum.total_locks, 2);
    let names: Vec<String> = c
        .locks()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["Front Door", "Patio"]);
    assert_eq!(c.locks().search("front".into(), 10).await.unwrap().len(), 1);
    assert_eq!(
        c.locks().search("oakwood".into(), 10).await.unwrap().len(),
        2
    );
    assert_eq!(c.locks().search("4B".into(), 10).await.unwrap().len(), 2);
    // The limit keeps the first hits by name.
    let first = c.locks().search("oakwood".into(), 1).await.unwrap();
    assert_eq!(
        first.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["Front Door"]
    );
    assert_eq!(
        c.locks().search("garage".into(), 10).await.unwrap().len(),
        0
    );
    assert_eq!(
        c.locks().get(s.lock_b.clone()).await,
        Err(AccessError::NotFound)
    );
    let l = c.locks().get(s.lock_a.clone()).await.unwrap();
    assert_eq!(
        (l.unit_name.as_str(), l.property_name.as_str()),
        ("Unit 4B", "Oakwood Apartments")
    );

    // Nothing new: one small request.
    let before = (proxy.sent(), proxy.received());
    let requests = proxy.requests.load(std::sync::atomic::Ordering::SeqCst);
    let sum = c.sync(None).await.unwrap();
    assert!(!sum.full);
    assert_eq!(sum.locks_changed, 0);
    let moved = (proxy.sent() - before.0) + (proxy.received() - before.1);
    println!("incremental sync: {moved} bytes on the wire");
    assert!(moved < 1024, "incremental sync moved {moved} bytes");
    assert_eq!(
        proxy.requests.load(std::sync::atomic::Ordering::SeqCst),
        requests + 1
    );

    // Logout ends the session on the server and wipes; login with the email used at
    // registration works.
    let held: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(dev.secrets_path()).unwrap()).unwrap();
    let token = held["session_token"].clone();
    let me = |token: String| {
        let url = format!("{}/api/v1/me", server.base_url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(token.clone()).await, reqwest::StatusCode::OK);
    c.account().logout().await.unwrap();
    assert_eq!(
        me(token).await,
        reqwest::StatusCode::UNAUTHORIZED,
        "the old token no longer works on the server"
    );
    assert_eq!(c.account().current_user().await.unwrap(), None);
    assert!(c.locks().list().await.unwrap().is_empty());
    let secrets = std::fs::read_to_string(dev.secrets_path()).unwrap_or_default();
    assert!(!secrets.contains("session_token"), "{secrets}");
    assert_eq!(c.sync(None).await.unwrap_err(), AccessError::NotSignedIn);
    assert_eq!(
        c.account()
            .login("pat@gmail.example".into(), "nope".into())
            .await,
        Err(AccessError::InvalidCredentials)
    );
    let me = c
        .account()
        .login("pat@gmail.example".into(), "pw-123456789".into())
        .await
        .unwrap();
    assert_eq!(me.name, "Pat Doe");
    assert_eq!(c.sync(None).await.unwrap().total_locks, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_gated_action_allowed_with_its_permission_and_refused_locally_without() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (_, full) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "full@x.example",
        "+15551230001",
        &all_permissions(),
        units(&[&s.unit_a]),
    )
    .await;
    let (_, none) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "none@x.example",
        "+15551230002",
        &[],
        units(&[&s.unit_a]),
    )
    .await;
    full.client.sync(None).await.unwrap();
    none.client.sync(None).await.unwrap();

    // Refused locally: typed error naming the permission, and not one byte sent.
    let c = &none.client;
    let a = s.lock_a.clone();
    let sent = proxy.sent();
    let results = vec![
        (
            "rename",
            c.locks().rename(a.clone(), "X".into()).await.map(|_| ()),
        ),
        (
            "mode",
            c.locks()
                .change_mode(a.clone(), LockMode::Tour)
                .await
                .map(|_| ()),
        ),
        ("reset", c.locks().reset_codes(a.clone()).await),
        ("logs", c.locks().view_logs(a.clone()).await.map(|_| ())),
        (
            "master",
            c.locks().view_master_code(a.clone()).await.map(|_| ()),
        ),
        (
            "give",
            c.locks()
                .give_access(a.clone(), AccessCodeKind::OneTime, None, None)
                .await
                .map(|_| ()),
        ),
    ];
    for ((what, r), p) in results.into_iter().zip([
        Permission::RenameLocks,
        Permission::ChangeModes,
        Permission::ResetCodes,
        Permission::ViewLogs,
        Permission::ViewMasterCode,
        Permission::GiveAccess,
    ]) {
        let Err(AccessError::NotAllowed { message }) = r else {
            panic!("{what}: {r:?}")
        };
        assert!(message.contains(p.label()), "{what}: {message}");
    }
    // A lock outside the user's units is not in the cache: refused the same way, unsent.
    assert_eq!(
        full.client
            .locks()
            .rename(s.lock_b.clone(), "X".into())
            .await,
        Err(AccessError::NotFound)
    );
    assert_eq!(
        proxy.sent(),
        sent,
        "local refusals must not reach the server"
    );
    assert_eq!(
        c.locks().allowed_actions(a.clone()).await.unwrap(),
        vec![Action::View, Action::Unlock]
    );
    assert!(c.queue().pending().await.unwrap().is_empty());

    // Allowed with the permission, and seen by the server.
    let f = &full.client;
    assert_eq!(
        f.locks().allowed_actions(a.clone()).await.unwrap().len(),
        Action::ALL.len()
    );
    assert_eq!(
        f.locks()
            .rename(a.clone(), "Front Door East".into())
            .await
            .unwrap(),
        ActionOutcome::Done
    );
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{a}")).await["name"],
        "Front Door East"
    );
    assert_eq!(
        f.locks().get(a.clone()).await.unwrap().name,
        "Front Door East"
    );
    assert_eq!(
        f.locks()
            .change_mode(a.clone(), LockMode::Tour)
            .await
            .unwrap(),
        ActionOutcome::Done
    );
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{a}")).await["mode"],
        "tour"
    );
    let GiveAccessOutcome::Created { code } = f
        .locks()
        .give_access(
            a.clone(),
            AccessCodeKind::OneTime,
            Some("Plumber".into()),
            None,
        )
        .await
        .unwrap()
    else {
        panic!("not created")
    };
    assert_eq!(code.kind, AccessCodeKind::OneTime);
    assert!(
        code.code.chars().all(|c| c.is_ascii_digit()) && code.code.len() >= 4,
        "{}",
        code.code
    );
    let now = SystemTime::now();
    let GiveAccessOutcome::Created { code: w } = f
        .locks()
        .give_access(
            a.clone(),
            AccessCodeKind::Window,
            Some("Tour".into()),
            Some(TimeWindow {
                starts_at: now,
                ends_at: now + Duration::from_secs(3600),
            }),
        )
        .await
        .unwrap()
    else {
        panic!("not created")
    };
    assert!(w.ends_at.is_some());
    let cached: Vec<String> = f
        .locks()
        .access_codes(a.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(
        cached.contains(&code.id) && cached.contains(&w.id),
        "{cached:?}"
    );
    f.locks().reset_codes(a.clone()).await.unwrap();
    let logs = f.locks().view_logs(a.clone()).await.unwrap();
    assert!(logs.iter().any(|e| e.action.contains("rename")), "{logs:?}");
    let master = f.locks().view_master_code(a.clone()).await.unwrap();
    assert!(
        !master.is_empty() && master.chars().all(|c| c.is_ascii_digit()),
        "{master}"
    );

    // The server's refusal maps to the same typed error (the cache still shows the old
    // permission), and the cache is corrected.
    admin
        .set_permissions(
            &full_user_id(&admin, "full@x.example").await,
            &["view_logs"],
        )
        .await;
    let sent = proxy.sent();
    let r = f
        .locks()
        .rename(a.clone(), "Not allowed any more".into())
        .await;
    assert!(matches!(r, Err(AccessError::NotAllowed { .. })), "{r:?}");
    assert!(proxy.sent() > sent, "this refusal came from the server");
    assert!(
        f.queue().failed().await.unwrap().is_empty(),
        "the caller was told directly"
    );
    assert_eq!(
        f.locks().get(a.clone()).await.unwrap().name,
        "Front Door East"
    );
    assert_eq!(
        f.account()
            .current_user()
            .await
            .unwrap()
            .unwrap()
            .permissions,
        vec![Permission::ViewLogs]
    );
}

async fn full_user_id(admin: &Admin, email: &str) -> String {
    let v = admin.get("/api/v1/users?limit=1000").await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["invited_email"] == email)
        .map(id)
        .expect("user listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_and_scope_changes_are_seen_on_the_next_sync() {
    let server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (user, dev) = onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "m@x.example",
        "+15551230003",
        &[],
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    c.sync(None).await.unwrap();
    assert!(matches!(
        c.locks()
            .change_mode(s.lock_a.clone(), LockMode::Resident)
            .await,
        Err(AccessError::NotAllowed { .. })
    ));
    admin.set_permissions(&user, &["change_modes"]).await;
    c.sync(None).await.unwrap();
    assert_eq!(
        c.account()
            .current_user()
            .await
            .unwrap()
            .unwrap()
            .permissions,
        vec![Permission::ChangeModes]
    );
    assert_eq!(
        c.locks()
            .change_mode(s.lock_a.clone(), LockMode::Resident)
            .await
            .unwrap(),
        ActionOutcome::Done
    );
    assert_eq!(
        c.locks().get(s.lock_a.clone()).await.unwrap().mode,
        LockMode::Resident
    );

    admin
        .ok(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{user}/access"),
            Some(json!({"access": units(&[&s.unit_b])})),
        )
        .await;
    c.sync(None).await.unwrap();
    let names: Vec<String> = c
        .locks()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["Garage"]);
    assert_eq!(
        c.locks().get(s.lock_a.clone()).await,
        Err(AccessError::NotFound)
    );
}

/// Access dates reach the phone with the profile; the core's gate refuses outside them with
/// the reason, offline too, and shows it on each action of the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_dates_are_cached_and_the_gate_refuses_outside_them_offline_too() {
    let mut server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (user, dev) = onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "d@x.example",
        "+15551230009",
        &["view_logs"],
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    c.sync(None).await.unwrap();
    let gate = |gates: &[access_core::ActionGate], action: Action| {
        gates.iter().find(|g| g.action == action).cloned().unwrap()
    };
    let gates = c.locks().action_gates(s.lock_a.clone()).await.unwrap();
    assert!(gate(&gates, Action::ViewLogs).allowed);
    assert!(c.locks().view_logs(s.lock_a.clone()).await.is_ok());

    // The move-out was an hour ago; the next sync brings it.
    let ended = SystemTime::now() - Duration::from_secs(3600);
    let ended_rfc = time::OffsetDateTime::from(ended)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    admin
        .ok(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{user}/period"),
            Some(json!({"period": {"ends_at": ended_rfc}})),
        )
        .await;
    c.sync(None).await.unwrap();
    let me = c.account().current_user().await.unwrap().unwrap();
    let cached = me.access_ends_at.expect("the end is in the profile");
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs(cached), secs(ended));

    // Offline: the gate still refuses, with the reason, and sends nothing.
    server.stop().await;
    let gates = c.locks().action_gates(s.lock_a.clone()).await.unwrap();
    for action in [Action::Unlock, Action::ViewLogs] {
        let g = gate(&gates, action);
        assert!(!g.allowed, "{action:?}");
        let reason = g.reason.unwrap_or_default();
        assert!(reason.contains("Your access ended on"), "{reason}");
    }
    assert!(
        gate(&gates, Action::View).allowed,
        "the lock stays in the list"
    );
    match c.locks().view_logs(s.lock_a.clone()).await {
        Err(AccessError::NotAllowed { message }) => {
            assert!(message.contains("Your access ended on"), "{message}")
        }
        other => panic!("refused locally, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_is_wiped_on_the_next_request() {
    let server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (user, dev) = onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "r@x.example",
        "+15551230004",
        &["view_logs"],
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    c.sync(None).await.unwrap();
    assert_eq!(c.locks().list().await.unwrap().len(), 2);
    admin.revoke(&user).await;
    assert_eq!(c.sync(None).await, Err(AccessError::Revoked));
    assert!(c.locks().list().await.unwrap().is_empty());
    assert_eq!(c.account().current_user().await.unwrap(), None);
    let secrets = std::fs::read_to_string(dev.secrets_path()).unwrap_or_default();
    assert!(!secrets.contains("session_token"), "{secrets}");
    assert_eq!(
        c.locks().view_logs(s.lock_a.clone()).await,
        Err(AccessError::NotSignedIn)
    );

    // Also through a gated request rather than a sync.
    let (user2, dev2) = onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "r2@x.example",
        "+15551230005",
        &["view_logs"],
        units(&[&s.unit_a]),
    )
    .await;
    dev2.client.sync(None).await.unwrap();
    admin.revoke(&user2).await;
    assert_eq!(
        dev2.client.locks().view_logs(s.lock_a.clone()).await,
        Err(AccessError::Revoked)
    );
    assert!(dev2.client.locks().list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_use_nokey_resident_and_team_members_access_manager() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;

    // A resident registering in Access Manager is sent to the right app, without a session.
    admin
        .invite("resident", "res@x.example", &[], units(&[&s.unit_a]))
        .await;
    let link = admin.invitation_link("res@x.example").await;
    let mail = Device::new(&proxy.url(), App::AccessManager);
    let reg = mail
        .client
        .account()
        .register_from_invitation(
            link,
            "res@x.example".into(),
            "+15551230006".into(),
            "pw-123456789".into(),
            "Rita".into(),
            "resident.one".into(),
        )
        .await
        .unwrap();
    let code = admin.sms_code("+15551230006").await;
    let e = mail
        .client
        .account()
        .verify_sms(reg, code)
        .await
        .unwrap_err();
    let AccessError::WrongApp { message } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("NoKey Resident"), "{message}");
    assert_eq!(mail.client.account().current_user().await.unwrap(), None);
    assert_eq!(mail.client.sync(None).await, Err(AccessError::NotSignedIn));

    // The same account in NoKey Resident works; residents only view and unlock.
    let res = Device::new(&proxy.url(), App::NokeyResident);
    let me = res
        .client
        .account()
        .login("res@x.example".into(), "pw-123456789".into())
        .await
        .unwrap();
    assert_eq!(
        (me.user_type, me.app),
        (UserType::Resident, App::NokeyResident)
    );
    res.client.sync(None).await.unwrap();
    assert_eq!(res.client.locks().list().await.unwrap().len(), 2);
    assert_eq!(
        res.client
            .locks()
            .allowed_actions(s.lock_a.clone())
            .await
            .unwrap(),
        vec![Action::View, Action::Unlock, Action::ShareGuestCode]
    );
    let passcodes = res.client.locks().my_passcodes().await.unwrap();
    assert!(
        passcodes
            .iter()
            .all(|p| p.lock_id == s.lock_a || p.lock_id == s.lock_a2),
        "{passcodes:?}"
    );
    let sent = proxy.sent();
    let r = res
        .client
        .locks()
        .rename(s.lock_a.clone(), "Mine".into())
        .await;
    let Err(AccessError::NotAllowed { message }) = r else {
        panic!("{r:?}")
    };
    assert!(message.contains("Residents"), "{message}");
    assert_eq!(proxy.sent(), sent);

    // A team member in NoKey Resident is sent to Access Manager.
    let (_, _staff) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "t@x.example",
        "+15551230007",
        &[],
        units(&[&s.unit_a]),
    )
    .await;
    let wrong = Device::new(&proxy.url(), App::NokeyResident);
    let e = wrong
        .client
        .account()
        .login("t@x.example".into(), "pw-123456789".into())
        .await
        .unwrap_err();
    let AccessError::WrongApp { message } = e else {
        panic!("{e:?}")
    };
    assert!(message.contains("Access Manager"), "{message}");
}
