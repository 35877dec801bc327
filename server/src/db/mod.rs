//! SQLite storage: accounts, contacts, groups, allow/block lists and offline messages.
//!
//! Owns the schema and every SQL statement; nothing else in the server writes SQL. One connection
//! behind a mutex: SQLite serialises writers anyway, `:memory:` databases exist only inside their
//! connection, and every statement here is a short indexed lookup. Callers must not hold results
//! that borrow the lock while doing network IO — every method returns owned values.
//!
//! Passwords are stored only as 20-byte hashes of SPEC §6.3 step 5, one per client's cut (SPEC §25,
//! `passwords.rs`); the server verifies logins from them (SPEC §24) and never stores the plaintext.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rules::{self, UsernameError};
use crate::Error;

mod block_cache;
mod lists;
mod offline;
mod passwords;
pub mod pictures;
mod prefs;

pub use prefs::Preferences;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    uid               INTEGER PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    pw_hash           BLOB NOT NULL,
    username          TEXT UNIQUE COLLATE NOCASE,
    display_name      TEXT NOT NULL DEFAULT '',
    headline          TEXT NOT NULL DEFAULT '',
    band_name         TEXT NOT NULL DEFAULT '',
    song_name         TEXT NOT NULL DEFAULT '',
    image_url         TEXT NOT NULL DEFAULT '',
    show_only_to_list INTEGER NOT NULL DEFAULT 0,
    privacy_mode      INTEGER NOT NULL DEFAULT 0,
    last_login        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS contacts (
    owner       INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    contact     INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    group_name  TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    visibility  INTEGER NOT NULL DEFAULT 1,
    nickname    TEXT NOT NULL DEFAULT '',
    name_select INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, contact)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contacts_by_contact ON contacts(contact);
CREATE TABLE IF NOT EXISTS groups (
    group_id INTEGER PRIMARY KEY,
    owner    INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    flag     INTEGER NOT NULL,
    UNIQUE (owner, name)
);
-- kind 'a' = allow list, 'b' = block list (SPEC §18.4); target 0 stands for `*` (everyone).
CREATE TABLE IF NOT EXISTS privacy_lists (
    owner  INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    kind   TEXT NOT NULL CHECK (kind IN ('a', 'b')),
    target INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_messages (
    id        INTEGER PRIMARY KEY,
    recipient INTEGER NOT NULL REFERENCES accounts(uid) ON DELETE CASCADE,
    sender    INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    msg       TEXT NOT NULL,
    cv        INTEGER,
    sent_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS offline_by_recipient ON offline_messages(recipient, id);
";

/// Default groups of a new account, with the capture's GroupFlag values (SPEC §10.2).
pub const DEFAULT_GROUPS: [(&str, u32, u32); 3] =
    [("IM Friends", 1, 131_073), ("MySpaceIM Rooms", 2, 196_612), ("Recent Contacts", 3, 196_610)];

/// GroupFlag given to groups first named by a contact write; the capture's value for the ordinary
/// "IM Friends" group (the flag's meaning is unknown, SPEC §22).
pub const PLAIN_GROUP_FLAG: u32 = 131_073;

/// Group of a contact added with `\addbuddy\` and no contact write (Pidgin's default, SPEC §10.1).
pub const DEFAULT_GROUP: &str = "IM Friends";

/// First uid handed out. Real ids were large numbers; starting high keeps demo and test ids from
/// looking like list positions. Explicit smaller ids (Tom's 6221) remain possible.
const FIRST_UID: u32 = 100_000;

/// One account row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub email: String,
    pub pw_hash: [u8; 20],
    pub username: Option<String>,
    pub display_name: String,
    pub headline: String,
    pub band_name: String,
    pub song_name: String,
    pub image_url: String,
    pub show_only_to_list: bool,
    pub privacy_mode: u32,
    /// Unix seconds of the last successful login, 0 = never.
    pub last_login: u64,
}

impl Account {
    /// `uniquenick`: the username, or the numeric id when none is set (SPEC §6.5).
    pub fn unique_nick(&self) -> String {
        self.username.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

/// One row of an owner's contact list (SPEC §10.1, §18.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub contact: u32,
    pub group: String,
    pub position: u32,
    /// 1 normal, 2 blocked (SPEC §18.5).
    pub visibility: u32,
    pub nickname: String,
    pub name_select: u32,
}

/// A contact-info write (0/9): `None` fields keep their stored value (Pidgin's block write sends
/// only `ContactID` and `Visibility`, SPEC §18.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactWrite {
    pub group: Option<String>,
    pub position: Option<u32>,
    pub visibility: Option<u32>,
    pub nickname: Option<String>,
    pub name_select: Option<u32>,
}

/// One group (SPEC §10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub position: u32,
    pub flag: u32,
}

