//! The limits an attacker meets: sign-in throttling under parallel requests, the same work
//! for unknown emails, registration and SMS limits, invitations bound to a phone.

mod common;

use std::time::{Duration, Instant};

use access_server::config::{TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use access_server::secrets::PasswordCost;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn login(api: &common::Api, email: &str, password: &str) -> common::Answer {
    api.call(
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_wrong_sign_ins_check_at_most_five_passwords() {
    let t = common::start().await;
    let api = &t.api;
    let answers = join_all((0..50).map(|_| login(api, TEST_ADMIN_EMAIL, "wrong password"))).await;
    let wrong = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(wrong + refused, 50, "only 401 or 429");
    assert!(wrong <= 5, "{wrong} passwords checked; the limit is 5");
    assert_eq!(refused, 50 - wrong);
    // The right password waits out the window too: the limit is the email's, not a guess's.
    let right = login(api, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.code(), "too_many_attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_sign_in_does_not_count_against_the_address() {
    let t = common::start().await;
    let api = &t.api;
    // More successful sign-ins from one address than its failure limit (50).
    for _ in 0..55 {
        let a = login(api, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_takes_the_work_of_a_known_one() {
    // A cost whose check takes far longer than the rest of a sign-in.
    let t = common::start_with(|c| {
        c.password_cost = PasswordCost {
            memory_kib: 4 * 1024,
            passes: 2,
        }
    })
    .await;
    let api = &t.api;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let start = Instant::now();
        let a = login(api, TEST_ADMIN_EMAIL, "not the password").await;
        known.push(start.elapsed());
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let start = Instant::now();
        let a = login(api, &format!("nobody{i}@example.test"), "not the password").await;
        unknown.push(start.elapsed());
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.code(), "invalid_credentials");
    }
    let (known, unknown) = (median(known), median(unknown));
    // Without the dummy check an unknown email answers in a small fraction of the time.
    assert!(
        unknown * 2 >= known,
        "unknown email {unknown:?} against known {known:?}: timing tells them apart"
    );
}

async fn register_once(api: &common::Api, token: &str, phone: &str, n: usize) -> common::Answer {
    api.call(
        Method::POST,
        "/api/v1/registrations",
        None,
        Some(
            json!({"token": token, "email": format!("taker{n}@example.test"), "phone": phone,
                    "password": "password-123", "name": format!("Taker {n}")}),
        ),
    )
    .await
}

/// The SMS in the outbox by delivery: (sent or kept for the operator, refused).
async fn sms_counts(api: &common::Api, admin: &str) -> (usize, usize) {
    let out = api.get("/api/v1/outbox?limit=1000", admin).await;
    let sms: Vec<&Value> = out.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "sms")
        .collect();
    let refused = sms.iter().filter(|m| m["delivery"] == "refused").count();
    (sms.len() - refused, refused)
}

async fn resident_invitation(api: &common::Api, admin: &str, email: &str, phone: Option<&str>) {
    let (_, units) = api.property(admin, &format!("P {email}"), &["1"]).await;
    let mut body = json!({"user_type": "resident", "email": email,
                          "access": {"type": "units", "unit_ids": [units[0]]}});
    if let Some(p) = phone {
        body["phone"] = json!(p);
    }
    api.invite(admin, body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_registrations_on_one_invitation_send_at_most_five_sms() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    resident_invitation(api, &admin, "leaked@example.test", None).await;
    let token = api.invitation_token(&admin, "leaked@example.test").await;
    let phones: Vec<String> = (0..100).map(|_| common::next_phone()).collect();
    let answers = join_all(
        phones
            .iter()
            .enumerate()
            .map(|(n, p)| register_once(api, &token, p, n)),
    )
    .await;
    let accepted = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert!(accepted <= 5, "{accepted} registrations accepted");
    assert!(answers.iter().all(|a| a.status == StatusCode::CREATED
        || (a.status == StatusCode::TOO_MANY_REQUESTS && a.code() == "too_many_attempts")));
    let (sent, refused) = sms_counts(api, &admin).await;
    assert_eq!(sent, accepted, "one SMS per accepted registration, no more");
    assert_eq!(
        refused, 1,
        "the refusal is noted once, not once per attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_phone_number_gets_at_most_five_codes_a_day_over_all_invitations() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let phone = common::next_phone();
    let mut statuses = Vec::new();
    for n in 0..7 {
        let email = format!("victim{n}@example.test");
        resident_invitation(api, &admin, &email, None).await;
        let token = api.invitation_token(&admin, &email).await;
        statuses.push(register_once(api, &token, &phone, n).await.status);
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::CREATED; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 2]
        ]
        .concat()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_sms_budget_holds_over_all_registrations() {
    let t = common::start_with(|c| c.sms_per_hour = 3).await;
    let api = &t.api;
    let admin = api.admin().await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let email = format!("budget{n}@example.test");
        resident_invitation(api, &admin, &email, None).await;
        let token = api.invitation_token(&admin, &email).await;
        let a = register_once(api, &token, &common::next_phone(), n).await;
        statuses.push(a.status);
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::CREATED; 3].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 2]
        ]
        .concat()
    );
    let out = api.get("/api/v1/outbox?limit=1000", &admin).await;
    let refused: Vec<&Value> = out.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["delivery"] == "refused")
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "each refused invitation noted: {refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|m| m["body"].as_str().unwrap().contains("hourly SMS budget")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_that_names_a_phone_is_completed_only_from_it() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Bound", &["1"]).await;
    let bad = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "resident", "email": "bound@example.test", "phone": "555-0100",
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.code(), "invalid_phone");
    resident_invitation(api, &admin, "bound@example.test", Some("+1 555 210 0200")).await;
    let token = api.invitation_token(&admin, "bound@example.test").await;
    let thief = register_once(api, &token, "+15552100999", 1).await;
    assert_eq!(
        thief.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        thief.body
    );
    assert_eq!(thief.code(), "invalid_phone");
    assert_eq!(
        sms_counts(api, &admin).await,
        (0, 0),
        "no SMS to the wrong phone"
    );
    let owner = register_once(api, &token, "+15552100200", 2).await;
    assert_eq!(owner.status, StatusCode::CREATED, "{:?}", owner.body);
}
