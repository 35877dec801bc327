//! Offline messages: the `impl Db` methods over the `offline_messages` table (schema in `mod.rs`).

use rusqlite::params;

use super::{Db, Offline};
use crate::rules;
use crate::Error;

impl Db {
    /// Stores an IM for later delivery. False when the recipient's backlog is full.
    pub fn store_offline(
        &self,
        recipient: u32,
        sender: u32,
        kind: u32,
        msg: &str,
        cv: Option<u32>,
        now: u64,
    ) -> Result<bool, Error> {
        let c = self.lock();
        let n: usize =
            c.query_row("SELECT COUNT(*) FROM offline_messages WHERE recipient = ?1", [recipient], |r| r.get(0))?;
        if n >= rules::MAX_OFFLINE_PER_RECIPIENT || msg.len() > rules::MAX_OFFLINE_TEXT {
            return Ok(false);
        }
        c.execute(
            "INSERT INTO offline_messages (recipient, sender, kind, msg, cv, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![recipient, sender, kind, msg, cv, now],
        )?;
        Ok(true)
    }

    /// The recipient's stored messages, oldest first. They stay stored until
    /// [`Db::delete_offline_through`] confirms delivery.
    pub fn offline_for(&self, recipient: u32) -> Result<Vec<Offline>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT id, sender, kind, msg, cv, sent_at FROM offline_messages WHERE recipient = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([recipient], |r| {
                Ok(Offline {
                    id: r.get(0)?,
                    sender: r.get(1)?,
                    kind: r.get(2)?,
                    msg: r.get(3)?,
                    cv: r.get(4)?,
                    sent_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn delete_offline_through(&self, recipient: u32, last_id: i64) -> Result<(), Error> {
        self.lock()
            .execute("DELETE FROM offline_messages WHERE recipient = ?1 AND id <= ?2", params![recipient, last_id])?;
        Ok(())
    }
}
