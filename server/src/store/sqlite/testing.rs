//! [`StoreTestExt`] on SQLite.

#![allow(unused_imports)]

use super::tx::*;
use super::*;
use crate::store::rows::{self, Columns};
use crate::store::rows::{CODE_COLS, PASSCODE_COLS};
use crate::store::rules;
use crate::store::*;
use access_domain::{
    CodeSyncState, LockMode,
    api::{Channel, LogMethod},
};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

impl StoreTestExt for SqliteStore {
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        self.write(|tx| {
            let uid = user_id.to_string();
            tx.execute(
                "UPDATE invitations SET sent_at = sent_at - ?2, expires_at = expires_at - ?2 \
                 WHERE user_id = ?1",
                params![uid, seconds],
            )?;
            tx.execute(
                "UPDATE registrations SET created_at = created_at - ?2, \
                 code_expires_at = code_expires_at - ?2 WHERE user_id = ?1",
                params![uid, seconds],
            )?;
            Ok(())
        })
    }
}
