//! [`Engine`]: the plain client every exported object passes through to. It ties the HTTP
//! layer, the cache, the queue and the secret store together, keeps the session token, and
//! applies what an error means for local state ([`Engine::settle`]) once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use access_domain::api::{Lock, Me, SessionResponse};
use access_domain::{Action, UserStatus};
use reqwest::Method;
use tokio::sync::Mutex as AsyncMutex;

use crate::AccessError;
use crate::cache::{self, CacheError, Store};
use crate::gate;
use crate::http::{Api, Timeouts};
use crate::model::*;
use crate::secrets::SecretStore;

const TOKEN_KEY: &str = "session_token";

/// The core's state for one app process, shared by the exported objects.
pub struct Engine {
    app: access_domain::App,
    pub(crate) api: Api,
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    /// The token as last read from or written to `secrets` (outer `None`: not read yet).
    token: Mutex<Option<Option<String>>>,
    /// One replay at a time, so queued actions go out in order.
    pub(crate) replaying: AsyncMutex<()>,
    /// Locks over BLE (`crate::ble`).
    pub(crate) ble: crate::ble::BleState,
    /// This engine, once it is shared ([`Engine::share`]): network work that outlives a
    /// lock contact's budget goes on in a task holding it.
    this: std::sync::OnceLock<std::sync::Weak<Engine>>,
}

