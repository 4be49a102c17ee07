//! Access with dates: a user's start, end and weekly hours, honoured by the server (lock
//! actions, credentials), at the door (the passcode's window, gone after the end) and in
//! the users table ("ending this week"), with nobody acting once the dates are set.

mod common;

use access_domain::period::WeeklyHours;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::RefusalReason;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use virtual_lock::KeypadOutcome;

use common::Api;
use common::paired::pair;

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

fn parse(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time"), &Rfc3339).unwrap()
}

/// An offset that makes the local time about noon now, so hours around noon hold now and
/// hours in the afternoon do not, whatever the time of day the test runs.
fn noon_offset() -> i16 {
    let now = OffsetDateTime::now_utc();
    let minute = i32::from(now.hour()) * 60 + i32::from(now.minute());
    (720 - minute) as i16
}

fn hours(from: u16, to: u16) -> Value {
    json!({"days": WeeklyHours::EVERY_DAY, "from_minute": from, "to_minute": to,
           "utc_offset_minutes": noon_offset()})
}

async fn set_period(api: &Api, admin: &str, user: &str, period: Value) -> common::Answer {
    api.put(
        &format!("/api/v1/users/{user}/period"),
        admin,
        json!({ "period": period }),
    )
    .await
}

async fn resident(api: &Api, admin: &str, email: &str, unit: &str, period: Value) -> String {
    api.invite(
        admin,
        json!({"user_type": "resident", "email": email,
               "access": {"type": "units", "unit_ids": [unit]}, "period": period}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_actions_and_credentials_follow_the_period() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Elm", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Elm 1").await;
    common::pair_identity(api, &admin, &lock).await;
    let (vendor_id, vendor) = api
        .team_member(
            &admin,
            "vendor@elm.example",
            json!(["rename_locks"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let cred = format!("/api/v1/locks/{lock}/credentials");
    let rename = |name: &'static str| {
        let (path, token) = (format!("/api/v1/locks/{lock}"), vendor.clone());
        async move { api.patch(&path, &token, json!({ "name": name })).await }
    };
    // No period: as before.
    assert_eq!(
        api.post(&cred, &vendor, json!({})).await.status,
        StatusCode::OK
    );

    // Before the start: refused with when it starts; the lock is still visible.
    let now = OffsetDateTime::now_utc();
    let start = (now + Duration::days(2)).replace_nanosecond(0).unwrap();
    let a = set_period(api, &admin, &vendor_id, json!({"starts_at": rfc(start)})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(parse(&a.body["period"]["starts_at"]), start);
    let me = api.get("/api/v1/me", &vendor).await;
    assert_eq!(parse(&me.body["period"]["starts_at"]), start);
    let early = api.post(&cred, &vendor, json!({})).await;
    assert_eq!(early.status, StatusCode::FORBIDDEN, "{:?}", early.body);
    assert_eq!(early.code(), "outside_access_period");
    assert!(
        early.message().starts_with("Your access starts on "),
        "{}",
        early.message()
    );
    assert_eq!(rename("Elm front").await.code(), "outside_access_period");
    let seen = api.get(&format!("/api/v1/locks/{lock}"), &vendor).await;
    assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);

    // After the end: refused, saying when it ended.
    let ended = set_period(
        api,
        &admin,
        &vendor_id,
        json!({"ends_at": rfc(now - Duration::hours(1))}),
    )
    .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    let late = api.post(&cred, &vendor, json!({})).await;
    assert_eq!(late.status, StatusCode::FORBIDDEN, "{:?}", late.body);
    assert!(
        late.message().starts_with("Your access ended on "),
        "{}",
        late.message()
    );

    // Outside the weekly hours: refused, naming them.
    let closed = set_period(
        api,
        &admin,
        &vendor_id,
        json!({"weekly_hours": hours(14 * 60, 15 * 60)}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let night = api.post(&cred, &vendor, json!({})).await;
    assert_eq!(night.status, StatusCode::FORBIDDEN, "{:?}", night.body);
    assert!(
        night
            .message()
            .starts_with("Outside your access hours (Mon-Sun 14:00-15:00 UTC"),
        "{}",
        night.message()
    );
    assert_eq!(rename("Elm front").await.code(), "outside_access_period");

    // Inside the hours: allowed, and the credential ends with the slot (about an hour),
    // not 24 h later.
    let open = set_period(
        api,
        &admin,
        &vendor_id,
        json!({"weekly_hours": hours(11 * 60, 13 * 60)}),
    )
    .await;
    assert_eq!(open.status, StatusCode::OK, "{:?}", open.body);
    assert_eq!(rename("Elm front").await.status, StatusCode::OK);
    let c = api.post(&cred, &vendor, json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let expires = parse(&c.body["expires_at"]);
    let now = OffsetDateTime::now_utc();
    assert!(
        expires <= now + Duration::minutes(61) && expires > now + Duration::minutes(58),
        "{expires} is the end of the slot"
    );

    // An end within the day: the credential never outlives it, and says so when checked
    // as the lock checks it.
    let end = (now + Duration::minutes(10)).replace_nanosecond(0).unwrap();
    let a = set_period(api, &admin, &vendor_id, json!({"ends_at": rfc(end)})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let c = api.post(&cred, &vendor, json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(parse(&c.body["expires_at"]), end);
    let org = api.get("/api/v1/organization/public-key", &admin).await;
    let org_key = STANDARD
        .decode(org.body["public_key"].as_str().unwrap())
        .unwrap();
    let bytes = STANDARD
        .decode(c.body["credential"].as_str().unwrap())
        .unwrap();
    let lock_id = uuid::Uuid::parse_str(&lock).unwrap();
    let after_end = end.unix_timestamp() as u64 + lock_protocol::credential::CLOCK_SKEW_SECS + 1;
    assert!(lock_protocol::credential::verify(&org_key, &bytes, lock_id, after_end).is_err());

    // Cleared: everything as before.
    let a = set_period(api, &admin, &vendor_id, json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let c = api.post(&cred, &vendor, json!({})).await;
    assert!(parse(&c.body["expires_at"]) > OffsetDateTime::now_utc() + Duration::hours(23));
}

#[tokio::test]
async fn impossible_periods_are_refused() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Ash", &["1"]).await;
    let now = OffsetDateTime::now_utc();
    let inverted = json!({"starts_at": rfc(now + Duration::days(2)),
                          "ends_at": rfc(now + Duration::days(1))});
    let bad_hours = [
        json!({"days": 0, "from_minute": 480, "to_minute": 1020, "utc_offset_minutes": 0}),
        json!({"days": 31, "from_minute": 1020, "to_minute": 480, "utc_offset_minutes": 0}),
        json!({"days": 31, "from_minute": 480, "to_minute": 1500, "utc_offset_minutes": 0}),
        json!({"days": 31, "from_minute": 480, "to_minute": 1020, "utc_offset_minutes": 900}),
    ];
    let invite = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "resident", "email": "x@ash.example",
                   "access": {"type": "units", "unit_ids": [units[0]]}, "period": inverted}),
        )
        .await;
    assert_eq!(
        invite.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        invite.body
    );
    let user = resident(api, &admin, "y@ash.example", &units[0], json!({})).await;
    let a = set_period(api, &admin, &user, inverted.clone()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    assert_eq!(a.message(), "The access end must be after its start.");
    for h in bad_hours {
        let a = set_period(api, &admin, &user, json!({ "weekly_hours": h })).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{h}: {:?}",
            a.body
        );
    }
    let detail = api.get(&format!("/api/v1/users/{user}"), &admin).await;
    assert_eq!(
        detail.body["period"],
        json!({"starts_at": null, "ends_at": null, "weekly_hours": null})
    );
}

#[tokio::test]
async fn the_users_table_filters_access_ending_this_week() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Pine", &["1"]).await;
    let now = OffsetDateTime::now_utc();
    let soon = now + Duration::days(3);
    let leaving = resident(
        api,
        &admin,
        "leaving@pine.example",
        &units[0],
        json!({"ends_at": rfc(soon)}),
    )
    .await;
    resident(
        api,
        &admin,
        "later@pine.example",
        &units[0],
        json!({"ends_at": rfc(now + Duration::days(10))}),
    )
    .await;
    resident(
        api,
        &admin,
        "gone@pine.example",
        &units[0],
        json!({"ends_at": rfc(now - Duration::days(1))}),
    )
    .await;
    resident(api, &admin, "staying@pine.example", &units[0], json!({})).await;
    let week = api.get("/api/v1/users?ending=week", &admin).await;
    assert_eq!(week.status, StatusCode::OK, "{:?}", week.body);
    assert_eq!(week.body["total"], 1, "{}", week.body);
    assert_eq!(week.body["items"][0]["id"], leaving.as_str());
    assert_eq!(
        parse(&week.body["items"][0]["period"]["ends_at"]).unix_timestamp(),
        soon.unix_timestamp()
    );
    // With the other filters and a search too.
    let both = api
        .get("/api/v1/users?ending=week&type=resident&q=pine", &admin)
        .await;
    assert_eq!(both.body["total"], 1, "{}", both.body);
    let all = api.get("/api/v1/users?ending=", &admin).await;
    assert_eq!(all.body["total"], 5, "{}", all.body);
    let bad = api.get("/api/v1/users?ending=month", &admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
}

fn opened(o: KeypadOutcome) -> bool {
    matches!(o, KeypadOutcome::Opened { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_holds_a_passcode_to_the_dates_and_drops_it_after_the_end() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Birch", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Birch 1").await;
    let a = api
        .put(
            &format!("/api/v1/locks/{}/mode", p.id),
            &admin,
            json!({"mode": "resident"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let end = now + Duration::minutes(30);
    let rid = resident(
        api,
        &admin,
        "tenant@birch.example",
        &units[0],
        json!({"starts_at": rfc(now - Duration::days(1)), "ends_at": rfc(end)}),
    )
    .await;
    let tenant = api
        .register(
            &admin,
            "tenant@birch.example",
            "tenant@birch.example",
            &common::next_phone(),
            "password-123",
        )
        .await;
    let d = api.get(&format!("/api/v1/users/{rid}"), &admin).await;
    let code = d.body["passcodes"][0]["code"].as_str().unwrap().to_string();

    // A guest code the resident shares never outlasts their own access.
    let hour = now.replace_minute(0).unwrap().replace_second(0).unwrap();
    let share = |hours: i64| {
        json!({"kind": "window", "delivery": "offline", "class": "guest", "label": "Guest",
               "starts_at": rfc(hour), "ends_at": rfc(hour + Duration::hours(hours))})
    };
    let too_long = p.give(api, &tenant, share(2)).await;
    assert_eq!(
        too_long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        too_long.body
    );
    assert!(
        too_long
            .message()
            .starts_with("A guest code you share ends by the end of your own access"),
        "{}",
        too_long.message()
    );

    // The update carries the passcode with the access dates as its window.
    p.contact(api, &admin).await;
    let held = |p: &common::paired::Paired, digits: &str| {
        p.lock
            .state()
            .codes
            .values()
            .find(|c| c.digits == digits)
            .cloned()
    };
    let window = held(&p, &code)
        .expect("on the lock")
        .window
        .expect("a window");
    assert_eq!(
        window.starts_at,
        (now - Duration::days(1)).unix_timestamp() as u64
    );
    assert_eq!(window.ends_at, end.unix_timestamp() as u64);
    assert!(opened(p.lock.keypad(&code)), "inside its dates it opens");

    // The lock itself refuses it after the end, with no phone coming.
    p.clock.advance(31 * 60);
    assert!(matches!(
        p.lock.keypad(&code),
        KeypadOutcome::Refused {
            reason: RefusalReason::CodeNotValidNow,
            ..
        }
    ));

    // A given permanent code with an end: the lock holds it to its end too.
    let contractor = p
        .give(
            api,
            &admin,
            json!({"kind": "permanent", "label": "Contractor",
                   "ends_at": rfc(OffsetDateTime::now_utc() + Duration::hours(1)), "delivery": "ble"}),
        )
        .await;
    assert_eq!(
        contractor.status,
        StatusCode::CREATED,
        "{:?}",
        contractor.body
    );
    let bad = p
        .give(
            api,
            &admin,
            json!({"kind": "permanent", "starts_at": rfc(now + Duration::hours(2)),
                   "ends_at": rfc(now + Duration::hours(1)), "delivery": "ble"}),
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.body
    );
    p.contact(api, &admin).await;
    let given = contractor.body["code"].as_str().unwrap();
    let w = held(&p, given)
        .and_then(|c| c.window)
        .expect("the given code has a window");
    assert_eq!(w.starts_at, 0);
    assert_eq!(
        w.ends_at,
        parse(&contractor.body["ends_at"]).unix_timestamp() as u64
    );

    // Once the access has ended on the platform's clock, the next update leaves the
    // passcode out: nobody acted.
    let end = OffsetDateTime::now_utc() + Duration::seconds(2);
    let a = set_period(api, &admin, &rid, json!({"ends_at": rfc(end)})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    p.contact(api, &admin).await;
    assert_eq!(
        held(&p, &code).and_then(|c| c.window).map(|w| w.ends_at),
        Some(end.unix_timestamp() as u64),
        "a new end reaches the lock"
    );
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    p.contact(api, &admin).await;
    assert!(
        held(&p, &code).is_none(),
        "the ended passcode left the lock at the next ordinary contact"
    );
}
