//! [`AccessClient`]: the object the apps hold. It ties the HTTP layer, the cache, the queue
//! and the secret store together, gates every action with `access_domain::authorize`
//! before anything is sent, and maps every failure to [`AccessError`] once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use access_domain::api::{
    AccessCode, AccessCodeRequest, Lock, LogEntry, LoginRequest, MasterCode, Me, ModeRequest, Page,
    RegistrationRequest, RegistrationResponse, RenameRequest, SessionResponse, SyncResponse,
    VerifyRequest,
};
use access_domain::{
    AccessCodeKind, Action, Actor, LockMode, UserStatus, authorize, normalize_phone,
};
use reqwest::Method;
use rusqlite::Connection;
use tokio::sync::Mutex as AsyncMutex;
use uuid::Uuid;

use crate::cache::{self, Store, StoreError};
use crate::callback::Listener;
use crate::http::{self, Api, Timeouts};
use crate::model::*;
use crate::queue::{self, Queued, State};
use crate::secrets::SecretStore;
use crate::{AccessError, CoreLogger, LogLevel, invitation};

const TOKEN_KEY: &str = "session_token";
const DONE_ROWS_KEPT: u32 = 200;
/// Error code of a replay whose idempotency key the server is still working on.
pub(crate) const IN_PROGRESS: &str = "idempotency_in_progress";

/// The core's client object: one per app process.
#[derive(uniffi::Object)]
pub struct AccessClient {
    app: access_domain::App,
    pub(crate) api: Api,
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    /// The token as last read from or written to `secrets` (outer `None`: not read yet).
    token: Mutex<Option<Option<String>>>,
    /// One replay at a time, so queued actions go out in order.
    replay: AsyncMutex<()>,
    /// Locks over BLE (`crate::ble`).
    pub(crate) ble: crate::ble::BleState,
    _live: crate::live_objects::LiveObject,
}

/// How one replay went, inside the core.
struct Replay {
    sent: u32,
    /// Refused for good, with the typed error.
    failed: Vec<(i64, AccessError)>,
    /// The error that stopped the replay with actions still pending.
    stopped: Option<AccessError>,
}

fn parse_id(id: &str) -> Result<Uuid, AccessError> {
    // An id the cache cannot hold is a lock nobody can see.
    Uuid::parse_str(id.trim()).map_err(|_| AccessError::NotFound)
}

