//! `GET /api/v1/users`: type/status filters, search, sort both ways, keyset pagination
//! that covers every row once, and refusals of unknown values.

mod common;

use std::collections::HashSet;

use common::{Api, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Follows `next` from the first page to the last; returns every row in order.
async fn all_pages(api: &Api, admin: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after = String::new();
    for _ in 0..100 {
        let a = api
            .get(
                &format!("/api/v1/users?{query}&limit={limit}&after={after}"),
                admin,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {:?}", a.body);
        let items = a.body["items"].as_array().unwrap();
        assert!(
            items.len() <= limit as usize,
            "{query}: page over the limit"
        );
        rows.extend(items.iter().cloned());
        match a.body["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => return rows,
        }
    }
    panic!("{query}: pagination does not end");
}

fn emails(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["invited_email"].as_str().unwrap_or("").to_string())
        .collect()
}

/// What the table shows as the name: name, else username, else invited email.
fn shown_name(r: &Value) -> String {
    ["name", "username", "invited_email"]
        .iter()
        .find_map(|k| r[k].as_str())
        .unwrap_or("")
        .to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_search_sort_and_pages() {
    let t = start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Birch", &["1", "2"]).await;
    let unit = json!({"type": "units", "unit_ids": [units[0]]});

    // Pending team members and residents.
    for i in 0..4 {
        api.invite(
            &admin,
            json!({"user_type": "team_member", "email": format!("crew{i}@birch.example"),
                   "permissions": ["view_logs"], "access": {"type": "all_locks"}}),
        )
        .await;
        api.invite(
            &admin,
            json!({"user_type": "resident", "email": format!("tenant{i}@birch.example"),
                   "access": unit}),
        )
        .await;
    }
    // Active ones: registered with another email (searchable) and a name.
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "zed@birch.example", "access": unit}),
    )
    .await;
    api.register(
        &admin,
        "zed@birch.example",
        "Zed.Home@Mail.example",
        &common::next_phone(),
        "password-123",
    )
    .await;
    api.team_member(
        &admin,
        "agent@birch.example",
        json!(["view_logs"]),
        json!({"type": "all_locks"}),
    )
    .await;
    // A revoked one.
    let gone = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "gone@birch.example", "access": unit}),
        )
        .await;
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{gone}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Everyone: the administrator + 8 pending + 2 registered + 1 revoked.
    let everyone = api.get("/api/v1/users?limit=200", &admin).await;
    assert_eq!(everyone.status, StatusCode::OK);
    let n = everyone.body["items"].as_array().unwrap().len();
    assert_eq!(n, 12, "{:?}", everyone.body);
    assert_eq!(everyone.body["total"], 12);

    // Filters.
    let residents = all_pages(api, &admin, "type=resident", 50).await;
    assert_eq!(residents.len(), 6);
    assert!(residents.iter().all(|r| r["user_type"] == "resident"));
    let pending = all_pages(api, &admin, "status=pending", 50).await;
    assert_eq!(pending.len(), 8);
    assert!(pending.iter().all(|r| r["status"] == "pending"));
    let both = api
        .get("/api/v1/users?type=team_member&status=pending", &admin)
        .await;
    assert_eq!(both.body["total"], 4);
    assert!(
        emails(both.body["items"].as_array().unwrap())
            .iter()
            .all(|e| e.starts_with("crew"))
    );
    let revoked = all_pages(api, &admin, "status=revoked", 50).await;
    assert_eq!(emails(&revoked), vec!["gone@birch.example"]);

    // Search: invited email, email used at registration (any case), name.
    let crew = all_pages(api, &admin, "q=CREW", 50).await;
    assert_eq!(crew.len(), 4);
    let by_registered = all_pages(api, &admin, "q=zed.home", 50).await;
    assert_eq!(emails(&by_registered), vec!["zed@birch.example"]);
    let by_name = all_pages(api, &admin, "q=user%20agent", 50).await;
    assert_eq!(emails(&by_name), vec!["agent@birch.example"]);
    let none = api.get("/api/v1/users?q=nobody-here", &admin).await;
    assert_eq!(none.body["items"], json!([]));
    assert_eq!(none.body["total"], 0);
    assert_eq!(none.body["next"], Value::Null);
    // `%` is a character to find, not a wildcard.
    let pct = api.get("/api/v1/users?q=%25", &admin).await;
    assert_eq!(pct.body["total"], 0);

    // Every sort, both ways, pages of 5: all rows once, in order.
    for sort in [
        "name",
        "type",
        "status",
        "access_type",
        "email",
        "invited_at",
    ] {
        let asc = all_pages(api, &admin, &format!("sort={sort}&order=asc"), 5).await;
        let desc = all_pages(api, &admin, &format!("sort={sort}&order=desc"), 5).await;
        for rows in [&asc, &desc] {
            let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(rows.len(), 12, "{sort}");
            assert_eq!(ids.len(), 12, "{sort}: a row twice");
        }
        let mut back = desc.clone();
        back.reverse();
        if sort != "email" {
            assert_eq!(asc, back, "{sort}: desc is not asc reversed");
        }
        let key = |r: &Value| -> String {
            match sort {
                "name" => shown_name(r),
                "type" => r["user_type"].as_str().unwrap().into(),
                "status" | "access_type" => r[sort].as_str().unwrap().into(),
                "email" => r["registered_email"]
                    .as_str()
                    .map(|e| format!("0{}", e.to_lowercase()))
                    .unwrap_or("1".into()),
                _ => r["invited_at"].as_str().unwrap().into(),
            }
        };
        let keys: Vec<String> = asc.iter().map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if sort != "invited_at" {
            assert_eq!(keys, sorted, "{sort} asc");
        }
        if sort == "email" {
            // Rows with a registered email first in both orders, the others last.
            for rows in [&asc, &desc] {
                let with: Vec<bool> = rows
                    .iter()
                    .map(|r| r["registered_email"].is_string())
                    .collect();
                let first_without = with.iter().position(|w| !w).unwrap();
                assert!(with[first_without..].iter().all(|w| !w), "{sort}: {with:?}");
                assert_eq!(first_without, 3, "admin + 2 registered");
            }
        }
    }
    // Newest first by default (invited_at is stored to the second, so ties go by id).
    let default = all_pages(api, &admin, "q=", 4).await;
    let newest = all_pages(api, &admin, "sort=invited_at&order=desc", 4).await;
    assert_eq!(default, newest);
    let times: Vec<&str> = newest
        .iter()
        .map(|r| r["invited_at"].as_str().unwrap())
        .collect();
    let parsed: Vec<time::OffsetDateTime> = times
        .iter()
        .map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        })
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filters and pagination together.
    let paged = all_pages(api, &admin, "type=resident&sort=name&order=desc", 2).await;
    assert_eq!(paged.len(), 6);
    let names: Vec<String> = paged.iter().map(shown_name).collect();
    let mut expect = names.clone();
    expect.sort();
    expect.reverse();
    assert_eq!(names, expect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_values_are_refused() {
    let t = start().await;
    let admin = t.api.admin().await;
    for q in [
        "type=owner",
        "status=gone",
        "sort=age",
        "order=up",
        "after=not-a-cursor",
        "after=00ff",
    ] {
        let a = t.api.get(&format!("/api/v1/users?{q}"), &admin).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}: {:?}", a.body);
        assert_eq!(a.code(), "bad_request", "{q}");
    }
    let ok = t
        .api
        .get(
            "/api/v1/users?type=resident&status=active&sort=email&order=asc",
            &admin,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}
