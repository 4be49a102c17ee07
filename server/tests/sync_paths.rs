//! The sync's two ways to read codes and passcodes (through the lock index for a few
//! locks, one pass for many) give the same answer, with each passcode named after its lock.

mod common;

use std::collections::HashMap;

use serde_json::{Value, json};

fn by_lock(body: &Value, field: &str) -> HashMap<String, Value> {
    body[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["lock_id"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_and_few_locks_sync_the_same_codes_and_passcodes() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Paths", &["1", "2"]).await;
    let mut locks = Vec::new();
    // More locks than the per-lock way takes (64), in two units.
    for i in 0..70 {
        locks.push(api.lock(&admin, &units[i % 2], &format!("Door {i}")).await);
    }
    let (_, staff) = api
        .team_member(
            &admin,
            "paths@x.example",
            json!(["give_access", "rename_locks"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let code = api
        .post(
            &format!("/api/v1/locks/{}/access-codes", locks[3]),
            &staff,
            json!({"kind": "one_time"}),
        )
        .await;
    assert!(code.status.is_success(), "{:?}", code.body);
    let full = api.get("/api/v1/sync", &staff).await;
    assert_eq!(full.body["locks"].as_array().unwrap().len(), 70);
    let names: HashMap<String, String> = full.body["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let id = l["id"].as_str().unwrap().to_string();
            (id, l["name"].as_str().unwrap().to_string())
        })
        .collect();
    let passcodes = by_lock(&full.body, "passcodes");
    assert_eq!(passcodes.len(), 70);
    for (lock, p) in &passcodes {
        assert_eq!(p["lock_name"].as_str(), Some(names[lock].as_str()));
    }
    let codes = by_lock(&full.body, "access_codes");
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[&locks[3]]["id"], code.body["id"]);

    // A delta of two locks (the per-lock way): the same rows for them, the new name.
    let cursor = full.body["cursor"].as_str().unwrap().to_string();
    for (i, name) in [(3, "Cellar"), (5, "Attic")] {
        let r = api
            .patch(
                &format!("/api/v1/locks/{}", locks[i]),
                &admin,
                json!({"name": name}),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    let delta = api
        .get(&format!("/api/v1/sync?since={cursor}"), &staff)
        .await;
    assert_eq!(delta.body["full"], false);
    assert_eq!(delta.body["locks"].as_array().unwrap().len(), 2);
    let d_pass = by_lock(&delta.body, "passcodes");
    assert_eq!(d_pass.len(), 2);
    assert_eq!(d_pass[&locks[3]]["lock_name"], "Cellar");
    assert_eq!(d_pass[&locks[5]]["lock_name"], "Attic");
    assert_eq!(d_pass[&locks[3]]["code"], passcodes[&locks[3]]["code"]);
    let d_codes = by_lock(&delta.body, "access_codes");
    assert_eq!(d_codes.len(), 1);
    assert_eq!(d_codes[&locks[3]], codes[&locks[3]]);

    // Nothing new: no codes, no passcodes.
    let c2 = delta.body["cursor"].as_str().unwrap().to_string();
    let none = api.get(&format!("/api/v1/sync?since={c2}"), &staff).await;
    assert!(none.body["locks"].as_array().unwrap().is_empty());
    assert!(none.body["passcodes"].as_array().unwrap().is_empty());
    assert!(none.body["access_codes"].as_array().unwrap().is_empty());
}
