//! The door follows the platform: every ordinary contact carries the newest door updates
//! this phone fetched for the lock (signed and sealed by the server, so any phone may carry
//! it), reads the lock's status, and leaves a contact report for the server; a phone that
//! may see the lock's log also reads the pages since the last one it queued.
//!
//! Nothing here fails the user's own command: it runs after the lock answered it, and a
//! refusal or a lost link is only logged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use access_domain::api::{DoorUpdateResponse, LockContactReport};
use lock_ble::AnyLink;
use lock_protocol::command::{Command, MAX_LOG_BATCH, RefusalReason, Response, Status};
use lock_protocol::report::LogPage;
use reqwest::Method;
use uuid::Uuid;

use super::BESIDE_WAIT;
use super::conversation::Conversation;
use super::errors::{bad_response, decode_b64};
use crate::AccessError;
use crate::cache::on_site;
use crate::engine::Engine;

/// Most log pages one contact reads (100 entries each); the rest waits for the next one.
const MAX_PAGES_PER_CONTACT: usize = 20;

/// What became of the cached update in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Carried {
    /// Nothing cached to carry.
    #[default]
    Nothing,
    /// The lock took it and holds this version now.
    Applied(u64),
    /// The lock holds it or a newer one already.
    Held,
    /// Refused, or the link failed (logged).
    Failed,
}

/// What a contact's convergence did: the update, the status queued as the contact
/// report, and the log entries queued.
#[derive(Debug, Clone, Default)]
pub(crate) struct Converged {
    pub carried: Carried,
    pub status: Option<Status>,
    pub entries: u64,
}

/// What the lock's answers to a carried chain (of updates up to `version`) mean: the
/// newest version it applied, else held when it had them all already.
fn carried(
    lock: Uuid,
    version: u64,
    answers: impl IntoIterator<Item = Option<Response>>,
) -> Carried {
    let mut out = Carried::Held;
    for answer in answers {
        match answer {
            Some(Response::UpdateApplied { version: held }) => {
                tracing::info!(lock = %lock, version = held, "door update applied");
                out = Carried::Applied(held);
            }
            Some(Response::Refused {
                reason: RefusalReason::StaleUpdate,
            }) => {}
            other => {
                tracing::warn!(lock = %lock, version, "door update not applied: {other:?}");
                if out == Carried::Held {
                    out = Carried::Failed;
                }
            }
        }
    }
    out
}

impl Engine {
    /// Fetches the lock's door updates and caches them (a cached chain that reaches further
    /// is kept); the version they bring the lock to.
    pub(crate) async fn fetch_door_update(&self, lock: Uuid) -> Result<u64, AccessError> {
        let r: DoorUpdateResponse = self
            .get(&format!("/api/v1/locks/{lock}/door-update"))
            .await?;
        let mut chain = Vec::with_capacity(r.updates.len());
        for update in &r.updates {
            let bytes = decode_b64(update, "door update")?;
            // Only to order the cache: the lock checks the signature.
            let version = lock_protocol::door::unverified(&bytes)
                .map_err(|e| bad_response(format!("door update: {e}")))?
                .version;
            chain.push((version, bytes));
        }
        let log_seq = r.log_seq;
        self.db(move |c| {
            on_site::put_door_updates(c, lock, &chain)?;
            // What the server holds of the lock's log is not read again.
            on_site::raise_log_cursor(c, lock, log_seq)
        })
        .await?;
        Ok(r.version)
    }

    /// [`Engine::fetch_door_update`] for a contact under way: bounded, and only logged when
    /// it fails (offline the cached update is carried).
    /// Past [`BESIDE_WAIT`] the fetch goes on in the background, for the next contact.
    pub(crate) async fn fetch_door_update_beside(&self, lock: Uuid) {
        self.finish(BESIDE_WAIT, "door update fetch", move |e| {
            Box::pin(async move { e.fetch_door_update(lock).await.map(|_| ()) })
        })
        .await;
    }