impl Engine {
    /// An engine for `config`, keeping its session in `secrets`. Opens (or creates) the
    /// cache in `config.data_dir`.
    pub fn open(
        config: &ClientConfig,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Engine, AccessError> {
        let api = Api::new(&config.server_url, timeouts(config.request_timeout_ms))?;
        let path = PathBuf::from(&config.data_dir).join("access-cache.sqlite");
        let store = Store::open(&path)?;
        Ok(Engine {
            app: config.app,
            api,
            store: Arc::new(store),
            secrets,
            token: Mutex::new(None),
            replaying: AsyncMutex::new(()),
            ble: Default::default(),
            this: std::sync::OnceLock::new(),
        })
    }

    /// Shares the engine, so work that outlives its caller's wait ([`Engine::finish`]) can
    /// go on in a task of its own.
    pub fn share(self) -> Arc<Engine> {
        let engine = Arc::new(self);
        let _ = engine.this.set(Arc::downgrade(&engine));
        engine
    }

    /// Starts `work` in a task of its own (on another worker thread than the caller's, so a
    /// lock exchange under way is not held up by it, not even by the HTTP client's first
    /// build) and waits at most `budget` for it: what is not done by then goes on (its
    /// result only logged), so a silent server never holds the caller. Without a shared
    /// engine (unit tests of the engine alone) nothing starts.
    pub(crate) async fn finish<F>(&self, budget: std::time::Duration, what: &'static str, work: F)
    where
        F: FnOnce(Arc<Engine>) -> futures::future::BoxFuture<'static, Result<(), AccessError>>,
    {
        let Some(engine) = self.this.get().and_then(std::sync::Weak::upgrade) else {
            tracing::debug!("{what}: no shared engine, not started");
            return;
        };
        let job = work(engine);
        let task = tokio::spawn(async move {
            let out = job.await;
            if let Err(e) = &out {
                tracing::info!("{what}: {e}");
            }
            out
        });
        if budget.is_zero() {
            return;
        }
        if tokio::time::timeout(budget, task).await.is_err() {
            tracing::info!("{what}: goes on after {} ms", budget.as_millis());
        }
    }

    /// Runs `f` on the cache connection on a blocking thread.
    pub(crate) async fn db<R, F>(&self, f: F) -> Result<R, AccessError>
    where
        R: Send + 'static,
        F: FnOnce(&mut cache::Db) -> Result<R, CacheError> + Send + 'static,
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

    pub(crate) fn token(&self) -> Result<Option<String>, AccessError> {
        let mut t = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_none() {
            *t = Some(self.secrets.get(TOKEN_KEY.into())?);
        }
        Ok(t.clone().flatten())
    }

    pub(crate) fn require_token(&self) -> Result<String, AccessError> {
        self.token()?.ok_or(AccessError::NotSignedIn)
    }

    pub(crate) fn set_token(&self, token: Option<String>) -> Result<(), AccessError> {
        match &token {
            Some(v) => self.secrets.set(TOKEN_KEY.into(), v.clone())?,
            None => self.secrets.delete(TOKEN_KEY.into())?,
        }
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(())
    }

    /// Forgets everything this device knows about the account.
    pub(crate) async fn wipe(&self) -> Result<(), AccessError> {
        let r1 = self.set_token(None);
        let r2 = self.db(|c| cache::wipe(c)).await;
        r1.and(r2)
    }

    /// Applies what an error means for local state: a revoked user is wiped; a session the
    /// server no longer knows is forgotten (the cache stays for offline use until another
    /// account signs in).
    pub(crate) async fn settle(&self, e: AccessError) -> AccessError {
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

    /// The signed-in user as last synced.
    pub(crate) async fn me(&self) -> Result<Me, AccessError> {
        self.db(|c| cache::me(c))
            .await?
            .ok_or(AccessError::NotSignedIn)
    }

    /// `GET path` with the session, settled like every request.
    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, AccessError> {
        self.request::<(), _>(Method::GET, path, None, None).await
    }

    /// The cached user and lock, after the gate allowed `action` on it.
    pub(crate) async fn gate(
        &self,
        lock_id: &str,
        action: Action,
    ) -> Result<(Me, Lock), AccessError> {
        self.require_token()?;
        let id = gate::parse_id(lock_id)?;
        let (me, lock) = self
            .db(move |c| {
                let me = cache::me(c)?;
                let lock = cache::lock(c, id);
                Ok((me, lock))
            })
            .await?;
        let me = me.ok_or(AccessError::NotSignedIn)?;
        let lock = lock?;
        gate::check(&me, action, lock.unit_id)?;
        Ok((me, lock))
    }

    pub(crate) async fn start_session(&self, s: SessionResponse) -> Result<UserInfo, AccessError> {
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
}

/// The request timeout the app asked for (the default otherwise); connecting never waits
/// longer than a whole request may.
fn timeouts(request_timeout_ms: Option<u32>) -> Timeouts {
    let t = Timeouts {
        request: request_timeout_ms
            .map(|ms| Duration::from_millis(ms.max(1) as u64))
            .unwrap_or(Timeouts::default().request),
        ..Timeouts::default()
    };
    Timeouts {
        connect: t.connect.min(t.request),
        ..t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::tests::member;

    fn engine(dir: &std::path::Path) -> Engine {
        let config = ClientConfig {
            server_url: "http://127.0.0.1:9".into(),
            data_dir: dir.display().to_string(),
            app: access_domain::App::AccessManager,
            request_timeout_ms: None,
        };
        let secrets = crate::file_secret_store(dir.join("secrets.json").display().to_string());
        Engine::open(&config, secrets).unwrap()
    }

    #[tokio::test]
    async fn settling_forgets_an_ended_session_and_wipes_a_revoked_user() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        let me = member(&[], &[]);
        let cached = me.clone();
        e.db(move |c| cache::set_me(c, &cached)).await.unwrap();

        e.set_token(Some("t-1".into())).unwrap();
        assert_eq!(
            e.settle(AccessError::NotSignedIn).await,
            AccessError::NotSignedIn
        );
        assert_eq!(e.token().unwrap(), None);
        // The cache stays for offline use.
        assert_eq!(e.me().await.unwrap().id, me.id);

        e.set_token(Some("t-2".into())).unwrap();
        assert_eq!(e.settle(AccessError::Revoked).await, AccessError::Revoked);
        assert_eq!(e.token().unwrap(), None);
        assert_eq!(e.me().await, Err(AccessError::NotSignedIn));

        // Other errors change nothing; a new engine reads the token back from the store.
        e.set_token(Some("t-3".into())).unwrap();
        assert_eq!(e.settle(AccessError::Timeout).await, AccessError::Timeout);
        drop(e);
        assert_eq!(engine(dir.path()).token().unwrap().as_deref(), Some("t-3"));
    }

    #[test]
    fn connecting_never_outlasts_a_request() {
        let t = timeouts(Some(1_000));
        assert_eq!(t.request, Duration::from_secs(1));
        assert!(t.connect <= t.request);
        assert_eq!(timeouts(None).request, Timeouts::default().request);
        assert_eq!(timeouts(Some(0)).request, Duration::from_millis(1));
    }
}
