//! The OpenAPI document describes every answer the server gives: a realistic flow calls each
//! documented operation, with the refusals its extractors, middleware and rules produce
//! (malformed, oversized and mistyped bodies, unknown ids, missing sessions, other users'
//! rights, idempotency keys, throttles, expiry), and each answer must be one the document
//! lists for that operation: a documented status, the documented content type, and a body
//! valid against the documented schema (JSON Schema 2020-12, formats checked, with the
//! document's components beside it).
//!
//! Mismatches are collected over the whole flow and reported together.

mod common;

use std::collections::BTreeSet;

use access_server::store::StoreTestExt;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Answer, Api, next_phone, six_digits, token_in};
use lock_protocol::command::{Actor, Event, RefusalReason, Via};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A client whose every answer is checked against the document.
struct Checked {
    api: Api,
    doc: Value,
    /// (method, path template) of each operation called.
    called: BTreeSet<(String, String)>,
    mismatches: Vec<String>,
}

/// The document's path template that `path` (without its query) falls under: segments
/// match literally or as a `{parameter}`, literal matches preferred.
fn template_of<'d>(doc: &'d Value, path: &str) -> Option<&'d str> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            if ts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (t, s) in ts.iter().zip(&segments) {
                if t.starts_with('{') && t.ends_with('}') {
                    continue;
                }
                if t != s {
                    return None;
                }
                literal += 1;
            }
            Some((literal, t.as_str()))
        })
        .max()
        .map(|(_, t)| t)
}

impl Checked {
    async fn new(api: Api) -> Checked {
        let a = api
            .call(Method::GET, "/api/v1/openapi.json", None, None)
            .await;
        assert_eq!(a.status, StatusCode::OK);
        let mut c = Checked {
            api,
            doc: a.body.clone(),
            called: BTreeSet::new(),
            mismatches: Vec::new(),
        };
        c.check(&Method::GET, "/api/v1/openapi.json", &a);
        c
    }

    /// Records where `answer` (to `method path`) differs from the document.
    fn check(&mut self, method: &Method, path: &str, answer: &Answer) {
        let m = method.as_str().to_ascii_lowercase();
        let Some(template) = template_of(&self.doc, path) else {
            self.mismatches
                .push(format!("{method} {path}: no such path in the document"));
            return;
        };
        let template = template.to_string();
        let what = format!("{method} {template} -> {}", answer.status.as_u16());
        self.called.insert((m.clone(), template.clone()));
        let op = &self.doc["paths"][&template][&m];
        if op.is_null() {
            self.mismatches
                .push(format!("{what}: operation not documented"));
            return;
        }
        let responses = &op["responses"];
        let response = &responses[answer.status.as_str()];
        if response.is_null() {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            self.mismatches.push(format!(
                "{what}: status not documented (documented: {documented:?}); body {}",
                answer.body
            ));
            return;
        }
        let content_type = answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(json) = response["content"].get("application/json") else {
            if !answer.body.is_null() || !content_type.is_empty() {
                self.mismatches.push(format!(
                    "{what}: documented without content, answered {content_type:?} {}",
                    answer.body
                ));
            }
            return;
        };
        if !content_type.starts_with("application/json") {
            self.mismatches.push(format!(
                "{what}: documented as JSON, answered {content_type:?}"
            ));
            return;
        }
        let Some(schema) = json.get("schema") else {
            return;
        };
        if let Err(e) = self.validate(schema, &answer.body) {
            self.mismatches
                .push(format!("{what}: {e}; body {}", answer.body));
        }
    }