    /// The lock's cached updates, oldest first; none when the cache cannot be read (logged).
    async fn cached_updates(&self, lock: Uuid) -> Vec<(u64, Vec<u8>)> {
        self.db(move |c| on_site::door_updates(c, lock))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(lock = %lock, "cached door update unreadable: {e}");
                Vec::new()
            })
    }

    /// Carries the cached updates in the open session, all in one round trip.
    pub(crate) async fn carry_door_update(
        &self,
        talk: &mut Conversation<AnyLink>,
        lock: Uuid,
    ) -> Carried {
        let chain = self.cached_updates(lock).await;
        let Some(&(version, _)) = chain.last() else {
            return Carried::Nothing;
        };
        let commands: Vec<Command> = chain
            .into_iter()
            .map(|(_, bytes)| Command::ApplyUpdate(bytes))
            .collect();
        match talk.exchange_all(&commands).await {
            Ok(answers) => carried(lock, version, answers.into_iter().map(Some)),
            Err(e) => {
                tracing::warn!(lock = %lock, version, "door update not carried: {e}");
                Carried::Failed
            }
        }
    }

    /// Reads the lock's status (unless `known` already is one) and queues it as the
    /// contact report; the status queued, if one was.
    pub(crate) async fn queue_contact(
        &self,
        talk: &mut Conversation<AnyLink>,
        lock: Uuid,
        known: Option<Status>,
    ) -> Option<Status> {
        let status = match known {
            Some(s) => s,
            None => match talk.read_status().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::info!(lock = %lock, "no status after the contact: {e}");
                    return None;
                }
            },
        };
        // The receipt covers these fields as the lock sent them: nothing is trimmed.
        let report = LockContactReport {
            door_version: status.door_version,
            battery: status.battery,
            clock: status.clock,
            firmware: status.firmware.clone(),
            receipt: STANDARD.encode(status.receipt),
        };
        match self
            .db(move |c| on_site::put_contact_report(c, lock, &report))
            .await
        {
            Ok(()) => Some(status),
            Err(e) => {
                tracing::warn!(lock = %lock, "contact report not queued: {e}");
                None
            }
        }
    }

    /// Sends the waiting contact reports: a report the server refuses for good (a version
    /// it never issued, a lock gone or no longer this user's) is dropped; a transient
    /// failure keeps it and stops.
    pub(crate) async fn flush_contact_reports(&self) -> Result<(), AccessError> {
        for (lock, report) in self.db(|c| on_site::contact_reports(c)).await? {
            let r: Result<serde_json::Value, _> = self
                .request(
                    Method::POST,
                    &format!("/api/v1/locks/{lock}/contact"),
                    Some(&report),
                    None,
                )
                .await;
            match r {
                Ok(_) => {}
                Err(
                    e @ (AccessError::InvalidInput { .. }
                    | AccessError::NotFound
                    | AccessError::NotAllowed { .. }),
                ) => tracing::warn!(lock = %lock, "contact report dropped: {e}"),
                Err(e) => return Err(e),
            }
            self.db(move |c| on_site::drop_contact_report(c, lock, &report))
                .await?;
        }
        Ok(())
    }

    /// Brings the lock in line and its news back once the user's commands are answered, in
    /// at most two round trips whatever the backlog: the cached door updates (unless
    /// `already` carried in this session), a status read and the first log page go
    /// together; then every page left up to the lock's head, together. The status is queued
    /// as the contact report; `known` is the user's own status read, which stands when no
    /// update changes the lock after it. Logged, never failing the user's command.
    pub(crate) async fn converge(
        &self,
        talk: &mut Conversation<AnyLink>,
        lock: Uuid,
        already: Option<Carried>,
        known: Option<Status>,
        read_log: bool,
    ) -> Converged {
        let mut out = Converged::default();
        let chain = match already {
            Some(_) => Vec::new(),
            None => self.cached_updates(lock).await,
        };
        let since = if read_log {
            match self.db(move |c| on_site::log_cursor(c, lock)).await {
                Ok(since) => Some(since),
                Err(e) => {
                    tracing::warn!(lock = %lock, "log cursor unreadable: {e}");
                    None
                }
            }
        } else {
            None
        };
        let carried_before = already.unwrap_or(Carried::Nothing);
        // The user's status stands unless an update lands after it.
        let known =
            known.filter(|_| chain.is_empty() && !matches!(carried_before, Carried::Applied(_)));
        let version = chain.last().map(|(v, _)| *v);
        let updates = chain.len();
        let mut batch: Vec<Command> = chain
            .into_iter()
            .map(|(_, bytes)| Command::ApplyUpdate(bytes))
            .collect();
        let read_status =
            known.is_none() && (version.is_some() || already.is_some() || since.is_some());
        if read_status {
            batch.push(Command::ReadStatus);
        }
        if let Some(since) = since {
            batch.push(Command::ReadLog {
                since,
                max: MAX_LOG_BATCH,
            });
        }
        out.carried = carried_before;
        let mut status = known;
        let mut next = None;
        if !batch.is_empty() {
            let answers = match talk.exchange_all(&batch).await {
                Ok(answers) => answers,
                Err(e) => {
                    tracing::warn!(lock = %lock, "contact ended early: {e}");
                    out.carried = if version.is_some() {
                        Carried::Failed
                    } else {
                        carried_before
                    };
                    return out;
                }
            };
            let mut answers = answers.into_iter();
            if let Some(version) = version {
                out.carried = carried(lock, version, (0..updates).map(|_| answers.next()));
            }
            if read_status {
                match answers.next() {
                    Some(Response::Status(s)) => status = Some(s),
                    other => tracing::info!(lock = %lock, "no status after the contact: {other:?}"),
                }
            }
            if since.is_some() {
                match answers.next() {
                    Some(Response::Log { page, head }) => {
                        match self.queue_page(lock, page, head).await {
                            Ok((entries, after)) => {
                                out.entries += entries;
                                next = after.map(|a| (a, head));
                            }
                            Err(e) => tracing::warn!(lock = %lock, "log page not queued: {e}"),
                        }
                    }
                    other => {
                        tracing::info!(lock = %lock, "log not read at this contact: {other:?}")
                    }
                }
            }
        }
        if let Some(s) = status {
            out.status = self.queue_contact(talk, lock, Some(s)).await;
        }
        if let Some((after, head)) = next {
            out.entries += self.read_log_rest(talk, lock, after, head).await;
        }
        tracing::info!(
            lock = %lock,
            round_trips = talk.round_trips(),
            bytes_out = talk.bytes().0,
            bytes_in = talk.bytes().1,
            entries = out.entries,
            "in step"
        );
        out
    }

    /// Reads every log page after `since` up to `head` in one round trip (log sequence
    /// numbers are consecutive, so each page's start is known), at most
    /// [`MAX_PAGES_PER_CONTACT`] of them, and queues them in order. Entries queued.
    async fn read_log_rest(
        &self,
        talk: &mut Conversation<AnyLink>,
        lock: Uuid,
        since: u64,
        head: u64,
    ) -> u64 {
        let batch = u64::from(MAX_LOG_BATCH);
        let pages = head
            .saturating_sub(since)
            .div_ceil(batch)
            .min(MAX_PAGES_PER_CONTACT as u64);
        let commands: Vec<Command> = (0..pages)
            .map(|k| Command::ReadLog {
                since: since + k * batch,
                max: MAX_LOG_BATCH,
            })
            .collect();
        let answers = match talk.exchange_all(&commands).await {
            Ok(answers) => answers,
            Err(e) => {
                tracing::info!(lock = %lock, "log not read at this contact: {e}");
                return 0;
            }
        };
        let mut read = 0;
        for answer in answers {
            let Response::Log { page, head } = answer else {
                tracing::info!(lock = %lock, "log not read at this contact: {answer:?}");
                break;
            };
            match self.queue_page(lock, page, head).await {
                Ok((entries, after)) => {
                    read += entries;
                    if after.is_none() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(lock = %lock, "log page not queued: {e}");
                    break;
                }
            }
        }
        read
    }

    /// Queues one page read from the lock and moves this phone's cursor past it: (entries
    /// queued, where to read next, `None` once the page reached the lock's `head`). An
    /// unsigned page (a lock without its report key yet) is not queued and the cursor stays:
    /// the entries are read again once the lock can sign them.
    pub(crate) async fn queue_page(
        &self,
        lock: Uuid,
        page: LogPage,
        head: u64,
    ) -> Result<(u64, Option<u64>), AccessError> {
        let entries = page.entries().map_err(|e| bad_response(e.to_string()))?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            return Ok((0, None));
        };
        if page.is_unsigned() {
            tracing::info!(lock = %lock, "the lock holds no report key yet: its log is read again later");
            return Ok((0, None));
        }
        let count = entries.len() as u64;
        let queued = on_site::QueuedPage {
            last_seq: last,
            entries: count,
            page,
        };
        self.db(move |c| on_site::queue_log_page(c, lock, &queued, last))
            .await?;
        Ok((count, (last < head).then_some(last)))
    }
}