/// A stored offline message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offline {
    pub id: i64,
    pub sender: u32,
    pub kind: u32,
    pub msg: String,
    pub cv: Option<u32>,
    /// Unix seconds when the server received it; delivered as `date` (SPEC §11.1).
    pub sent_at: u64,
}

/// Profile fields `\setinfo\` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    DisplayName,
    Headline,
    BandName,
    SongName,
    ImageUrl,
}

impl ProfileField {
    /// The field's key in `\setinfo\` and in replies.
    pub fn key(self) -> &'static str {
        match self {
            ProfileField::DisplayName => "DisplayName",
            ProfileField::Headline => "Headline",
            ProfileField::BandName => "BandName",
            ProfileField::SongName => "SongName",
            ProfileField::ImageUrl => "ImageURL",
        }
    }

    fn column(self) -> &'static str {
        match self {
            ProfileField::DisplayName => "display_name",
            ProfileField::Headline => "headline",
            ProfileField::BandName => "band_name",
            ProfileField::SongName => "song_name",
            ProfileField::ImageUrl => "image_url",
        }
    }
}

/// Allow or block list (SPEC §18.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Allow,
    Block,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::Allow => "a",
            ListKind::Block => "b",
        }
    }
}

/// The `*` target of a blocklist token, stored as uid 0 (no account has uid 0).
pub const ALL: u32 = 0;

/// The server's database; see the module docs.
pub struct Db {
    conn: Mutex<Connection>,
    /// Locked only while `conn` is locked (see `block_cache.rs`).
    block_cache: Mutex<block_cache::BlockCache>,
}

const ACCOUNT_COLS: &str = "uid, email, pw_hash, username, display_name, headline, band_name, song_name, \
                            image_url, show_only_to_list, privacy_mode, last_login";

/// Text columns are read through [`rules::clean_text`]: a value that could not be sent back
/// (stored before the checks on write existed, or by another tool) loses only its bad characters
/// and never fails a reply that includes it.
fn text(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(rules::clean_text(r.get(i)?))
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let hash: Vec<u8> = r.get(2)?;
    Ok(Account {
        uid: r.get(0)?,
        email: text(r, 1)?,
        pw_hash: hash.try_into().unwrap_or([0; 20]),
        username: r.get::<_, Option<String>>(3)?.map(rules::clean_text),
        display_name: text(r, 4)?,
        headline: text(r, 5)?,
        band_name: text(r, 6)?,
        song_name: text(r, 7)?,
        image_url: text(r, 8)?,
        show_only_to_list: r.get(9)?,
        privacy_mode: r.get(10)?,
        last_login: r.get(11)?,
    })
}

fn contact_from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        contact: r.get(0)?,
        group: text(r, 1)?,
        position: r.get(2)?,
        visibility: r.get(3)?,
        nickname: text(r, 4)?,
        name_select: r.get(5)?,
    })
}

