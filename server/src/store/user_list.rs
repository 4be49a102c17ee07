//! The Manage Access table's query: filters, search, sort and keyset pagination over an
//! organization's users.
//!
//! The cursor is opaque to clients: hex of `<sort key>\u{1f}<user id>`, so the next page
//! starts strictly after the last row shown, in the same order, without overlap.
//!
//! ```
//! use access_server::store::user_list::{Cursor, UserSort};
//! let c = Cursor { key: "ada".into(), id: uuid::Uuid::nil() };
//! assert_eq!(Cursor::decode(&c.encode()), Some(c));
//! assert_eq!(UserSort::parse("invited_at"), Some(UserSort::InvitedAt));
//! assert_eq!(UserSort::parse("age"), None);
//! ```

use std::cmp::Ordering;

use access_domain::{Access, UserStatus, UserType};
use uuid::Uuid;

use super::{StoreResult, UserRecord};

/// Column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// Name, falling back to username then invited email (as the page shows it).
    Name,
    Type,
    Status,
    AccessType,
    /// Email used at registration; rows without one come last in both orders.
    Email,
    #[default]
    InvitedAt,
}

impl UserSort {
    /// The query-string value, or `None` for an unknown one.
    pub fn parse(s: &str) -> Option<UserSort> {
        Some(match s {
            "name" => UserSort::Name,
            "type" => UserSort::Type,
            "status" => UserSort::Status,
            "access_type" => UserSort::AccessType,
            "email" => UserSort::Email,
            "invited_at" => UserSort::InvitedAt,
            _ => return None,
        })
    }
}

/// Where the previous page ended: its last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: Uuid,
}

const SEP: char = '\u{1f}';

impl Cursor {
    /// The opaque `next` value.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}{SEP}{}", self.key, self.id))
    }

    /// Reads a `next` value back; `None` when it is not one.
    pub fn decode(s: &str) -> Option<Cursor> {
        let text = String::from_utf8(hex::decode(s).ok()?).ok()?;
        let (key, id) = text.rsplit_once(SEP)?;
        Some(Cursor {
            key: key.to_string(),
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// What the table asks for.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub user_type: Option<UserType>,
    pub status: Option<UserStatus>,
    /// Case-insensitive substring of name, username, invited email or registered email.
    pub q: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// One page of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    /// Cursor of the next page; `None` on the last one.
    pub next: Option<Cursor>,
    /// Rows matching the filters, over all pages.
    pub total: u64,
}

impl UserQuery {
    /// Whether `u` passes the type, status and search filters.
    pub fn matches(&self, u: &UserRecord) -> bool {
        if self.user_type.is_some_and(|t| t != u.user_type)
            || self.status.is_some_and(|s| s != u.status)
        {
            return false;
        }
        let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
            return true;
        };
        let q = q.to_lowercase();
        [&u.name, &u.username, &u.invited_email, &u.registered_email]
            .into_iter()
            .flatten()
            .any(|v| v.to_lowercase().contains(&q))
    }

    /// The row's sort key. Plain string order on keys gives the table's order; for
    /// `email` a prefix puts rows without one last whichever the direction.
    pub fn key(&self, u: &UserRecord) -> String {
        match self.sort {
            UserSort::Name => u
                .name
                .as_ref()
                .or(u.username.as_ref())
                .or(u.invited_email.as_ref())
                .map(|s| s.to_lowercase())
                .unwrap_or_default(),
            UserSort::Type => u.user_type.as_str().to_string(),
            UserSort::Status => u.status.as_str().to_string(),
            UserSort::AccessType => match u.access {
                Access::AllLocks => "all_locks".into(),
                Access::Units { .. } => "units".into(),
            },
            UserSort::Email => match (&u.registered_email, self.descending) {
                (Some(e), false) => format!("0{}", e.to_lowercase()),
                (None, false) => "1".into(),
                (Some(e), true) => format!("1{}", e.to_lowercase()),
                (None, true) => "0".into(),
            },
            // Fixed width, so string order is time order.
            UserSort::InvitedAt => format!("{:030}", u.invited_at.unix_timestamp_nanos()),
        }
    }

    fn compare(&self, a: &(String, Uuid), b: &(String, Uuid)) -> Ordering {
        let o = a.0.cmp(&b.0).then(a.1.cmp(&b.1));
        if self.descending { o.reverse() } else { o }
    }

    /// Filters, sorts and cuts one page out of all of an organization's users.
    pub fn page(&self, all: Vec<UserRecord>) -> UserPage {
        let mut rows: Vec<((String, Uuid), UserRecord)> = all
            .into_iter()
            .filter(|u| self.matches(u))
            .map(|u| ((self.key(&u), u.id), u))
            .collect();
        let total = rows.len() as u64;
        rows.sort_by(|a, b| self.compare(&a.0, &b.0));
        let after = self.after.as_ref().map(|c| (c.key.clone(), c.id));
        let limit = self.limit.max(1) as usize;
        let mut rest = rows
            .into_iter()
            .filter(|(k, _)| {
                after
                    .as_ref()
                    .is_none_or(|a| self.compare(k, a) == Ordering::Greater)
            })
            .peekable();
        let mut users = Vec::with_capacity(limit);
        let mut last = None;
        while users.len() < limit {
            let Some((k, u)) = rest.next() else { break };
            last = Some(k);
            users.push(u);
        }
        let next = match (rest.peek(), last) {
            (Some(_), Some((key, id))) => Some(Cursor { key, id }),
            _ => None,
        };
        UserPage { users, next, total }
    }
}

/// Reads all of an organization's users through the id-ordered `list_users`, in batches.
pub fn all_users<S: super::Store + ?Sized>(
    store: &S,
    org_id: Uuid,
) -> StoreResult<Vec<UserRecord>> {
    const BATCH: u32 = 500;
    let mut all: Vec<UserRecord> = Vec::new();
    loop {
        let batch = store.list_users(org_id, all.last().map(|u| u.id), BATCH)?;
        let done = batch.len() < BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}
