//! Offline messages: the `impl Db` methods over the `offline_messages` table (schema in `mod.rs`).

use rusqlite::params;

use super::{Db, Offline};
use crate::rules::{self, OfflineLimits, OfflineRefusal};
use crate::Error;

impl Db {
    /// Stores an IM for later delivery, within `limits` (the recipient's box and the sender's
    /// share of it, in IMs and in bytes).
    #[allow(clippy::too_many_arguments)]
    pub fn store_offline(
        &self,
        recipient: u32,
        sender: u32,
        kind: u32,
        msg: &str,
        cv: Option<u32>,
        now: u64,
        limits: &OfflineLimits,
    ) -> Result<Result<(), OfflineRefusal>, Error> {
        if msg.len() > rules::MAX_OFFLINE_TEXT {
            return Ok(Err(OfflineRefusal::TooLong));
        }
        let mut c = self.lock();
        let tx = c.transaction()?;
        // (all IMs, all bytes, this sender's IMs, this sender's bytes) waiting for the recipient
        let (n, bytes, mine, my_bytes): (usize, usize, usize, usize) = tx.query_row(
            "SELECT COUNT(*), COALESCE(SUM(length(CAST(msg AS BLOB))), 0),
                    COALESCE(SUM(sender = ?2), 0), COALESCE(SUM(CASE WHEN sender = ?2 THEN length(CAST(msg AS BLOB)) END), 0)
             FROM offline_messages WHERE recipient = ?1",
            params![recipient, sender],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        if mine >= limits.per_sender_ims || my_bytes.saturating_add(msg.len()) > limits.per_sender_bytes {
            return Ok(Err(OfflineRefusal::SenderShareUsed));
        }
        if n >= limits.max_ims || bytes.saturating_add(msg.len()) > limits.max_bytes {
            return Ok(Err(OfflineRefusal::BoxFull));
        }
        tx.execute(
            "INSERT INTO offline_messages (recipient, sender, kind, msg, cv, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![recipient, sender, kind, msg, cv, now],
        )?;
        tx.commit()?;
        Ok(Ok(()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tests::db_with;

    #[test]
    fn the_offline_box_has_a_share_per_sender_and_caps_in_ims_and_bytes() {
        use rules::{OfflineLimits, OfflineRefusal};
        let (db, u) = db_with(4);
        let (to, a, b, c) = (u[0], u[1], u[2], u[3]);
        let limits = OfflineLimits { max_ims: 5, max_bytes: 100, per_sender_ims: 2, per_sender_bytes: 40 };
        let store = |from, text: &str| db.store_offline(to, from, 1, text, None, 1, &limits).unwrap();
        assert_eq!(store(a, "1"), Ok(()));
        assert_eq!(store(a, "2"), Ok(()));
        assert_eq!(store(a, "3"), Err(OfflineRefusal::SenderShareUsed), "a sender's count share");
        assert_eq!(store(b, &"é".repeat(21)), Err(OfflineRefusal::SenderShareUsed), "bytes, not characters");
        assert_eq!(store(b, &"x".repeat(40)), Ok(()));
        assert_eq!(store(c, &"x".repeat(39)), Ok(()));
        assert_eq!(store(u[0], &"x".repeat(30)), Err(OfflineRefusal::BoxFull), "81 + 30 > 100 bytes");
        assert_eq!(store(u[0], "y"), Ok(()));
        assert_eq!(store(c, "z"), Err(OfflineRefusal::BoxFull), "5 IMs");
        let big = "x".repeat(rules::MAX_OFFLINE_TEXT + 1);
        assert_eq!(
            db.store_offline(to, a, 1, &big, None, 1, &OfflineLimits::unlimited()).unwrap(),
            Err(OfflineRefusal::TooLong)
        );
    }

    #[test]
    fn offline_messages_are_kept_until_confirmed() {
        let (db, u) = db_with(2);
        let limits = rules::OfflineLimits::default();
        assert_eq!(db.store_offline(u[0], u[1], 1, "one", Some(697), 10, &limits).unwrap(), Ok(()));
        assert_eq!(db.store_offline(u[0], u[1], 1, "two", None, 11, &limits).unwrap(), Ok(()));
        let got = db.offline_for(u[0]).unwrap();
        assert_eq!(got.iter().map(|m| m.msg.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        db.delete_offline_through(u[0], got[0].id).unwrap();
        assert_eq!(db.offline_for(u[0]).unwrap().len(), 1);
    }
}