/// True when `e` is a UNIQUE constraint failure.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl Db {
    /// Opens (creating if needed) the database at `path`; `:memory:` gives a private in-memory one.
    pub fn open(path: &str) -> Result<Db, Error> {
        let conn = Connection::open(path)?;
        // WAL + NORMAL: committed transactions survive a process crash (a restart loses nothing),
        // and readers never wait on the writer. In-memory databases ignore both.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(pictures::SCHEMA)?;
        conn.execute_batch(passwords::SCHEMA)?;
        conn.execute_batch(prefs::SCHEMA)?;
        Ok(Db { conn: Mutex::new(conn), block_cache: Mutex::new(block_cache::BlockCache::for_path(path)) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (every write is one
        // statement or one transaction), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an account; `uid` None picks the next free id. The username is validated
    /// (SPEC §6.7) and must be unused, as must the e-mail (both case-insensitive).
    pub fn create_account(
        &self,
        uid: Option<u32>,
        email: &str,
        pw_hash: &[u8; 20],
        username: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<u32, Error> {
        if let Some(name) = username {
            rules::validate_username(name).map_err(Error::Username)?;
        }
        if email.is_empty() || !email.contains('@') || rules::check_text(email, rules::MAX_PROFILE_TEXT).is_err() {
            return Err(Error::InvalidEmail);
        }
        if let Some(d) = display_name {
            rules::check_text(d, rules::MAX_PROFILE_TEXT)
                .map_err(|why| Error::BadText { field: "DisplayName", why })?;
        }
        let mut c = self.lock();
        let tx = c.transaction()?;
        if tx.query_row("SELECT 1 FROM accounts WHERE email = ?1", [email], |_| Ok(())).optional()?.is_some() {
            return Err(Error::EmailTaken);
        }
        if let Some(name) = username {
            if tx.query_row("SELECT 1 FROM accounts WHERE username = ?1", [name], |_| Ok(())).optional()?.is_some() {
                return Err(Error::Username(UsernameError::Taken));
            }
        }
        // SPEC §6.5: a uid ≥ 2^31 would come back negative from Pidgin, and uid 0 marks
        // server-originated data (SPEC §7.3).
        let uid: u64 = match uid {
            Some(u) => u.into(),
            None => {
                tx.query_row("SELECT MAX(COALESCE(MAX(uid), 0) + 1, ?1) FROM accounts", [FIRST_UID], |r| r.get(0))?
            }
        };
        let uid = match u32::try_from(uid) {
            Ok(u) if (1..=rules::MAX_ECHOED_INT).contains(&u) => u,
            _ => return Err(Error::UidOutOfRange(uid)),
        };
        tx.execute(
            "INSERT INTO accounts (uid, email, pw_hash, username, display_name) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uid, email, &pw_hash[..], username, display_name.unwrap_or("")],
        )
        .map_err(|e| if is_unique_violation(&e) { Error::UidTaken(uid) } else { e.into() })?;
        for (name, pos, flag) in DEFAULT_GROUPS {
            tx.execute(
                "INSERT INTO groups (owner, name, position, flag) VALUES (?1, ?2, ?3, ?4)",
                params![uid, name, pos, flag],
            )?;
        }
        tx.commit()?;
        Ok(uid)
    }

    /// Removes an account and everything it owns; also drops it from everyone's lists.
    pub fn remove_account(&self, email: &str) -> Result<bool, Error> {
        let c = self.lock();
        let Some(uid) =
            c.query_row("SELECT uid FROM accounts WHERE email = ?1", [email], |r| r.get::<_, u32>(0)).optional()?
        else {
            return Ok(false);
        };
        c.execute("DELETE FROM privacy_lists WHERE target = ?1", [uid])?;
        c.execute("DELETE FROM accounts WHERE uid = ?1", [uid])?;
        Ok(true)
    }

    pub fn accounts(&self) -> Result<Vec<Account>, Error> {
        let c = self.lock();
        let mut st = c.prepare(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY uid"))?;
        let rows = st.query_map([], account_from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Whether an account with this uid exists: on every routed message's path, so it reads no
    /// columns and its statement is cached.
    pub fn account_exists(&self, uid: u32) -> Result<bool, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached("SELECT 1 FROM accounts WHERE uid = ?1")?;
        Ok(st.exists([uid])?)
    }

    /// Cached statement: it also runs often (presence checks, lookups); preparing it each time
    /// cost more than the query.
    pub fn account(&self, uid: u32) -> Result<Option<Account>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE uid = ?1"))?;
        Ok(st.query_row([uid], account_from_row).optional()?)
    }

    pub fn account_by_email(&self, email: &str) -> Result<Option<Account>, Error> {
        let c = self.lock();
        Ok(c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email = ?1"), [email], account_from_row)
            .optional()?)
    }

    /// Lookup by username, case-insensitive. An all-digit name also matches the account with that
    /// uid and no username, whose `UserName` is its numeric id (SPEC §9.2).
    pub fn account_by_username(&self, name: &str) -> Result<Option<Account>, Error> {
        let c = self.lock();
        let found = c
            .query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = ?1"), [name], account_from_row)
            .optional()?;
        if found.is_some() || name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(found);
        }
        let Ok(uid) = name.parse::<u32>() else { return Ok(None) };
        Ok(c.query_row(
            &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE uid = ?1 AND username IS NULL"),
            [uid],
            account_from_row,
        )
        .optional()?)
    }

    /// Sets the username once (SPEC §6.7: it cannot be changed once set). Setting the same name
    /// again (any case) succeeds: Pidgin sends it by `\setinfo\` and then by 9/14.
    pub fn set_username(&self, uid: u32, name: &str) -> Result<Result<(), UsernameError>, Error> {
        if let Err(e) = rules::validate_username(name) {
            return Ok(Err(e));
        }
        let c = self.lock();
        let current: Option<Option<String>> =
            c.query_row("SELECT username FROM accounts WHERE uid = ?1", [uid], |r| r.get(0)).optional()?;
        match current {
            None => return Err(Error::NoSuchAccount),
            Some(Some(cur)) if cur.eq_ignore_ascii_case(name) => return Ok(Ok(())),
            Some(Some(_)) => return Ok(Err(UsernameError::AlreadySet)),
            Some(None) => {}
        }
        match c.execute("UPDATE accounts SET username = ?2 WHERE uid = ?1", params![uid, name]) {
            Ok(_) => Ok(Ok(())),
            Err(e) if is_unique_violation(&e) => Ok(Err(UsernameError::Taken)),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a profile field; a value [`rules::check_text`] refuses is not stored
    /// ([`Error::BadText`]).
    pub fn set_profile(&self, uid: u32, field: ProfileField, value: &str) -> Result<(), Error> {
        rules::check_text(value, rules::MAX_PROFILE_TEXT).map_err(|why| Error::BadText { field: field.key(), why })?;
        let c = self.lock();
        c.execute(&format!("UPDATE accounts SET {} = ?2 WHERE uid = ?1", field.column()), params![uid, value])?;
        Ok(())
    }

    /// Stores the `w`/`c` flags of a blocklist message (SPEC §9.4, §18.4).
    pub fn set_privacy(
        &self,
        uid: u32,
        show_only_to_list: Option<bool>,
        privacy_bit0: Option<bool>,
    ) -> Result<(), Error> {
        let c = self.lock();
        if let Some(w) = show_only_to_list {
            c.execute("UPDATE accounts SET show_only_to_list = ?2 WHERE uid = ?1", params![uid, w])?;
        }
        if let Some(bit) = privacy_bit0 {
            c.execute(
                "UPDATE accounts SET privacy_mode = (privacy_mode & ~1) | ?2 WHERE uid = ?1",
                params![uid, u32::from(bit)],
            )?;
        }
        Ok(())
    }

    pub fn touch_login(&self, uid: u32, now: u64) -> Result<(), Error> {
        self.lock().execute("UPDATE accounts SET last_login = ?2 WHERE uid = ?1", params![uid, now])?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh in-memory database with `n` accounts; their uids (also used by `offline.rs`'s tests).
    pub(crate) fn db_with(n: usize) -> (Db, Vec<u32>) {
        let db = Db::open(":memory:").unwrap();
        let uids = (0..n)
            .map(|i| db.create_account(None, &format!("u{i}@x.org"), &[i as u8; 20], None, None).unwrap())
            .collect();
        (db, uids)
    }

    #[test]
    fn email_and_username_are_unique_case_insensitively() {
        let db = Db::open(":memory:").unwrap();
        let a = db.create_account(None, "A@x.org", &[1; 20], Some("Name"), None).unwrap();
        assert_eq!(a, FIRST_UID);
        assert!(matches!(db.create_account(None, "a@X.ORG", &[1; 20], None, None), Err(Error::EmailTaken)));
        assert!(matches!(
            db.create_account(None, "b@x.org", &[1; 20], Some("NAME"), None),
            Err(Error::Username(UsernameError::Taken))
        ));
        assert!(matches!(db.create_account(Some(a), "c@x.org", &[1; 20], None, None), Err(Error::UidTaken(_))));
        for bad in [0, 1 << 31, u32::MAX] {
            assert!(matches!(
                db.create_account(Some(bad), "d@x.org", &[1; 20], None, None),
                Err(Error::UidOutOfRange(_))
            ));
        }
        db.create_account(Some(rules::MAX_ECHOED_INT), "e@x.org", &[1; 20], None, None).unwrap();
        // Past the highest uid there is none left to hand out.
        assert!(matches!(db.create_account(None, "f@x.org", &[1; 20], None, None), Err(Error::UidOutOfRange(_))));
        assert_eq!(db.account_by_email("a@x.org").unwrap().unwrap().uid, a);
        assert_eq!(db.account_by_username("name").unwrap().unwrap().pw_hash, [1; 20]);
        assert_eq!(db.groups(a).unwrap().len(), DEFAULT_GROUPS.len());
    }

    #[test]
    fn username_is_set_once() {
        let (db, u) = db_with(2);
        assert_eq!(db.set_username(u[0], "first").unwrap(), Ok(()));
        assert_eq!(db.set_username(u[0], "FIRST").unwrap(), Ok(()));
        assert_eq!(db.set_username(u[0], "second").unwrap(), Err(UsernameError::AlreadySet));
        assert_eq!(db.set_username(u[1], "First").unwrap(), Err(UsernameError::Taken));
        assert_eq!(db.set_username(u[1], "9999").unwrap(), Err(UsernameError::Invalid));
        // A user without a username is found by its numeric id as UserName (SPEC §9.2).
        assert_eq!(db.account_by_username(&u[1].to_string()).unwrap().unwrap().uid, u[1]);
        assert!(db.account_by_username(&u[0].to_string()).unwrap().is_none());
    }

    #[test]
    fn blocking_by_list_marker_and_star() {
        let (db, u) = db_with(3);
        let (me, a, b) = (u[0], u[1], u[2]);
        assert!(!db.is_blocked(me, a).unwrap());
        db.list_add(me, ListKind::Block, a).unwrap();
        assert!(db.is_blocked(me, a).unwrap() && !db.is_blocked(me, b).unwrap());
        db.write_contact(me, b, &ContactWrite { visibility: Some(2), ..ContactWrite::default() }).unwrap();
        assert!(db.is_blocked(me, b).unwrap());
        assert_eq!(db.watchers(me).unwrap(), Vec::<u32>::new());
        db.list_remove(me, ListKind::Block, ALL).unwrap();
        assert!(!db.is_blocked(me, a).unwrap() && !db.is_blocked(me, b).unwrap());
        assert!(db.contacts(me).unwrap().is_empty(), "unblocking drops block markers");
        db.list_add(me, ListKind::Block, ALL).unwrap();
        db.list_add(me, ListKind::Allow, a).unwrap();
        assert!(!db.is_blocked(me, a).unwrap() && db.is_blocked(me, b).unwrap());
        db.clear_block_all(me).unwrap();
        assert!(!db.is_blocked(me, b).unwrap());
    }

    /// The block cache (block_cache.rs) also notices writes committed by another connection, such
    /// as `msim-server account remove` run against the live server's file.
    #[test]
    fn a_block_written_by_another_connection_is_seen_at_once() {
        let path = std::env::temp_dir().join(format!("msim-block-cache-{}.db", std::process::id()));
        let files = ["", "-wal", "-shm"].map(|s| format!("{}{s}", path.display()));
        files.iter().for_each(|f| drop(std::fs::remove_file(f)));
        let live = Db::open(&files[0]).unwrap();
        let me = live.create_account(None, "me@x.org", &[1; 20], None, None).unwrap();
        let a = live.create_account(None, "a@x.org", &[2; 20], None, None).unwrap();
        assert!(!live.is_blocked(me, a).unwrap());
        assert!(!live.is_blocked(me, a).unwrap()); // now answered from the cache
        let other = Db::open(&files[0]).unwrap();
        other.list_add(me, ListKind::Block, a).unwrap();
        assert!(live.is_blocked(me, a).unwrap(), "a stale cached answer");
        other.list_remove(me, ListKind::Block, a).unwrap();
        assert!(!live.is_blocked(me, a).unwrap(), "a stale cached answer");
        drop((live, other));
        files.iter().for_each(|f| drop(std::fs::remove_file(f)));
    }

    #[test]
    fn allow_and_block_lists_stop_at_their_limit() {
        let (db, u) = db_with(1);
        for target in 0..rules::MAX_LIST_ENTRIES as u32 {
            db.list_add(u[0], ListKind::Block, 10_000 + target).unwrap();
        }
        assert!(matches!(db.list_add(u[0], ListKind::Block, 99), Err(Error::ListFull)));
        db.list_add(u[0], ListKind::Block, 10_000).unwrap(); // already there: fine
        db.list_add(u[0], ListKind::Allow, 99).unwrap(); // the other list has its own limit
    }
}
