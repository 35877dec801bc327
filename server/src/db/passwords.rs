//! What the server stores to verify a password: the 20-byte h1 of SPEC §6.3 step 5 for every way a
//! client may cut and lower-case it (SPEC §25, `msim::protocol::password`), never the password.
//!
//! `accounts.pw_hash` holds Pidgin's h1 (the §6.3/§24 normalisation); the table below holds the
//! other distinct ones (none for an ASCII password, whose variants are all equal). The table is
//! the schema migration: a database from before it gets it, empty, when opened, so its accounts
//! keep logging in with Pidgin's cut, and accept the other cuts once their password is set again
//! ([`Db::set_password`], `msim-server account password`). A password cannot be recovered from
//! an h1 to fill the table in.

use msim::protocol::login::password_hash;
use msim::protocol::password::password_hash_variants;
use rusqlite::{params, OptionalExtension, Transaction};

use super::Db;
use crate::Error;

/// Created by [`Db::open`] on every database, new or old.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS password_variants (
    uid  INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    hash BLOB NOT NULL,
    PRIMARY KEY (uid, hash)
) WITHOUT ROWID;
";

fn store_variants(tx: &Transaction<'_>, uid: u32, hashes: &[[u8; 20]]) -> Result<(), Error> {
    tx.execute("DELETE FROM password_variants WHERE uid = ?1", [uid])?;
    for h in hashes {
        tx.execute("INSERT OR IGNORE INTO password_variants (uid, hash) VALUES (?1, ?2)", params![uid, &h[..]])?;
    }
    Ok(())
}

impl Db {
    /// Creates an account (as [`Db::create_account`]) that accepts `password` under every client's
    /// cut and lower-casing (SPEC §25).
    pub fn create_account_with_password(
        &self,
        uid: Option<u32>,
        email: &str,
        password: &str,
        username: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<u32, Error> {
        let hashes = password_hash_variants(password);
        let uid = self.create_account(uid, email, &hashes[0], username, display_name)?;
        let mut c = self.lock();
        let stored = c.transaction().map_err(Error::from).and_then(|tx| {
            store_variants(&tx, uid, &hashes[1..])?;
            Ok(tx.commit()?)
        });
        if let Err(e) = stored {
            // No half-made account: it would log in with Pidgin's cut only.
            let _ = c.execute("DELETE FROM accounts WHERE uid = ?1", [uid]);
            return Err(e);
        }
        Ok(uid)
    }

    /// Sets the password of the account with this e-mail (case-insensitive): Pidgin's h1 and
    /// every other variant replace the old ones. False when there is no such account.
    pub fn set_password(&self, email: &str, password: &str) -> Result<bool, Error> {
        let hashes = password_hash_variants(password);
        debug_assert_eq!(hashes[0], password_hash(password));
        let mut c = self.lock();
        let tx = c.transaction()?;
        let Some(uid) =
            tx.query_row("SELECT uid FROM accounts WHERE email = ?1", [email], |r| r.get::<_, u32>(0)).optional()?
        else {
            return Ok(false);
        };
        tx.execute("UPDATE accounts SET pw_hash = ?2 WHERE uid = ?1", params![uid, &hashes[0][..]])?;
        store_variants(&tx, uid, &hashes[1..])?;
        tx.commit()?;
        Ok(true)
    }

    /// Every h1 a login of `uid` may verify under: `accounts.pw_hash` (Pidgin's) first, then the
    /// other variants. Empty when there is no such account.
    pub fn password_hashes(&self, uid: u32) -> Result<Vec<[u8; 20]>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT pw_hash FROM accounts WHERE uid = ?1
             UNION ALL SELECT hash FROM password_variants WHERE uid = ?1",
        )?;
        let rows = st.query_map([uid], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for h in rows {
            // A malformed stored value matches no response; skipping it keeps the others usable.
            if let Ok(h) = <[u8; 20]>::try_from(h?.as_slice()) {
                out.push(h);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use msim::protocol::password::{password_hash_with, LowerCasing, PasswordCut};

    use super::*;

    const PW: &str = "Å😀BCDEFGHIJK"; // the three cuts differ (SPEC §25)

    fn cuts(pw: &str) -> Vec<[u8; 20]> {
        PasswordCut::ALL.iter().map(|c| password_hash_with(pw, *c, LowerCasing::Unicode)).collect()
    }

    #[test]
    fn every_cut_is_stored_and_a_new_password_replaces_them_all() {
        let db = Db::open(":memory:").unwrap();
        let uid = db.create_account_with_password(None, "a@x.org", PW, None, None).unwrap();
        let stored = db.password_hashes(uid).unwrap();
        assert_eq!(stored[0], password_hash(PW));
        assert_eq!(db.account(uid).unwrap().unwrap().pw_hash, password_hash(PW));
        assert!(cuts(PW).iter().all(|h| stored.contains(h)));
        assert!(db.set_password("A@X.ORG", "plain").unwrap());
        assert_eq!(db.password_hashes(uid).unwrap(), [password_hash("plain")]);
        assert!(!db.set_password("nobody@x.org", "x").unwrap());
        db.remove_account("a@x.org").unwrap();
        assert!(db.password_hashes(uid).unwrap().is_empty());
    }

    /// A database written before the variants existed (no `password_variants` table): opening it
    /// adds the table, its accounts keep Pidgin's hash, and setting the password adds the rest.
    #[test]
    fn an_old_database_gains_the_table_and_its_accounts_keep_pidgins_hash() {
        let path = std::env::temp_dir().join(format!("msim-pw-migrate-{}.db", std::process::id()));
        let files = ["", "-wal", "-shm"].map(|s| format!("{}{s}", path.display()));
        files.iter().for_each(|f| drop(std::fs::remove_file(f)));
        {
            let db = Db::open(&files[0]).unwrap();
            db.create_account(None, "old@x.org", &password_hash(PW), None, None).unwrap();
            db.lock().execute_batch("DROP TABLE password_variants").unwrap();
        }
        let db = Db::open(&files[0]).unwrap();
        let uid = db.account_by_email("old@x.org").unwrap().unwrap().uid;
        assert_eq!(db.password_hashes(uid).unwrap(), [password_hash(PW)]);
        assert!(db.set_password("old@x.org", PW).unwrap());
        assert!(cuts(PW).iter().all(|h| db.password_hashes(uid).unwrap().contains(h)));
        drop(db);
        files.iter().for_each(|f| drop(std::fs::remove_file(f)));
    }
}
