//! The offline queue: actions taken with no network apply to the cache, wait in SQLite and
//! reach the server exactly once, in order, when the network is back.

mod support;

use access_core::{AccessError, ActionOutcome, GiveAccessOutcome, QueueState};
use access_domain::{AccessCodeKind, LockMode};
use support::*;

const PERMS: [&str; 4] = [
    "rename_locks",
    "change_modes",
    "give_access",
    "view_master_code",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_actions_apply_to_the_cache_and_replay_once_in_order() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (_, dev) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "o@x.example",
        "+15551231001",
        &PERMS,
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    c.sync(None).await.unwrap();
    let a = s.lock_a.clone();

    proxy.set_down(true);
    let ActionOutcome::Queued { action_id: r1 } =
        c.locks().rename(a.clone(), "Lobby".into()).await.unwrap()
    else {
        panic!()
    };
    let ActionOutcome::Queued { action_id: r2 } = c
        .locks()
        .change_mode(a.clone(), LockMode::Tour)
        .await
        .unwrap()
    else {
        panic!()
    };
    let ActionOutcome::Queued { action_id: r3 } = c
        .locks()
        .rename(a.clone(), "Lobby East".into())
        .await
        .unwrap()
    else {
        panic!()
    };
    let GiveAccessOutcome::Queued { action_id: r4 } = c
        .locks()
        .give_access(
            a.clone(),
            AccessCodeKind::Permanent,
            Some("Cleaner".into()),
            None,
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    // The cache shows the changes at once; search finds the new name.
    let l = c.locks().get(a.clone()).await.unwrap();
    assert_eq!((l.name.as_str(), l.mode), ("Lobby East", LockMode::Tour));
    assert_eq!(c.locks().search("lobby".into(), 10).await.unwrap().len(), 1);
    let pending = c.queue().pending().await.unwrap();
    let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [r1.as_str(), &r2, &r3, &r4]);
    let kinds: Vec<&str> = pending.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["rename", "change_mode", "rename", "give_access"]);
    assert!(pending.iter().all(|p| p.state == QueueState::Pending));
    // Online-only reads say so; replaying or syncing without network keeps the queue.
    assert!(matches!(
        c.locks().view_master_code(a.clone()).await,
        Err(AccessError::Offline { .. })
    ));
    assert!(matches!(
        c.sync(None).await,
        Err(AccessError::Offline { .. })
    ));
    let r = c.queue().replay().await.unwrap();
    assert_eq!((r.sent, r.pending), (0, 4));
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{a}")).await["name"],
        "Front Door"
    );

    // Network back: one sync sends all four, in order, once.
    proxy.set_down(false);
    let sum = c.sync(None).await.unwrap();
    assert_eq!((sum.replayed, sum.failed), (4, 0));
    let lock = admin.get(&format!("/api/v1/locks/{a}")).await;
    assert_eq!(
        (lock["name"].as_str(), lock["mode"].as_str()),
        (Some("Lobby East"), Some("tour"))
    );
    let renames = admin.log_actions(&a, "rename").await;
    assert_eq!(renames.len(), 2, "{renames:?}");
    let codes = admin.get(&format!("/api/v1/locks/{a}/access-codes")).await;
    let cleaners: Vec<_> = codes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["label"] == "Cleaner")
        .collect();
    assert_eq!(cleaners.len(), 1);
    assert!(c.queue().pending().await.unwrap().is_empty());
    let cached = c.locks().access_codes(a.clone()).await.unwrap();
    assert!(
        cached.iter().any(|c| c.label.as_deref() == Some("Cleaner")),
        "{cached:?}"
    );
    // Nothing sent twice by later syncs.
    assert_eq!(c.sync(None).await.unwrap().replayed, 0);
    assert_eq!(admin.log_actions(&a, "rename").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_on_replay_is_listed_and_the_cache_corrected() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (user, dev) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "f@x.example",
        "+15551231002",
        &PERMS,
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    c.sync(None).await.unwrap();
    proxy.set_down(true);
    c.locks()
        .rename(s.lock_a.clone(), "Renamed offline".into())
        .await
        .unwrap();
    c.locks()
        .change_mode(s.lock_a2.clone(), LockMode::Maintenance)
        .await
        .unwrap();
    // Meanwhile the office removes the rename permission.
    admin.set_permissions(&user, &["change_modes"]).await;
    proxy.set_down(false);
    let sum = c.sync(None).await.unwrap();
    assert_eq!((sum.replayed, sum.failed), (1, 1));
    assert!(sum.full, "a refusal makes the next sync replace the cache");
    let failed = c.queue().failed().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].kind, "rename");
    assert_eq!(failed[0].error_code.as_deref(), Some("not_allowed"));
    assert!(
        failed[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("rename"),
        "{failed:?}"
    );
    // The cache shows the server's truth again, and the mode change that was allowed.
    assert_eq!(
        c.locks().get(s.lock_a.clone()).await.unwrap().name,
        "Front Door"
    );
    assert_eq!(
        c.locks().get(s.lock_a2.clone()).await.unwrap().mode,
        LockMode::Maintenance
    );
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{}", s.lock_a)).await["name"],
        "Front Door"
    );
    c.queue()
        .dismiss_failed(failed[0].id.clone())
        .await
        .unwrap();
    assert!(c.queue().failed().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_waits_for_a_restarted_server_and_survives_a_client_restart() {
    let mut server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (_, dev) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "q@x.example",
        "+15551231003",
        &PERMS,
        units(&[&s.unit_a]),
    )
    .await;
    dev.client.sync(None).await.unwrap();

    server.stop().await;
    assert!(matches!(
        dev.client
            .locks()
            .rename(s.lock_a.clone(), "After restart".into())
            .await
            .unwrap(),
        ActionOutcome::Queued { .. }
    ));
    // The app process ends; a new one opens the same data directory.
    let path = dev.dir.path().to_path_buf();
    drop(dev.client);
    let client = open(path, &proxy.url(), access_domain::App::AccessManager, None);
    assert_eq!(client.queue().pending().await.unwrap().len(), 1);
    assert_eq!(
        client.locks().get(s.lock_a.clone()).await.unwrap().name,
        "After restart"
    );

    server.start_again().await;
    proxy.retarget(server.addr());
    let r = client.queue().replay().await.unwrap();
    assert_eq!((r.sent, r.failed, r.pending), (1, 0, 0));
    let admin = Admin::login(&server.base_url()).await;
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{}", s.lock_a)).await["name"],
        "After restart"
    );
    assert_eq!(admin.log_actions(&s.lock_a, "rename").await.len(), 1);
}
