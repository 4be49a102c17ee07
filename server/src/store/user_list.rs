//! The Manage Access table's query: filters, search, sort and keyset pagination over an
//! organization's users.
//!
//! The cursor is opaque to clients: hex of `<sort key>\u{1f}<user id>`, so the next page
//! starts strictly after the last row shown, in the same order, without overlap.
//!
//! Each store computes the sort key in SQL, as the same text on both: compared byte by byte,
//! ties broken by id in the same direction, letters folded to lower case in ASCII only
//! (SQLite's `LOWER`). `invited_at` is the whole seconds since the epoch in 20 digits, which
//! is all SQLite stores; PostgreSQL appends `.uuuuuu` when the time has microseconds.
//!
//! ```
//! use access_server::store::user_list::{Cursor, UserSort};
//! let c = Cursor { key: "ada".into(), id: uuid::Uuid::nil() };
//! assert_eq!(Cursor::decode(&c.encode()), Some(c));
//! assert_eq!(UserSort::parse("invited_at"), Some(UserSort::InvitedAt));
//! assert_eq!(UserSort::parse("age"), None);
//! ```

use access_domain::api::AccountStatus;
use access_domain::{UserStatus, UserType};
use time::OffsetDateTime;
use uuid::Uuid;

use super::UserRecord;

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
    /// `pending` is a live invitation, `expired` one whose validity has passed at `now`.
    pub status: Option<AccountStatus>,
    /// Case-insensitive substring of name, username, invited email or registered email.
    pub q: Option<String>,
    /// Access ending in `[from, before)` (the table's "ending this week").
    pub ending_between: Option<(time::OffsetDateTime, time::OffsetDateTime)>,
    pub sort: UserSort,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: u32,
    /// A unit manager's view: only users whose access is units all among these.
    pub within_units: Option<Vec<Uuid>>,
    /// The time `expired` is judged at; `None`: the time of the query.
    pub now: Option<OffsetDateTime>,
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
    /// The stored status the filter asks for (`pending` for `expired` too).
    pub fn stored_status(&self) -> Option<&'static str> {
        self.status.map(|s| match s {
            AccountStatus::Pending | AccountStatus::Expired => UserStatus::Pending.as_str(),
            AccountStatus::Active => UserStatus::Active.as_str(),
            AccountStatus::Revoked => UserStatus::Revoked.as_str(),
        })
    }

    /// Whether the filter wants expired invitations (`Some(true)`), live ones
    /// (`Some(false)`), or does not look at expiry.
    pub fn expired(&self) -> Option<bool> {
        match self.status {
            Some(AccountStatus::Pending) => Some(false),
            Some(AccountStatus::Expired) => Some(true),
            _ => None,
        }
    }

    /// The time expiry is judged at.
    pub fn at(&self) -> OffsetDateTime {
        self.now.unwrap_or_else(OffsetDateTime::now_utc)
    }

    /// The search as a `LIKE` pattern to match against lowercased columns with
    /// `ESCAPE '\'`: `%`, `_` and `\` stand for themselves; `None` without a search.
    ///
    /// ```
    /// use access_server::store::user_list::UserQuery;
    /// let q = UserQuery { q: Some(" 50%_Off ".into()), ..UserQuery::default() };
    /// assert_eq!(q.like_pattern().as_deref(), Some("%50\\%\\_off%"));
    /// assert_eq!(UserQuery::default().like_pattern(), None);
    /// ```
    pub fn like_pattern(&self) -> Option<String> {
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())?;
        let mut p = String::from("%");
        // ASCII only, as both stores' LOWER folds the columns: a full Unicode fold of the
        // query alone would make "Émile" never match the stored "Émile".
        // Control characters are never in a name or an address; dropped, they also cannot
        // join the fields the SQLite store searches as one string.
        for ch in q.to_ascii_lowercase().chars().filter(|c| !c.is_control()) {
            if matches!(ch, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(ch);
        }
        p.push('%');
        Some(p)
    }
}

impl UserQuery {
    /// The search as an FTS5 phrase for the trigram index (SQLite's `users_search`), when it
    /// has the three characters a trigram needs: a superset of what [`like_pattern`] finds,
    /// which the LIKE then narrows. `None` for a shorter search, which scans.
    ///
    /// ```
    /// use access_server::store::user_list::UserQuery;
    /// let q = |s: &str| UserQuery { q: Some(s.into()), ..UserQuery::default() };
    /// assert_eq!(q(" Say \"hi\" ").trigram_phrase().as_deref(), Some("\"say \"\"hi\"\"\""));
    /// assert_eq!(q("ab").trigram_phrase(), None);
    /// ```
    ///
    /// [`like_pattern`]: UserQuery::like_pattern
    pub fn trigram_phrase(&self) -> Option<String> {
        let q = self.q.as_deref().map(str::trim)?;
        let text: String = q
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        (text.chars().count() >= 3).then(|| format!("\"{}\"", text.replace('"', "\"\"")))
    }

    /// How the page's SQL follows the sort direction: the comparison that keeps rows
    /// strictly after the cursor, and the `ORDER BY` direction.
    pub fn keyset_order(&self) -> (&'static str, &'static str) {
        if self.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        }
    }
}

impl UserPage {
    /// The page out of rows read in order with their sort keys, at most `limit + 1` of
    /// them: an extra row only says that a next page exists, which then starts after the
    /// last row kept.
    ///
    /// ```
    /// use access_server::store::user_list::UserPage;
    /// let empty = UserPage::from_rows(Vec::new(), 25, 0);
    /// assert!(empty.users.is_empty() && empty.next.is_none());
    /// ```
    pub fn from_rows(mut rows: Vec<(UserRecord, String)>, limit: u32, total: u64) -> UserPage {
        let limit = limit.max(1) as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = match rows.last() {
            Some((u, key)) if more => Some(Cursor {
                key: key.clone(),
                id: u.id,
            }),
            _ => None,
        };
        UserPage {
            users: rows.into_iter().map(|(u, _)| u).collect(),
            next,
            total,
        }
    }
}
