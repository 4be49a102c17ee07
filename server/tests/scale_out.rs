//! Scale-out: several real `access-server` processes over one database.
//!
//! Every instance of a test is started on the same data directory. With
//! `ACCESS_TEST_DATABASE_URL=postgres://...` (see `scripts/lib/postgres.sh`) that means one
//! PostgreSQL schema shared by all of them, which is what these tests are for; without it,
//! one SQLite file shared by processes on this machine, which must keep the same promises.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use access_server::{ServerConfig, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use common::{Api, BinaryServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ACCESS_ADMIN_EMAIL", TEST_ADMIN_EMAIL),
        ("ACCESS_ADMIN_PASSWORD", TEST_ADMIN_PASSWORD),
    ]
}

/// Two instances on two ports over the database of `dir`, started one after the other.
fn two_instances(dir: &Path) -> (BinaryServer, BinaryServer) {
    let a = BinaryServer::spawn(dir, &env());
    let b = BinaryServer::spawn(dir, &env());
    assert_ne!(a.base, b.base, "two ports");
    (a, b)
}

/// Every lock the caller may list, following `next` cursors.
async fn all_locks(api: &Api, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/locks?limit=200&after={a}"),
            None => "/api/v1/locks?limit=200".to_string(),
        };
        let page = api.get(&path, token).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        out.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_change_or_revoke_through_one_is_enforced_by_the_other_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(dir.path());
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));

    // Sessions are shared: a token made on A is good on B.
    let admin = via_a.admin().await;
    assert_eq!(via_b.get("/api/v1/me", &admin).await.status, StatusCode::OK);
    let (_, units) = via_a.property(&admin, "Birch Yard", &["1", "2"]).await;
    let lock = via_b.lock(&admin, &units[0], "Gate").await;
    let (member_id, member) = via_a
        .team_member(
            &admin,
            "agent@birch.example",
            json!(["rename_locks", "view_logs"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let rename = |api: &Api, name: &'static str| {
        let (api, member, lock) = (api.clone(), member.clone(), lock.clone());
        async move {
            api.patch(
                &format!("/api/v1/locks/{lock}"),
                &member,
                json!({"name": name}),
            )
            .await
        }
    };
    assert_eq!(rename(&via_b, "Gate B").await.status, StatusCode::OK);

    // Taken away through A: B refuses the very next request.
    let p = via_a
        .set_permissions(&admin, &member_id, json!(["view_logs"]))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    let refused = rename(&via_b, "Gate refused").await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "missing_permission")
    );
    // Given back through B: A allows the very next request.
    let p = via_b
        .set_permissions(&admin, &member_id, json!(["view_logs", "rename_locks"]))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(rename(&via_a, "Gate A").await.status, StatusCode::OK);
    let shown = via_b.get(&format!("/api/v1/locks/{lock}"), &admin).await;
    assert_eq!(shown.body["name"], "Gate A");

    // Scope narrowed to the other unit through B: A no longer shows the lock.
    let s = via_b
        .put(
            &format!("/api/v1/users/{member_id}/access"),
            &admin,
            json!({"access": {"type": "units", "unit_ids": [units[1]]}}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    let hidden = via_a.get(&format!("/api/v1/locks/{lock}"), &member).await;
    assert!(hidden.status.is_client_error(), "{:?}", hidden.body);
    let s = via_a
        .put(
            &format!("/api/v1/users/{member_id}/access"),
            &admin,
            json!({"access": {"type": "all_locks"}}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(
        via_b
            .get(&format!("/api/v1/locks/{lock}"), &member)
            .await
            .status,
        StatusCode::OK
    );

    // Revoked through B: the session dies on A at once, and on B too.
    let r = via_b.revoke(&admin, &member_id).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for api in [&via_a, &via_b] {
        let after = rename(api, "Gate revoked").await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
        assert_eq!(
            api.get("/api/v1/me", &member).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let login = via_a
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "agent@birch.example", "password": "password-123"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{:?}", login.body);
    let shown = via_a.get(&format!("/api/v1/locks/{lock}"), &admin).await;
    assert_eq!(shown.body["name"], "Gate A", "no write got through");
    a.stop();
    b.stop();
}

/// Each instance keeps recent session answers in memory (the SQLite store's session cache);
/// only read-only requests on B here, so nothing B writes itself could hide a stale answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answered_from_memory_by_one_sees_a_change_made_through_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(dir.path());
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));
    let admin = via_a.admin().await;
    let (member_id, member) = via_a
        .team_member(
            &admin,
            "cached@birch.example",
            json!(["rename_locks", "view_logs"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let me_on_b = || async { via_b.get("/api/v1/me", &member).await };
    for _ in 0..3 {
        let me = me_on_b().await;
        assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
        assert_eq!(me.body["permissions"], json!(["view_logs", "rename_locks"]));
    }

    let p = via_a
        .set_permissions(&admin, &member_id, json!(["view_logs"]))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    for _ in 0..3 {
        assert_eq!(me_on_b().await.body["permissions"], json!(["view_logs"]));
    }

    let r = via_a.revoke(&admin, &member_id).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let after = me_on_b().await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "revoked")
    );
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_sent_through_one_is_registered_through_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(dir.path());
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));
    let admin = via_b.admin().await;
    let (_, units) = via_b.property(&admin, "Cedar Row", &["4A"]).await;
    via_b.lock(&admin, &units[0], "4A door").await;

    // Invited through A; the outbox B reads has the mail.
    let user_id = via_a
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "res@cedar.example",
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let first_token = via_b.invitation_token(&admin, "res@cedar.example").await;

    // Resent through B: A refuses the old link and takes the new one.
    let r = via_b
        .call(
            Method::POST,
            &format!("/api/v1/users/{user_id}/resend-invite"),
            Some(&admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let register = |api: &Api, token: String| {
        let api = api.clone();
        async move {
            api.call(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(json!({"token": token, "email": "me@home.example",
                            "phone": "+1 (555) 201-3344", "password": "password-456",
                            "name": "Rita Resident"})),
            )
            .await
        }
    };
    let old = register(&via_a, first_token.clone()).await;
    assert!(old.status.is_client_error(), "{:?}", old.body);
    let new_token = via_a.invitation_token(&admin, "res@cedar.example").await;
    assert_ne!(new_token, first_token);
    let reg = register(&via_a, new_token).await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let reg_id = reg.body["registration_id"].as_str().unwrap().to_string();

    // The SMS code went out through A; a wrong code through B counts, the right one through
    // B activates.
    let code = via_b.sms_code(&admin, "+15552013344").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |api: &Api, code: String| {
        let (api, reg_id) = (api.clone(), reg_id.clone());
        async move {
            api.call(
                Method::POST,
                &format!("/api/v1/registrations/{reg_id}/verify"),
                None,
                Some(json!({"code": code})),
            )
            .await
        }
    };
    assert!(verify(&via_b, wrong.into()).await.status.is_client_error());
    let ok = verify(&via_b, code).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let token = ok.body["token"].as_str().unwrap().to_string();

    // Signed in everywhere; the details show the email used.
    let me = via_a.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    let again = via_a.login("me@home.example", "password-456").await;
    assert_eq!(via_b.get("/api/v1/me", &again).await.status, StatusCode::OK);
    let details = via_a.get(&format!("/api/v1/users/{user_id}"), &admin).await;
    assert_eq!(details.body["status"], "active", "{:?}", details.body);
    assert_eq!(
        details.body["registered_email"], "me@home.example",
        "{:?}",
        details.body
    );
    let summary = via_b.get("/api/v1/access/summary", &admin).await;
    assert_eq!(summary.body["residents"], 1);
    assert_eq!(summary.body["pending_invites"], 0);
    a.stop();
    b.stop();
}

/// A sync client: its cursor and how often each lock came in since the last reset.
struct Follower {
    api: Api,
    token: String,
    cursor: String,
    seen: HashMap<String, Vec<String>>,
}

impl Follower {
    async fn new(api: Api, token: String) -> Follower {
        let first = api.get("/api/v1/sync", &token).await;
        assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
        assert_eq!(first.body["full"], true);
        Follower {
            api,
            token,
            cursor: first.body["cursor"].as_str().unwrap().to_string(),
            seen: HashMap::new(),
        }
    }

    /// One incremental sync; returns how many locks it carried.
    async fn step(&mut self) -> usize {
        let a = self
            .api
            .get(&format!("/api/v1/sync?since={}", self.cursor), &self.token)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["full"], false, "an incremental sync: {:?}", a.body);
        let locks = a.body["locks"].as_array().unwrap();
        for l in locks {
            self.seen
                .entry(l["id"].as_str().unwrap().to_string())
                .or_default()
                .push(l["name"].as_str().unwrap().to_string());
        }
        self.cursor = a.body["cursor"].as_str().unwrap().to_string();
        locks.len()
    }

    /// Syncs until `done` is set, then once more to catch up.
    async fn follow(mut self, done: Arc<AtomicBool>) -> Follower {
        while !done.load(Ordering::SeqCst) {
            self.step().await;
        }
        self.step().await;
        self
    }
}

/// Runs `work` while one follower per instance syncs in a loop; returns the followers.
async fn follow_while<F: std::future::Future<Output = ()>>(
    followers: Vec<Follower>,
    work: F,
) -> Vec<Follower> {
    let done = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = followers
        .into_iter()
        .map(|f| tokio::spawn(f.follow(done.clone())))
        .collect();
    work.await;
    done.store(true, Ordering::SeqCst);
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("follower"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_syncs_through_both_see_every_change_once_while_both_write() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(dir.path());
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));
    let admin = via_a.admin().await;
    let (_, units) = via_a.property(&admin, "Elm Court", &["1", "2"]).await;
    let followers = vec![
        Follower::new(via_a.clone(), admin.clone()).await,
        Follower::new(via_b.clone(), admin.clone()).await,
    ];

    // Round 1: four writers, two per instance, each registers locks; every lock changes
    // exactly once, so every follower must see each exactly once.
    const PER_WRITER: usize = 12;
    let created = Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
    let writers = [&via_a, &via_b, &via_a, &via_b]
        .into_iter()
        .enumerate()
        .map(|(w, api)| {
            let (api, admin, unit, created) = (
                api.clone(),
                admin.clone(),
                units[w % 2].clone(),
                created.clone(),
            );
            async move {
                for i in 0..PER_WRITER {
                    let id = api.lock(&admin, &unit, &format!("w{w}-{i}")).await;
                    created.lock().await.push(id);
                }
            }
        });
    let followers = follow_while(followers, async {
        futures::future::join_all(writers).await;
    })
    .await;
    let created: Vec<String> = created.lock().await.clone();
    assert_eq!(created.len(), 4 * PER_WRITER);
    for f in &followers {
        let ids: HashSet<&String> = f.seen.keys().collect();
        assert_eq!(
            ids,
            created.iter().collect(),
            "{} missed or invented a lock",
            f.api.base
        );
        for (id, names) in &f.seen {
            assert_eq!(
                names.len(),
                1,
                "{} saw lock {id} {} times",
                f.api.base,
                names.len()
            );
        }
    }

    // Round 2: every lock renamed once, half through each instance, concurrently.
    let mut followers = followers;
    for f in &mut followers {
        f.seen.clear();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(created);
    let renamers = [&via_a, &via_b, &via_a, &via_b].into_iter().map(|api| {
        let (api, admin, next, created) =
            (api.clone(), admin.clone(), next.clone(), created.clone());
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(id) = created.get(i) else { break };
                let r = api
                    .patch(
                        &format!("/api/v1/locks/{id}"),
                        &admin,
                        json!({"name": format!("renamed-{i}")}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            }
        }
    });
    let followers = follow_while(followers, async {
        futures::future::join_all(renamers).await;
    })
    .await;
    for f in &followers {
        assert_eq!(
            f.seen.len(),
            created.len(),
            "{} missed a rename",
            f.api.base
        );
        for (i, id) in created.iter().enumerate() {
            assert_eq!(
                f.seen.get(id),
                Some(&vec![format!("renamed-{i}")]),
                "{} saw lock {id} other than once with its new name",
                f.api.base
            );
        }
    }
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_mid_request_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(dir.path());
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));
    let admin = via_a.admin().await;
    let (_, units) = via_a.property(&admin, "Fir Park", &["1"]).await;

    // Writers on A register locks as fast as they can; B serves reads meanwhile.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, base, admin, unit, acked, stop) = (
            via_a.http.clone(),
            via_a.base.clone(),
            admin.clone(),
            units[0].clone(),
            acked.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let sent = http
                    .post(format!("{base}/api/v1/locks"))
                    .bearer_auth(&admin)
                    .json(&json!({"unit_id": unit, "name": format!("k{w}-{i}")}))
                    .send()
                    .await;
                let Ok(resp) = sent else { break };
                if resp.status() != StatusCode::CREATED {
                    break;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    break;
                };
                acked
                    .lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_string());
                i += 1;
            }
        }));
    }
    let reader = {
        let (api, admin, stop) = (via_b.clone(), admin.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let me = api.get("/api/v1/me", &admin).await;
                assert_eq!(
                    me.status,
                    StatusCode::OK,
                    "B failed while A died: {:?}",
                    me.body
                );
                reads += 1;
            }
            reads
        })
    };
    // Kill A in the middle of the stream of writes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 20 {
        assert!(tokio::time::Instant::now() < deadline, "writes too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill9();
    for w in writers {
        w.await.expect("writer");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    assert!(reader.await.expect("reader") > 0);

    // Every acknowledged write is there, and every write that is there is whole.
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let locks = all_locks(&via_b, &admin).await;
    let present: HashSet<String> = locks
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = acked.difference(&present).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    for l in &locks {
        let id = l["id"].as_str().unwrap();
        let logs = via_b.get(&format!("/api/v1/locks/{id}/logs"), &admin).await;
        assert_eq!(logs.status, StatusCode::OK, "{:?}", logs.body);
        assert!(
            !logs.body["items"].as_array().unwrap().is_empty(),
            "lock {id} without its audit entry: half-written"
        );
    }

    // B keeps serving writes, and A comes back on the same database.
    let after = via_b.lock(&admin, &units[0], "after the kill").await;
    let again = BinaryServer::spawn(dir.path(), &env());
    let via_again = Api::new(again.base.clone());
    let shown = via_again
        .get(&format!("/api/v1/locks/{after}"), &admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(all_locks(&via_again, &admin).await.len(), locks.len() + 1);
    again.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_at_the_same_moment_on_an_empty_database_both_come_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (a, b) = std::thread::scope(|s| {
        let ta = s.spawn(|| BinaryServer::spawn(&path, &env()));
        let tb = s.spawn(|| BinaryServer::spawn(&path, &env()));
        (ta.join().expect("A started"), tb.join().expect("B started"))
    });
    let (via_a, via_b) = (Api::new(a.base.clone()), Api::new(b.base.clone()));
    for api in [&via_a, &via_b] {
        let h = api.call(Method::GET, "/healthz", None, None).await;
        assert_eq!(h.status, StatusCode::OK);
    }
    // One organization and one administrator, whichever instance created them.
    let admin = via_a.admin().await;
    let users_a = via_a.get("/api/v1/users", &admin).await;
    let users_b = via_b.get("/api/v1/users", &admin).await;
    assert_eq!(users_a.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(users_a.body["items"], users_b.body["items"]);
    a.stop();
    b.stop();
}

#[test]
fn stores_opened_at_the_same_moment_migrate_once() {
    // Six openers at once on one empty database, through the same code the binary runs.
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig::for_tests(dir.path().to_path_buf());
    let barrier = std::sync::Barrier::new(6);
    let backends: Vec<&'static str> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let store = access_server::open_store(&cfg).expect("store opens");
                    assert_eq!(store.organization_count().expect("query"), 0);
                    store.backend()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("opener"))
            .collect()
    });
    let want = if cfg.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert!(backends.iter().all(|b| *b == want), "{backends:?}");
}