impl AccessClient {
    /// Runs `f` on the cache connection on a blocking thread.
    pub(crate) async fn db<R, F>(&self, f: F) -> Result<R, AccessError>
    where
        R: Send + 'static,
        F: FnOnce(&mut cache::Db) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Boxed, so every caller runs the same task type: tokio's task code is compiled
        // once instead of once per call site (bindings/README.md, "Release size").
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            let _ = tx.send(f(&mut store.conn()));
        });
        // A panic in `f` comes back here as a JoinError where panics unwind (debug builds;
        // the shipped library aborts); otherwise the answer was sent.
        tokio::task::spawn_blocking(job).await?;
        let answer = rx.await.map_err(|_| AccessError::Storage {
            message: "background task ended without an answer".into(),
        })?;
        Ok(answer?)
    }

    fn token(&self) -> Result<Option<String>, AccessError> {
        let mut t = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_none() {
            *t = Some(self.secrets.get(TOKEN_KEY.into())?);
        }
        Ok(t.clone().flatten())
    }

    pub(crate) fn require_token(&self) -> Result<String, AccessError> {
        self.token()?.ok_or(AccessError::NotSignedIn)
    }

    fn set_token(&self, token: Option<String>) -> Result<(), AccessError> {
        match &token {
            Some(v) => self.secrets.set(TOKEN_KEY.into(), v.clone())?,
            None => self.secrets.delete(TOKEN_KEY.into())?,
        }
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(())
    }

    /// Forgets everything this device knows about the account.
    async fn wipe(&self) -> Result<(), AccessError> {
        let r1 = self.set_token(None);
        let r2 = self.db(|c| cache::wipe(c)).await;
        r1.and(r2)
    }

    /// Applies what an error means for local state: a revoked user is wiped; a session the
    /// server no longer knows is forgotten (the cache stays for offline use until another
    /// account signs in).
    async fn settle(&self, e: AccessError) -> AccessError {
        match e {
            AccessError::Revoked => {
                tracing::warn!("access revoked: wiping the cache and the session");
                if let Err(w) = self.wipe().await {
                    tracing::error!("wipe after revocation failed: {w}");
                }
            }
            AccessError::NotSignedIn => {
                tracing::info!("the server ended the session");
                if let Err(w) = self.set_token(None) {
                    tracing::error!("cannot forget the session: {w}");
                }
            }
            _ => {}
        }
        e
    }

    pub(crate) async fn request<B: serde::Serialize + ?Sized, T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        key: Option<&str>,
    ) -> Result<T, AccessError> {
        let token = self.require_token()?;
        match self.api.send(method, path, Some(&token), body, key).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.settle(e.into()).await),
        }
    }

    /// The cached user and lock, after the gate allowed `action` on it.
    pub(crate) async fn gate(
        &self,
        lock_id: &str,
        action: Action,
    ) -> Result<(Me, Lock), AccessError> {
        self.require_token()?;
        let id = parse_id(lock_id)?;
        let (me, lock) = self
            .db(move |c| {
                let me = cache::me(c)?;
                let lock = cache::lock(c, id);
                Ok((me, lock))
            })
            .await?;
        let me = me.ok_or(AccessError::NotSignedIn)?;
        let lock = lock?;
        let actor = Actor {
            user_type: me.user_type,
            status: me.status,
            permissions: &me.permissions,
            access: &me.access,
        };
        if let Err(denied) = authorize(&actor, action, lock.unit_id) {
            tracing::info!(lock = %lock.id, ?action, "refused locally: {denied}");
            return Err(denied.into());
        }
        Ok((me, lock))
    }

    async fn start_session(&self, s: SessionResponse) -> Result<UserInfo, AccessError> {
        let account_app = s.user.user_type.app();
        if account_app != self.app {
            // The server opened a session this app will not use: end it.
            let ended: Result<serde_json::Value, _> = self
                .api
                .send::<(), _>(
                    Method::DELETE,
                    "/api/v1/sessions/current",
                    Some(&s.token),
                    None,
                    None,
                )
                .await;
            if let Err(e) = ended {
                tracing::info!("could not end the other app's session: {e}");
            }
            return Err(AccessError::WrongApp {
                message: self.app.wrong_app_message(s.user.user_type),
            });
        }
        if s.user.status == UserStatus::Revoked {
            return Err(AccessError::Revoked);
        }
        let me = s.user.clone();
        self.db(move |c| {
            // Another account on this device: nothing of the previous one may remain.
            if cache::me(c)?.map(|m| m.id) != Some(me.id) {
                cache::wipe(c)?;
            }
            cache::set_me(c, &me)
        })
        .await?;
        self.set_token(Some(s.token))?;
        tracing::info!(user = %s.user.id, "signed in");
        Ok(UserInfo::from(&s.user))
    }

    /// Sends one queued action with its idempotency key; the answer body on success.
    async fn send_action(&self, q: &Queued, token: &str) -> Result<Vec<u8>, AccessError> {
        let (method, path, body) = match &q.action {
            queue::Action::Rename { name } => (
                Method::PATCH,
                format!("/api/v1/locks/{}", q.lock_id),
                serde_json::to_value(RenameRequest { name: name.clone() }),
            ),
            queue::Action::ChangeMode { mode } => (
                Method::PUT,
                format!("/api/v1/locks/{}/mode", q.lock_id),
                serde_json::to_value(ModeRequest { mode: *mode }),
            ),
            queue::Action::GiveAccess { request } => (
                Method::POST,
                format!("/api/v1/locks/{}/access-codes", q.lock_id),
                serde_json::to_value(request),
            ),
        };
        let body = body.map_err(|e| AccessError::Storage {
            message: e.to_string(),
        })?;
        let r = self
            .api
            .send_raw(
                method,
                &path,
                Some(token),
                Some(&body),
                Some(&q.key),
                &mut |_| {},
            )
            .await;
        match r {
            Ok(d) => Ok(d.body),
            // The same key is still being applied (an earlier attempt died mid-request): wait.
            Err(http::HttpError::Status {
                status: 409,
                message,
                ..
            }) => Err(AccessError::Server {
                code: IN_PROGRESS.into(),
                message,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends pending actions in order until the queue is empty or the network fails.
    async fn replay_inner(&self) -> Result<Replay, AccessError> {
        let _one_at_a_time = self.replay.lock().await;
        let mut out = Replay {
            sent: 0,
            failed: vec![],
            stopped: None,
        };
        loop {
            let Some(q) = self.db(|c| queue::next_pending(c)).await? else {
                break;
            };
            let token = self.require_token()?;
            let seq = q.seq;
            self.db(move |c| queue::begin_attempt(c, seq)).await?;
            match self.send_action(&q, &token).await {
                Ok(body) => {
                    let action = q.action.clone();
                    let lock_id = q.lock_id;
                    self.db(move |c| record_success(c, seq, lock_id, &action, &body))
                        .await?;
                    out.sent += 1;
                    tracing::info!(seq, kind = q.action.kind(), "queued action applied");
                }
                Err(AccessError::Revoked) => return Err(self.settle(AccessError::Revoked).await),
                Err(AccessError::NotSignedIn) => {
                    return Err(self.settle(AccessError::NotSignedIn).await);
                }
                Err(e) if e.is_transient() => {
                    let msg = e.to_string();
                    self.db(move |c| queue::note_error(c, seq, &msg)).await?;
                    tracing::info!(seq, "replay paused: {e}");
                    out.stopped = Some(e);
                    break;
                }
                Err(e) => {
                    let (code, msg) = (error_code(&e), e.to_string());
                    self.db(move |c| {
                        queue::mark_failed(c, seq, &code, &msg)?;
                        // The optimistic change was wrong: the next sync replaces the cache.
                        cache::clear_cursor(c)
                    })
                    .await?;
                    tracing::warn!(
                        seq,
                        kind = q.action.kind(),
                        "server refused a queued action: {e}"
                    );
                    out.failed.push((seq, e));
                }
            }
        }
        self.db(|c| queue::prune_done(c, DONE_ROWS_KEPT)).await?;
        Ok(out)
    }

    /// Queues an action and tries to send it (and anything queued before it) now.
    async fn perform(&self, lock_id: Uuid, action: queue::Action) -> Result<Queued, AccessError> {
        let q = self.db(move |c| queue::enqueue(c, lock_id, action)).await?;
        let replay = self.replay_inner().await?;
        let seq = q.seq;
        if let Some((_, e)) = replay.failed.iter().find(|(s, _)| *s == seq) {
            // The caller is told now; the action does not linger in the failed list.
            let e = e.clone();
            self.db(move |c| queue::remove(c, seq)).await?;
            self.resync_quietly().await;
            return Err(e);
        }
        if !replay.failed.is_empty() {
            self.resync_quietly().await;
        }
        self.db(move |c| queue::get(c, seq)).await
    }

    /// A sync after a refusal, so the cache shows the server's truth; failure is fine (the
    /// cursor is cleared, the next sync is full).
    async fn resync_quietly(&self) {
        let quiet = Arc::new(Listener::new("sync progress", None));
        if let Err(e) = self.fetch_sync(quiet).await {
            tracing::info!("re-sync after a refused action did not complete: {e}");
        }
    }

    /// `GET /api/v1/sync` from the cached cursor into the cache.
    async fn fetch_sync(
        &self,
        progress: Arc<Listener<dyn SyncProgress>>,
    ) -> Result<(cache::Applied, u64), AccessError> {
        let token = self.require_token()?;
        let since = self.db(|c| cache::cursor(c)).await?;
        let mut url = self.api.url("/api/v1/sync")?;
        if let Some(s) = &since {
            url.query_pairs_mut().append_pair("since", s);
        }
        let path = match url.query() {
            Some(q) => format!("/api/v1/sync?{q}"),
            None => "/api/v1/sync".to_string(),
        };
        let p = progress.clone();
        let mut on_bytes = move |n: u64| {
            p.tell(|l| l.on_progress(SyncPhase::Downloading, n, 0));
        };
        let download = match self
            .api
            .send_raw::<()>(Method::GET, &path, Some(&token), None, None, &mut on_bytes)
            .await
        {
            Ok(d) => d,
            Err(e) => return Err(self.settle(e.into()).await),
        };
        let bytes = download.body.len() as u64;
        let p = progress.clone();
        let result = self
            .db(move |c| {
                let sync: SyncResponse = match http::decode(&download.body) {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(AccessError::from(e))),
                };
                drop(download);
                if sync.me.status == UserStatus::Revoked {
                    return Ok(Err(AccessError::Revoked));
                }
                let total = sync.locks.len() as u64;
                let mut on_row = |n: u64| {
                    p.tell(|l| l.on_progress(SyncPhase::Saving, n, total));
                };
                let applied = cache::apply_sync(c, &sync, &mut on_row)?;
                reapply_pending(c)?;
                Ok(Ok(applied))
            })
            .await?;
        match result {
            Ok(applied) => Ok((applied, bytes)),
            Err(e) => Err(self.settle(e).await),
        }
    }
}

/// After the server's answer replaced cached rows, the changes still waiting in the queue
/// are laid over them again so the user keeps seeing what they did.
fn reapply_pending(c: &mut Connection) -> Result<(), StoreError> {
    for q in queue::list(c, State::Pending)? {
        match q.action {
            queue::Action::Rename { name } => cache::set_lock_name(c, q.lock_id, &name)?,
            queue::Action::ChangeMode { mode } => cache::set_lock_mode(c, q.lock_id, mode)?,
            queue::Action::GiveAccess { .. } => {}
        }
    }
    Ok(())
}

/// Marks a queued action done and stores what the server answered.
fn record_success(
    c: &mut Connection,
    seq: i64,
    lock_id: Uuid,
    action: &queue::Action,
    body: &[u8],
) -> Result<(), StoreError> {
    let text = String::from_utf8_lossy(body);
    let tx = c.transaction()?;
    queue::mark_done(&tx, seq, Some(&text))?;
    match action {
        queue::Action::GiveAccess { .. } => {
            if let Ok(code) = serde_json::from_slice::<AccessCode>(body) {
                cache::upsert_access_code(&tx, &code)?;
            }
        }
        queue::Action::Rename { .. } | queue::Action::ChangeMode { .. } => {
            // The server's lock, when it sent one, is the truth; otherwise keep ours.
            if let Ok(lock) = serde_json::from_slice::<Lock>(body)
                && lock.id == lock_id
            {
                cache::upsert_lock(&tx, &lock)?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// A stable machine code for a typed error, for the failed-actions list.
fn error_code(e: &AccessError) -> String {
    match e {
        AccessError::Server { code, .. } => code.clone(),
        AccessError::NotAllowed { .. } => "not_allowed".into(),
        AccessError::NotFound => "not_found".into(),
        AccessError::InvalidInput { .. } => "invalid_input".into(),
        other => format!("{other:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or("error")
            .to_lowercase(),
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AccessClient {
    /// A client for `config`, keeping its session in `secrets` and sending core logs to
    /// `logger` when given. Opens (or creates) the cache in `config.data_dir`.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        secrets: Arc<dyn SecretStore>,
        logger: Option<Arc<dyn CoreLogger>>,
    ) -> Result<Arc<Self>, AccessError> {
        if let Some(l) = logger {
            crate::logging::set_logger(Some(l), LogLevel::Info);
        }
        let timeouts = Timeouts {
            request: config
                .request_timeout_ms
                .map(|ms| Duration::from_millis(ms.max(1) as u64))
                .unwrap_or(Timeouts::default().request),
            ..Timeouts::default()
        };
        let timeouts = Timeouts {
            connect: timeouts.connect.min(timeouts.request),
            ..timeouts
        };
        let api = Api::new(&config.server_url, timeouts)?;
        let path = PathBuf::from(&config.data_dir).join("access-cache.sqlite");
        let store = Store::open(&path)?;
        Ok(Arc::new(AccessClient {
            app: config.app,
            api,
            store: Arc::new(store),
            secrets,
            token: Mutex::new(None),
            replay: AsyncMutex::new(()),
            ble: Default::default(),
            _live: crate::live_objects::LiveObject::new(),
        }))
    }

    /// Starts registration from the invitation (link or token): checks the phone with the
    /// `+1` rule first (nothing is sent when it is wrong), then asks the server to text a
    /// code to it. Returns the registration id for [`AccessClient::verify_sms`].
    pub async fn register_from_invitation(
        &self,
        link_or_token: String,
        email: String,
        phone: String,
        password: String,
        name: String,
    ) -> Result<String, AccessError> {
        let phone = normalize_phone(&phone)?;
        let token = invitation::invitation_token(&link_or_token)?;
        let email = email.trim().to_string();
        if !email.contains('@') {
            return Err(AccessError::InvalidInput {
                message: "Enter the email address you want to sign in with.".into(),
            });
        }
        if password.is_empty() {
            return Err(AccessError::InvalidInput {
                message: "Choose a password.".into(),
            });
        }
        let req = RegistrationRequest {
            token,
            email,
            phone,
            password,
            name: name.trim().to_string(),
        };
        let r: RegistrationResponse = self
            .api
            .send(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(&req),
                None,
            )
            .await?;
        Ok(r.registration_id.to_string())
    }

    /// Completes registration with the code texted to the phone; signs in.
    pub async fn verify_sms(
        &self,
        registration_id: String,
        code: String,
    ) -> Result<UserInfo, AccessError> {
        let id =
            Uuid::parse_str(registration_id.trim()).map_err(|_| AccessError::InvalidInput {
                message: "Unknown registration: start again from the invitation link.".into(),
            })?;
        let code = code.trim().to_string();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccessError::WrongSmsCode);
        }
        let s: SessionResponse = self
            .api
            .send(
                Method::POST,
                &format!("/api/v1/registrations/{id}/verify"),
                None,
                Some(&VerifyRequest { code }),
                None,
            )
            .await?;
        self.start_session(s).await
    }

    /// Signs in with email and password. The account must belong in this app.
    pub async fn login(&self, email: String, password: String) -> Result<UserInfo, AccessError> {
        let req = LoginRequest {
            email: email.trim().to_string(),
            password,
        };
        let s: SessionResponse = self
            .api
            .send(Method::POST, "/api/v1/sessions", None, Some(&req), None)
            .await?;
        self.start_session(s).await
    }

    /// Signs out: the server session is ended when reachable; the session secret, the cache
    /// and the queue are wiped in any case.
    pub async fn logout(&self) -> Result<(), AccessError> {
        tracing::info!("signing out");
        if let Some(token) = self.token()? {
            let ended: Result<serde_json::Value, _> = self
                .api
                .send::<(), _>(
                    Method::DELETE,
                    "/api/v1/sessions/current",
                    Some(&token),
                    None,
                    None,
                )
                .await;
            if let Err(e) = ended {
                tracing::info!("server session not ended (wiped locally anyway): {e}");
            }
        }
        self.wipe().await
    }

    /// The signed-in user as last synced, or `None` when nobody is signed in.
    pub async fn current_user(&self) -> Result<Option<UserInfo>, AccessError> {
        if self.token()?.is_none() {
            return Ok(None);
        }
        let me = self.db(|c| cache::me(c)).await?;
        Ok(me.as_ref().map(UserInfo::from))
    }

    /// Sends queued actions, then brings the cache up to date from the cursor (the whole
    /// cache on the first sync, after a refused action or when the server says so).
    pub async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
    ) -> Result<SyncSummary, AccessError> {
        self.require_token()?;
        let progress = Arc::new(Listener::new("sync progress", progress));
        progress.tell(|l| l.on_progress(SyncPhase::Replaying, 0, 0));
        let replay = self.replay_inner().await?;
        if let Some(e) = replay.stopped {
            return Err(e);
        }
        let (applied, bytes) = self.fetch_sync(progress.clone()).await?;
        let total_locks = self.db(|c| cache::lock_count(c)).await?;
        progress.tell(|l| l.on_progress(SyncPhase::Finished, total_locks, total_locks));
        tracing::info!(
            full = applied.full,
            changed = applied.locks_upserted,
            bytes,
            "synced"
        );
        Ok(SyncSummary {
            full: applied.full,
            locks_changed: applied.locks_upserted,
            locks_removed: applied.locks_removed,
            access_codes: applied.access_codes,
            total_locks,
            replayed: replay.sent,
            failed: replay.failed.len() as u32,
            bytes,
        })
    }

    /// Sends queued actions now, in order. Refused ones move to [`AccessClient::failed_actions`]
    /// and the cache is corrected from the server.
    pub async fn replay_queue(&self) -> Result<ReplaySummary, AccessError> {
        let replay = self.replay_inner().await?;
        if !replay.failed.is_empty() {
            self.resync_quietly().await;
        }
        let pending = self.db(|c| queue::list(c, State::Pending)).await?.len() as u32;
        Ok(ReplaySummary {
            sent: replay.sent,
            failed: replay.failed.len() as u32,
            pending,
        })
    }

    /// Every cached lock, by name. Works offline.
    pub async fn list_locks(&self) -> Result<Vec<LockInfo>, AccessError> {
        let locks = self.db(|c| cache::list_locks(c)).await?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// Cached locks whose name, unit or property contains each word of `query`, the first
    /// `limit` by name (100 unless the app asks otherwise: a screenful or two, since every
    /// hit crosses the FFI as a `LockInfo`). Offline.
    #[uniffi::method(default(limit = 100))]
    pub async fn search_locks(
        &self,
        query: String,
        limit: u32,
    ) -> Result<Vec<LockInfo>, AccessError> {
        let locks = self
            .db(move |c| cache::search_locks(c, &query, limit))
            .await?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// One cached lock. Offline.
    pub async fn lock(&self, lock_id: String) -> Result<LockInfo, AccessError> {
        let id = parse_id(&lock_id)?;
        Ok(self.db(move |c| cache::lock(c, id)).await?.into())
    }

    /// The actions the signed-in user may take on a lock, for showing only those buttons.
    pub async fn allowed_actions(&self, lock_id: String) -> Result<Vec<Action>, AccessError> {
        let id = parse_id(&lock_id)?;
        let (me, lock) = self
            .db(move |c| Ok((cache::me(c)?, cache::lock(c, id)?)))
            .await?;
        let me = me.ok_or(AccessError::NotSignedIn)?;
        let actor = Actor {
            user_type: me.user_type,
            status: me.status,
            permissions: &me.permissions,
            access: &me.access,
        };
        Ok([
            Action::View,
            Action::Unlock,
            Action::ResetCodes,
            Action::Rename,
            Action::ChangeMode,
            Action::ViewLogs,
            Action::ViewMasterCode,
            Action::GiveAccess,
            Action::Pair,
        ]
        .into_iter()
        .filter(|a| authorize(&actor, *a, lock.unit_id).is_ok())
        .collect())
    }

    /// Access codes of a lock from the cache, with their sync state. Offline.
    pub async fn access_codes(&self, lock_id: String) -> Result<Vec<AccessCodeInfo>, AccessError> {
        let id = parse_id(&lock_id)?;
        let codes = self.db(move |c| cache::access_codes(c, id)).await?;
        Ok(codes.into_iter().map(AccessCodeInfo::from).collect())
    }

    /// The signed-in user's own passcodes. Offline.
    pub async fn my_passcodes(&self) -> Result<Vec<PasscodeInfo>, AccessError> {
        let p = self.db(|c| cache::passcodes(c)).await?;
        Ok(p.into_iter().map(PasscodeInfo::from).collect())
    }

    /// Renames a lock. Without network the new name shows at once and the rename is queued.
    pub async fn rename_lock(
        &self,
        lock_id: String,
        name: String,
    ) -> Result<ActionOutcome, AccessError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccessError::InvalidInput {
                message: "A lock name needs 1 to 100 characters.".into(),
            });
        }
        let (_, lock) = self.gate(&lock_id, Action::Rename).await?;
        outcome(
            self.perform(lock.id, queue::Action::Rename { name })
                .await?,
        )
    }

    /// Changes a lock's mode (e.g. Tour to Resident). Queued when offline.
    pub async fn change_mode(
        &self,
        lock_id: String,
        mode: LockMode,
    ) -> Result<ActionOutcome, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ChangeMode).await?;
        outcome(
            self.perform(lock.id, queue::Action::ChangeMode { mode })
                .await?,
        )
    }

    /// Gives access: a permanent, time-window or one-time code on the lock. Queued when
    /// offline (the code appears after the next sync).
    pub async fn give_access(
        &self,
        lock_id: String,
        kind: AccessCodeKind,
        label: Option<String>,
        window: Option<TimeWindow>,
    ) -> Result<GiveAccessOutcome, AccessError> {
        let (starts_at, ends_at) = match (kind, window) {
            (AccessCodeKind::Window, Some(w)) => {
                if w.ends_at <= w.starts_at {
                    return Err(AccessError::InvalidInput {
                        message: "The end of the window must come after its start.".into(),
                    });
                }
                (Some(to_odt(w.starts_at)?), Some(to_odt(w.ends_at)?))
            }
            (AccessCodeKind::Window, None) => {
                return Err(AccessError::InvalidInput {
                    message: "A time-window code needs a start and an end.".into(),
                });
            }
            (_, Some(_)) => {
                return Err(AccessError::InvalidInput {
                    message: "Only time-window codes take a start and an end.".into(),
                });
            }
            (_, None) => (None, None),
        };
        let label = label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        let (_, lock) = self.gate(&lock_id, Action::GiveAccess).await?;
        let request = AccessCodeRequest {
            kind,
            label,
            starts_at,
            ends_at,
        };
        let q = self
            .perform(lock.id, queue::Action::GiveAccess { request })
            .await?;
        match q.state {
            State::Done => {
                let body = q.result.unwrap_or_default();
                let code: AccessCode = serde_json::from_slice(body.as_bytes()).map_err(|e| {
                    AccessError::BadResponse {
                        message: e.to_string(),
                    }
                })?;
                Ok(GiveAccessOutcome::Created { code: code.into() })
            }
            _ => Ok(GiveAccessOutcome::Queued { action_id: q.key }),
        }
    }

    /// Resets the access codes of a lock. Needs the network.
    pub async fn reset_codes(&self, lock_id: String) -> Result<(), AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ResetCodes).await?;
        let key = Uuid::new_v4().to_string();
        let _: serde_json::Value = self
            .request(
                Method::POST,
                &format!("/api/v1/locks/{}/reset-codes", lock.id),
                Some(&serde_json::json!({})),
                Some(&key),
            )
            .await?;
        Ok(())
    }

    /// The access log of a lock, newest first. Needs the network.
    pub async fn view_logs(&self, lock_id: String) -> Result<Vec<LogEntryInfo>, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewLogs).await?;
        let page: Page<LogEntry> = self
            .request::<(), _>(
                Method::GET,
                &format!("/api/v1/locks/{}/logs", lock.id),
                None,
                None,
            )
            .await?;
        Ok(page.items.into_iter().map(LogEntryInfo::from).collect())
    }

    /// The lock's master code. Needs the network.
    pub async fn view_master_code(&self, lock_id: String) -> Result<String, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewMasterCode).await?;
        let m: MasterCode = self
            .request::<(), _>(
                Method::GET,
                &format!("/api/v1/locks/{}/master-code", lock.id),
                None,
                None,
            )
            .await?;
        Ok(m.code)
    }

    /// Actions waiting for the network, oldest first.
    pub async fn pending_actions(&self) -> Result<Vec<QueuedActionInfo>, AccessError> {
        let q = self.db(|c| queue::list(c, State::Pending)).await?;
        Ok(q.into_iter().map(QueuedActionInfo::from).collect())
    }

    /// Actions the server refused on replay, with the reason.
    pub async fn failed_actions(&self) -> Result<Vec<QueuedActionInfo>, AccessError> {
        let q = self.db(|c| queue::list(c, State::Failed)).await?;
        Ok(q.into_iter().map(QueuedActionInfo::from).collect())
    }

    /// Removes a failed action from the list once the user has seen it.
    pub async fn dismiss_failed_action(&self, action_id: String) -> Result<(), AccessError> {
        self.db(move |c| {
            let q = queue::get_by_key(c, &action_id)?;
            if q.state == State::Failed {
                queue::remove(c, q.seq)?;
            }
            Ok(())
        })
        .await
    }
}

fn outcome(q: Queued) -> Result<ActionOutcome, AccessError> {
    Ok(match q.state {
        State::Done => ActionOutcome::Done,
        _ => ActionOutcome::Queued { action_id: q.key },
    })
}

fn to_odt(t: SystemTime) -> Result<time::OffsetDateTime, AccessError> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| AccessError::InvalidInput {
            message: "Dates before 1970 are not accepted.".into(),
        })?;
    time::OffsetDateTime::from_unix_timestamp(d.as_secs() as i64).map_err(|e| {
        AccessError::InvalidInput {
            message: e.to_string(),
        }
    })
}