    /// Validates `body` against `schema`, resolving `#/components/...` in the document.
    fn validate(&self, schema: &Value, body: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        root.as_object_mut()
            .ok_or("the schema is not an object")?
            .insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the documented schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "body does not match the schema: {}",
                errors.join("; ")
            ))
        }
    }

    async fn call_with(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let a = self
            .api
            .call_with(method.clone(), path, token, body, headers)
            .await;
        self.check(&method, path, &a);
        a
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, body, &[]).await
    }

    async fn raw(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let a = self
            .api
            .raw(method.clone(), path, token, content_type, body)
            .await;
        self.check(&method, path, &a);
        a
    }

    async fn get(&mut self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }
    async fn post(&mut self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    async fn post_empty(&mut self, path: &str, token: &str) -> Answer {
        self.call(Method::POST, path, Some(token), None).await
    }
    async fn put(&mut self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    async fn patch(&mut self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// The newest outbox message to `to`.
    async fn last_message_to(&mut self, admin: &str, to: &str) -> String {
        let a = self.get("/api/v1/outbox?limit=1000", admin).await;
        want(&a, StatusCode::OK);
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to)
            .and_then(|m| m["body"].as_str())
            .unwrap_or_else(|| panic!("no message to {to}"))
            .to_string()
    }

    /// Registers from the newest invitation to `email` (one wrong SMS code first); returns
    /// the session token.
    async fn register(&mut self, admin: &str, email: &str) -> String {
        let token = token_in(&self.last_message_to(admin, email).await).unwrap();
        let r = self
            .call(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(
                    json!({"token": token, "email": email, "phone": next_phone(),
                            "password": "password-123", "name": "Someone"}),
                ),
            )
            .await;
        want(&r, StatusCode::CREATED);
        let id = r.body["registration_id"].as_str().unwrap().to_string();
        let phone = r.body["phone"].as_str().unwrap().to_string();
        let code = six_digits(&self.last_message_to(admin, &phone).await).unwrap();
        let verify = format!("/api/v1/registrations/{id}/verify");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let w = self
            .call(Method::POST, &verify, None, Some(json!({"code": wrong})))
            .await;
        want(&w, StatusCode::UNPROCESSABLE_ENTITY);
        let v = self
            .call(Method::POST, &verify, None, Some(json!({"code": code})))
            .await;
        want(&v, StatusCode::OK);
        v.body["token"].as_str().unwrap().to_string()
    }
}

/// Asserts the status (the flow depends on it); returns the body.
#[track_caller]
fn want(a: &Answer, status: StatusCode) -> Value {
    assert_eq!(a.status, status, "{:?}", a.body);
    a.body.clone()
}

fn id_of(a: &Answer) -> String {
    a.body["id"].as_str().expect("an id").to_string()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_matches_the_document() {
    let t = common::start().await;
    let mut c = Checked::new(t.api.clone()).await;
    let nobody = uuid::Uuid::new_v4();

    // Sessions: sign-in, its refusals, and the routes without a session.
    let s = c
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": access_server::TEST_ADMIN_EMAIL,
                        "password": access_server::TEST_ADMIN_PASSWORD})),
        )
        .await;
    let admin = want(&s, StatusCode::CREATED)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = admin.as_str();
    for _ in 0..5 {
        let a = c
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": "someone@x.example", "password": "wrong-password"})),
            )
            .await;
        want(&a, StatusCode::UNAUTHORIZED);
    }
    let a = c
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "someone@x.example", "password": "wrong-password"})),
        )
        .await;
    want(&a, StatusCode::TOO_MANY_REQUESTS);
    want(
        &c.call(Method::GET, "/api/v1/me", None, None).await,
        StatusCode::UNAUTHORIZED,
    );
    want(
        &c.call(Method::GET, "/api/v1/me", Some("no-such-token"), None)
            .await,
        StatusCode::UNAUTHORIZED,
    );
    want(&c.get("/api/v1/me", admin).await, StatusCode::OK);
    want(
        &c.get("/api/v1/access/summary", admin).await,
        StatusCode::OK,
    );

    // Bodies the JSON extractor refuses, and the body limit.
    let properties = "/api/v1/properties";
    let a = c
        .raw(
            Method::POST,
            properties,
            Some(admin),
            "application/json",
            b"{".to_vec(),
        )
        .await;
    want(&a, StatusCode::BAD_REQUEST);
    want(
        &c.post(properties, admin, json!({"name": 7})).await,
        StatusCode::BAD_REQUEST,
    );
    let a = c
        .raw(
            Method::POST,
            properties,
            Some(admin),
            "text/plain",
            b"{\"name\": \"x\"}".to_vec(),
        )
        .await;
    want(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = json!({"name": "x".repeat(70 * 1024)});
    want(
        &c.post(properties, admin, big.clone()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    want(
        &c.post(properties, admin, json!({"name": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // Properties and units.
    let p = c.post(properties, admin, json!({"name": "Oak"})).await;
    want(&p, StatusCode::CREATED);
    let property = id_of(&p);
    let units = format!("/api/v1/properties/{property}/units");
    let u = c.post(&units, admin, json!({"name": "1A"})).await;
    want(&u, StatusCode::CREATED);
    let unit = id_of(&u);
    let u2 = c.post(&units, admin, json!({"name": "1B"})).await;
    let other_unit = id_of(&u2);
    want(
        &c.post(
            &format!("/api/v1/properties/{nobody}/units"),
            admin,
            json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    want(
        &c.post(
            "/api/v1/properties/not-a-uuid/units",
            admin,
            json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    want(&c.get(properties, admin).await, StatusCode::OK);
    want(
        &c.get("/api/v1/organization/public-key", admin).await,
        StatusCode::OK,
    );

    // Idempotency keys: a replay, a key reused for another body, a key too long.
    let key = [("idempotency-key", "answers-1")];
    for _ in 0..2 {
        let a = c
            .call_with(
                Method::POST,
                properties,
                Some(admin),
                Some(json!({"name": "Once"})),
                &key,
            )
            .await;
        want(&a, StatusCode::CREATED);
    }
    let a = c
        .call_with(
            Method::POST,
            properties,
            Some(admin),
            Some(json!({"name": "Other"})),
            &key,
        )
        .await;
    want(&a, StatusCode::UNPROCESSABLE_ENTITY);
    let long = "k".repeat(201);
    let a = c
        .call_with(
            Method::POST,
            properties,
            Some(admin),
            Some(json!({"name": "Long"})),
            &[("idempotency-key", &long)],
        )
        .await;
    want(&a, StatusCode::BAD_REQUEST);

    // Locks: registration, reading, renaming, modes, codes.
    let l = c
        .post(
            "/api/v1/locks",
            admin,
            json!({"unit_id": unit, "name": "Front"}),
        )
        .await;
    want(&l, StatusCode::CREATED);
    let lock = id_of(&l);
    let l2 = c
        .post(
            "/api/v1/locks",
            admin,
            json!({"unit_id": other_unit, "name": "Back"}),
        )
        .await;
    want(&l2, StatusCode::CREATED);
    let unpaired = id_of(&l2);
    want(
        &c.post(
            "/api/v1/locks",
            admin,
            json!({"unit_id": nobody, "name": "X"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    want(
        &c.post("/api/v1/locks", admin, json!({"unit_id": unit, "name": ""}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(&c.get("/api/v1/locks?limit=1", admin).await, StatusCode::OK);
    want(
        &c.get("/api/v1/locks?after=nope", admin).await,
        StatusCode::BAD_REQUEST,
    );
    want(
        &c.get("/api/v1/locks?limit=many", admin).await,
        StatusCode::BAD_REQUEST,
    );
    let lock_path = format!("/api/v1/locks/{lock}");
    want(&c.get(&lock_path, admin).await, StatusCode::OK);
    want(
        &c.get(&format!("/api/v1/locks/{nobody}"), admin).await,
        StatusCode::NOT_FOUND,
    );
    want(
        &c.get("/api/v1/locks/not-a-uuid", admin).await,
        StatusCode::NOT_FOUND,
    );
    want(
        &c.patch(&lock_path, admin, json!({"name": "Front door"}))
            .await,
        StatusCode::OK,
    );
    want(
        &c.patch(&lock_path, admin, json!({"name": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let mode = format!("{lock_path}/mode");
    want(
        &c.put(&mode, admin, json!({"mode": "vacant"})).await,
        StatusCode::OK,
    );
    want(
        &c.put(&mode, admin, json!({"mode": "party"})).await,
        StatusCode::BAD_REQUEST,
    );
    want(
        &c.post_empty(&format!("{lock_path}/reset-codes"), admin)
            .await,
        StatusCode::OK,
    );
    want(
        &c.get(&format!("{lock_path}/master-code"), admin).await,
        StatusCode::OK,
    );

    // Pairing, credentials, revocations.
    let identity = format!("{lock_path}/identity");
    let key32 = STANDARD.encode([7u8; 32]);
    want(
        &c.put(&identity, admin, json!({"identity_public_key": "short"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.put(&identity, admin, json!({"identity_public_key": key32}))
            .await,
        StatusCode::OK,
    );
    want(
        &c.put(&identity, admin, json!({"identity_public_key": key32}))
            .await,
        StatusCode::CONFLICT,
    );
    want(
        &c.post_empty(&format!("{lock_path}/credentials"), admin)
            .await,
        StatusCode::OK,
    );
    want(
        &c.post_empty(&format!("/api/v1/locks/{unpaired}/credentials"), admin)
            .await,
        StatusCode::CONFLICT,
    );
    want(
        &c.get(&format!("{lock_path}/revocations"), admin).await,
        StatusCode::OK,
    );

    // The door: what the lock should hold, the update a phone carries, a contact's report.
    want(
        &c.get(&format!("{lock_path}/door"), admin).await,
        StatusCode::OK,
    );
    want(
        &c.get(&format!("{lock_path}/door-update"), admin).await,
        StatusCode::OK,
    );
    want(
        &c.get(&format!("/api/v1/locks/{unpaired}/door-update"), admin)
            .await,
        StatusCode::CONFLICT,
    );
    let secret = t.report_key(admin, &lock).await;
    let lock_id = uuid::Uuid::parse_str(&lock).unwrap();
    let clock = 1_800_000_000u64;
    let receipt = lock_protocol::door::receipt(&secret, lock_id, 0, 80, clock, "vlock-1");
    let report = |receipt: &[u8]| {
        json!({"door_version": 0, "battery": 80, "clock": clock,
               "firmware": "vlock-1", "receipt": STANDARD.encode(receipt)})
    };
    let contact = format!("{lock_path}/contact");
    want(
        &c.post(&contact, admin, report(&receipt)).await,
        StatusCode::OK,
    );
    want(
        &c.post(&contact, admin, report(&[0u8; 32])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.post(
            &format!("/api/v1/locks/{unpaired}/contact"),
            admin,
            report(&receipt),
        )
        .await,
        StatusCode::CONFLICT,
    );

    // Logs.
    let logs = format!("{lock_path}/logs");
    let report_key = t.report_key(admin, &lock).await;
    let entries = [
        common::log_entry(1, Actor::MasterCode, Via::Keypad, Event::Unlocked),
        common::log_entry(
            2,
            Actor::UnknownCode,
            Via::Keypad,
            Event::KeypadRefused {
                reason: RefusalReason::WrongCode,
            },
        ),
    ];
    let upload = json!({"pages": [common::log_page(&report_key, &lock, &entries)]});
    want(&c.post(&logs, admin, upload.clone()).await, StatusCode::OK);
    let replayed = c.post(&logs, admin, upload).await;
    assert_eq!(want(&replayed, StatusCode::OK)["duplicates"], 2);
    for bad in [
        json!({"pages": [common::log_page(&[9; 32], &lock, &entries)]}),
        json!({"pages": [{"entries": "not base64!", "mac": "AAAA"}]}),
        json!({"pages": vec![common::log_page(&report_key, &lock, &entries); 17]}),
    ] {
        want(
            &c.post(&logs, admin, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    want(&c.get(&logs, admin).await, StatusCode::OK);
    want(
        &c.get(&format!("{logs}?after=nope"), admin).await,
        StatusCode::BAD_REQUEST,
    );

    // Access codes: both deliveries, their refusals, states and revocation.
    let codes = format!("{lock_path}/access-codes");
    let ble = c
        .post(
            &codes,
            admin,
            json!({"kind": "permanent", "label": "Cleaner"}),
        )
        .await;
    want(&ble, StatusCode::CREATED);
    let ble_code = id_of(&ble);
    let ble_window = c
        .post(
            &codes,
            admin,
            json!({"kind": "window", "delivery": "ble", "label": "Guest",
                   "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-02T10:00:00Z"}),
        )
        .await;
    want(&ble_window, StatusCode::CREATED);
    let offline = c
        .post(
            &codes,
            admin,
            json!({"kind": "one_time", "delivery": "offline", "class": "guest", "label": "Walk-in"}),
        )
        .await;
    want(&offline, StatusCode::CREATED);
    let offline_code = id_of(&offline);
    let hour = time::OffsetDateTime::now_utc()
        .replace_minute(0)
        .unwrap()
        .replace_second(0)
        .unwrap()
        .replace_nanosecond(0)
        .unwrap();
    let window = c
        .post(
            &codes,
            admin,
            json!({"kind": "window", "delivery": "offline", "label": "Plumber",
                   "starts_at": rfc3339(hour), "ends_at": rfc3339(hour + time::Duration::hours(2))}),
        )
        .await;
    want(&window, StatusCode::CREATED);
    want(
        &c.post(
            &codes,
            admin,
            json!({"kind": "permanent", "delivery": "offline"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.post(&codes, admin, json!({"kind": "permanent", "class": "tour"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.post(
            &format!("/api/v1/locks/{unpaired}/access-codes"),
            admin,
            json!({"kind": "one_time", "delivery": "offline"}),
        )
        .await,
        StatusCode::CONFLICT,
    );
    want(&c.get(&codes, admin).await, StatusCode::OK);
    want(
        &c.get(&format!("{lock_path}/offline-codes"), admin).await,
        StatusCode::OK,
    );
    let revoke = |code: &str| format!("{codes}/{code}/revoke");
    want(
        &c.post_empty(&revoke(&offline_code), admin).await,
        StatusCode::OK,
    );
    want(
        &c.post_empty(&revoke(&offline_code), admin).await,
        StatusCode::CONFLICT,
    );
    want(
        &c.post_empty(&revoke(&ble_code), admin).await,
        StatusCode::OK,
    );
    want(
        &c.post_empty(&revoke(&ble_code), admin).await,
        StatusCode::CONFLICT,
    );
    want(
        &c.post_empty(&revoke(&nobody.to_string()), admin).await,
        StatusCode::NOT_FOUND,
    );

    // Manage Access: invitations, registration with its SMS step, the users.
    let access = json!({"type": "units", "unit_ids": [unit]});
    let inv = c
        .post(
            "/api/v1/invitations",
            admin,
            json!({"user_type": "team_member", "email": "tm@x.example",
                   "permissions": [], "access": access}),
        )
        .await;
    want(&inv, StatusCode::CREATED);
    let member = inv.body["user_id"].as_str().unwrap().to_string();
    want(
        &c.post(
            "/api/v1/invitations",
            admin,
            json!({"user_type": "resident", "email": "r@x.example",
                   "permissions": ["view_logs"], "access": access}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.post(
            "/api/v1/invitations",
            admin,
            json!({"user_type": "team_member", "username": "nobody-here",
                   "permissions": [], "access": access}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    let resend = |user: &str| format!("/api/v1/users/{user}/resend-invite");
    want(&c.post_empty(&resend(&member), admin).await, StatusCode::OK);
    let registration = json!({"token": "not-a-token", "email": "tm@x.example",
                              "phone": "+15550001111", "password": "password-123", "name": "T"});
    want(
        &c.call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(registration),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    let token = token_in(&c.last_message_to(admin, "tm@x.example").await).unwrap();
    want(
        &c.call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": token, "email": "tm@x.example", "phone": "12",
                        "password": "password-123", "name": "T"}),
            ),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    want(
        &c.call(
            Method::POST,
            &format!("/api/v1/registrations/{nobody}/verify"),
            None,
            Some(json!({"code": "123456"})),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    let member_token = c.register(admin, "tm@x.example").await;
    want(
        &c.post_empty(&resend(&member), admin).await,
        StatusCode::CONFLICT,
    );
    want(
        &c.post_empty(&resend(&nobody.to_string()), admin).await,
        StatusCode::NOT_FOUND,
    );

    // Too many wrong SMS codes.
    let second = c
        .post(
            "/api/v1/invitations",
            admin,
            json!({"user_type": "resident", "email": "res@x.example",
                   "permissions": [], "access": access}),
        )
        .await;
    want(&second, StatusCode::CREATED);
    let resident = second.body["user_id"].as_str().unwrap().to_string();
    let token = token_in(&c.last_message_to(admin, "res@x.example").await).unwrap();
    let r = c
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": token, "email": "res@x.example", "phone": next_phone(),
                        "password": "password-123", "name": "R"}),
            ),
        )
        .await;
    want(&r, StatusCode::CREATED);
    let verify = format!(
        "/api/v1/registrations/{}/verify",
        r.body["registration_id"].as_str().unwrap()
    );
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        last = c
            .call(Method::POST, &verify, None, Some(json!({"code": "0"})))
            .await
            .status;
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);

    // An expired invitation and an expired SMS code.
    let late = c
        .post(
            "/api/v1/invitations",
            admin,
            json!({"user_type": "resident", "email": "late@x.example",
                   "permissions": [], "access": access}),
        )
        .await;
    let late_user = uuid::Uuid::parse_str(late.body["user_id"].as_str().unwrap()).unwrap();
    let token = token_in(&c.last_message_to(admin, "late@x.example").await).unwrap();
    let late_registration = json!({"token": token, "email": "late@x.example",
                                   "phone": next_phone(), "password": "password-123", "name": "L"});
    let r = c
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(late_registration.clone()),
        )
        .await;
    want(&r, StatusCode::CREATED);
    let late_verify = format!(
        "/api/v1/registrations/{}/verify",
        r.body["registration_id"].as_str().unwrap()
    );
    let store = t.server.store();
    tokio::task::spawn_blocking(move || store.age_pending(late_user, 8 * 24 * 3600))
        .await
        .unwrap()
        .unwrap();
    want(
        &c.call(
            Method::POST,
            &late_verify,
            None,
            Some(json!({"code": "123456"})),
        )
        .await,
        StatusCode::GONE,
    );
    want(
        &c.call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(late_registration),
        )
        .await,
        StatusCode::GONE,
    );

    // The users.
    want(&c.get("/api/v1/users?limit=2", admin).await, StatusCode::OK);
    want(
        &c.get("/api/v1/users?sort=height", admin).await,
        StatusCode::BAD_REQUEST,
    );
    let user = |id: &str| format!("/api/v1/users/{id}");
    want(&c.get(&user(&member), admin).await, StatusCode::OK);
    want(
        &c.get(&user(&nobody.to_string()), admin).await,
        StatusCode::NOT_FOUND,
    );
    let perms = |id: &str| format!("/api/v1/users/{id}/permissions");
    want(
        &c.put(
            &perms(&member),
            admin,
            json!({"permissions": ["view_logs"]}),
        )
        .await,
        StatusCode::OK,
    );
    want(
        &c.put(
            &perms(&resident),
            admin,
            json!({"permissions": ["view_logs"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let me = c.get("/api/v1/me", admin).await;
    let admin_id = me.body["id"].as_str().unwrap().to_string();
    want(
        &c.put(&perms(&admin_id), admin, json!({"permissions": []}))
            .await,
        StatusCode::FORBIDDEN,
    );
    let access_path = |id: &str| format!("/api/v1/users/{id}/access");
    want(
        &c.put(
            &access_path(&member),
            admin,
            json!({"access": {"type": "units", "unit_ids": [unit, other_unit]}}),
        )
        .await,
        StatusCode::OK,
    );
    want(
        &c.put(&access_path(&member), admin, json!({"type": "everything"}))
            .await,
        StatusCode::BAD_REQUEST,
    );
    want(
        &c.put(
            &access_path(&member),
            admin,
            json!({"type": "units", "unit_ids": [nobody]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // What a team member may not do.
    want(
        &c.get("/api/v1/access/summary", &member_token).await,
        StatusCode::FORBIDDEN,
    );
    want(
        &c.get(&format!("{lock_path}/master-code"), &member_token)
            .await,
        StatusCode::FORBIDDEN,
    );
    want(&c.get(&logs, &member_token).await, StatusCode::OK);
    want(&c.get("/api/v1/sync", &member_token).await, StatusCode::OK);

    // Sync.
    let s = c.get("/api/v1/sync", admin).await;
    want(&s, StatusCode::OK);
    let cursor = s.body["cursor"].as_str().unwrap().to_string();
    want(
        &c.get(&format!("/api/v1/sync?since={cursor}"), admin).await,
        StatusCode::OK,
    );
    want(
        &c.get("/api/v1/sync?since=yesterday", admin).await,
        StatusCode::BAD_REQUEST,
    );

    // Revocation: the user's token stops at once; oneself is refused.
    let revoke_user = |id: &str| format!("/api/v1/users/{id}/revoke");
    want(
        &c.post_empty(&revoke_user(&admin_id), admin).await,
        StatusCode::FORBIDDEN,
    );
    want(
        &c.post_empty(&revoke_user(&member), admin).await,
        StatusCode::OK,
    );
    want(
        &c.get("/api/v1/me", &member_token).await,
        StatusCode::UNAUTHORIZED,
    );
    want(
        &c.put(&perms(&member), admin, json!({"permissions": []}))
            .await,
        StatusCode::CONFLICT,
    );
    want(
        &c.post_empty(&revoke_user(&nobody.to_string()), admin).await,
        StatusCode::NOT_FOUND,
    );
    want(
        &c.get("/api/v1/outbox?after=nope", admin).await,
        StatusCode::BAD_REQUEST,
    );

    // Signing out ends the session.
    let current = "/api/v1/sessions/current";
    want(
        &c.call(Method::DELETE, current, Some(admin), None).await,
        StatusCode::NO_CONTENT,
    );
    want(
        &c.call(Method::DELETE, current, Some(admin), None).await,
        StatusCode::UNAUTHORIZED,
    );

    // Every documented operation, once more without a session or a body (and its ids
    // unknown): the refusals of the extractors.
    let mut documented = BTreeSet::new();
    for (path, item) in c.doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    for (method, path) in &documented {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let concrete = path
            .replace("{id}", &nobody.to_string())
            .replace("{code_id}", &nobody.to_string());
        c.call(method, &concrete, None, None).await;
    }

    // Every documented operation was called.
    let uncalled: Vec<_> = documented.difference(&c.called).collect();
    assert!(uncalled.is_empty(), "operations never called: {uncalled:?}");
    assert!(
        c.mismatches.is_empty(),
        "{} answers differ from the OpenAPI document:\n{}",
        c.mismatches.len(),
        c.mismatches.join("\n")
    );
    t.server.shutdown().await;
}