#[test]
fn cursors_stay_exact_with_many_writers_on_two_store_instances() {
    use access_server::bootstrap::create_organization;
    use access_server::secrets::PasswordCost;
    use access_server::store::{Audit, LockFilter, NewLock};
    use uuid::Uuid;

    // Two stores on one database are two instances' pools: writers on both, readers on both.
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig::for_tests(dir.path().to_path_buf());
    let stores = [
        access_server::open_store(&cfg).expect("first"),
        access_server::open_store(&cfg).expect("second"),
    ];
    let cheap = PasswordCost {
        memory_kib: 64,
        passes: 1,
    };
    let (org, admin) = create_organization(
        stores[0].as_ref(),
        "Cursor Co",
        "c@cursor.example",
        "pw-123456",
        cheap,
    )
    .expect("organization");
    let (property, unit) = (Uuid::new_v4(), Uuid::new_v4());
    stores[1].create_property(org, property, "P").unwrap();
    stores[0].create_unit(org, property, unit, "U").unwrap();

    const WRITERS: usize = 6;
    const PER_WRITER: usize = 40;
    let done = AtomicBool::new(false);
    let (created, seen) = std::thread::scope(|s| {
        let readers: Vec<_> = stores
            .iter()
            .map(|store| {
                let done = &done;
                s.spawn(move || {
                    let mut seen: HashMap<Uuid, usize> = HashMap::new();
                    // Writers may already have begun: the first (full) sync counts too.
                    let first = store.sync(org, admin, &LockFilter::All, None).unwrap();
                    for l in first.locks {
                        *seen.entry(l.id).or_default() += 1;
                    }
                    let mut cursor = first.cursor;
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        let d = store
                            .sync(org, admin, &LockFilter::All, Some(cursor))
                            .unwrap();
                        assert!(!d.me_changed, "no change to the reader's own record");
                        assert!(d.cursor >= cursor, "the cursor never goes back");
                        for l in d.locks {
                            *seen.entry(l.id).or_default() += 1;
                        }
                        cursor = d.cursor;
                        if finished {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = &stores[w % 2];
                s.spawn(move || {
                    (0..PER_WRITER)
                        .map(|i| {
                            let lock = NewLock {
                                id: Uuid::new_v4(),
                                org_id: org,
                                unit_id: unit,
                                name: format!("w{w}-{i}"),
                                master_code: format!("{:08}", w * 1000 + i),
                                firmware: None,
                                identity_public_key: None,
                            };
                            let audit = Audit {
                                user_id: admin,
                                action: "register_lock".into(),
                                detail: None,
                                at: time::OffsetDateTime::now_utc(),
                            };
                            store.create_lock(&lock, &audit).expect("create lock");
                            lock.id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let created: Vec<Uuid> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        done.store(true, Ordering::SeqCst);
        let seen: Vec<HashMap<Uuid, usize>> = readers
            .into_iter()
            .map(|r| r.join().expect("reader"))
            .collect();
        (created, seen)
    });
    assert_eq!(created.len(), WRITERS * PER_WRITER);
    for (i, seen) in seen.iter().enumerate() {
        let missed: Vec<_> = created.iter().filter(|id| !seen.contains_key(id)).collect();
        assert!(
            missed.is_empty(),
            "reader {i} missed {} locks",
            missed.len()
        );
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "reader {i} saw locks more than once: {twice:?}"
        );
        assert_eq!(
            seen.len(),
            created.len(),
            "reader {i} saw locks nobody made"
        );
    }
}
