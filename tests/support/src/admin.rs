//! The administrator over plain HTTP, as the web page drives the server.

use access_domain::Permission;
use reqwest::Method;
use serde_json::{Value, json};

/// A signed-in administrator of the test organization.
pub struct Admin {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

impl Admin {
    /// Signs in as the administrator that `ServerConfig::for_tests` creates.
    pub async fn login(base: &str) -> Admin {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": access_server::TEST_ADMIN_EMAIL,
                          "password": access_server::TEST_ADMIN_PASSWORD}))
            .send()
            .await
            .expect("sign-in request")
            .json()
            .await
            .expect("sign-in answer");
        Admin {
            base: base.to_string(),
            http,
            token: r["token"].as_str().expect("admin token").to_string(),
        }
    }

    /// Any call: status and JSON body (Null when the body is not JSON).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("answer read");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A call that must succeed; its body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(Method::POST, path, Some(body)).await
    }

    /// Creates a property; its id.
    pub async fn property(&self, name: &str) -> String {
        id(&self.post("/api/v1/properties", json!({"name": name})).await)
    }

    /// Creates a unit of `property`; its id.
    pub async fn unit(&self, property: &str, name: &str) -> String {
        let path = format!("/api/v1/properties/{property}/units");
        id(&self.post(&path, json!({"name": name})).await)
    }

    /// Registers a lock (not paired) in `unit`; its id.
    pub async fn lock(&self, unit: &str, name: &str) -> String {
        id(&self
            .post("/api/v1/locks", json!({"unit_id": unit, "name": name}))
            .await)
    }

    /// Invites; returns the user id.
    pub async fn invite(
        &self,
        user_type: &str,
        email: &str,
        permissions: &[&str],
        access: Value,
    ) -> String {
        let v = self
            .post(
                "/api/v1/invitations",
                json!({"user_type": user_type, "email": email, "permissions": permissions,
                       "access": access}),
            )
            .await;
        v["user_id"].as_str().expect("user_id").to_string()
    }

    pub async fn set_permissions(&self, user: &str, permissions: &[&str]) {
        let path = format!("/api/v1/users/{user}/permissions");
        let body = json!({"permissions": permissions});
        self.ok(Method::PUT, &path, Some(body)).await;
    }

    pub async fn revoke(&self, user: &str) {
        self.post(&format!("/api/v1/users/{user}/revoke"), json!({}))
            .await;
    }

    pub async fn master_code(&self, lock: &str) -> String {
        let v = self.get(&format!("/api/v1/locks/{lock}/master-code")).await;
        v["code"].as_str().expect("master code").to_string()
    }

    /// The lock's log, newest first: server audit entries and entries read from the lock.
    pub async fn logs(&self, lock: &str) -> Vec<Value> {
        let v = self
            .get(&format!("/api/v1/locks/{lock}/logs?limit=1000"))
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The lock's log entries of `action`.
    pub async fn log_actions(&self, lock: &str, action: &str) -> Vec<Value> {
        let mut log = self.logs(lock).await;
        log.retain(|e| e["action"] == action);
        log
    }

    /// The lock's log entries read from the lock itself (source `lock`).
    pub async fn lock_log(&self, lock: &str) -> Vec<Value> {
        let mut log = self.logs(lock).await;
        log.retain(|e| e["source"] == "lock");
        log
    }

    /// The outbox, newest first.
    pub async fn outbox(&self) -> Vec<Value> {
        let v = self.get("/api/v1/outbox?limit=1000").await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The body of the newest message on `channel` to `to`.
    async fn last_message(&self, channel: &str, to: &str) -> String {
        let m = self
            .outbox()
            .await
            .into_iter()
            .find(|m| m["channel"] == channel && m["to"] == to)
            .unwrap_or_else(|| panic!("no {channel} to {to}"));
        m["body"].as_str().expect("message body").to_string()
    }

    /// The link with a token (an invitation, a password reset) in the newest mail to `email`.
    pub async fn invitation_link(&self, email: &str) -> String {
        let body = self.last_message("email", email).await;
        // The link with the token: the mail may also link the app stores.
        let token_at = body
            .find("token=")
            .expect("a link with a token in the mail");
        let start = body[..token_at].rfind("http").expect("a link in the mail");
        body[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ')', '>'])
            .to_string()
    }

    /// The 6-digit code of the newest SMS to `phone` (as the server normalized it).
    pub async fn sms_code(&self, phone: &str) -> String {
        let body = self.last_message("sms", phone).await;
        let chars: Vec<char> = body.chars().collect();
        chars
            .windows(6)
            .find(|w| w.iter().all(|c| c.is_ascii_digit()))
            .map(|w| w.iter().collect())
            .unwrap_or_else(|| panic!("no code in {body:?}"))
    }
}

/// The `id` of a created object.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Every permission, as invitations name them.
pub fn all_permissions() -> Vec<&'static str> {
    Permission::ALL.iter().map(|p| p.as_str()).collect()
}

/// Access to these units.
pub fn units(ids: &[&str]) -> Value {
    json!({"type": "units", "unit_ids": ids})
}
