//! SQLite storage: accounts, contacts, groups, allow/block lists and offline messages.
//!
//! Owns the schema and every SQL statement; nothing else in the server writes SQL. One connection
//! behind a mutex: SQLite serialises writers anyway, `:memory:` databases exist only inside their
//! connection, and every statement here is a short indexed lookup. Callers must not hold results
//! that borrow the lock while doing network IO — every method returns owned values.
//!
//! Passwords are stored only as the 20-byte hash of SPEC §6.3 step 5 (`password_hash`); the server
//! verifies logins from it (SPEC §24) and never sees or stores the plaintext after account creation.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rules::{self, UsernameError};
use crate::Error;

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
}

const ACCOUNT_COLS: &str = "uid, email, pw_hash, username, display_name, headline, band_name, song_name, \
                            image_url, show_only_to_list, privacy_mode, last_login";

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let hash: Vec<u8> = r.get(2)?;
    Ok(Account {
        uid: r.get(0)?,
        email: r.get(1)?,
        pw_hash: hash.try_into().unwrap_or([0; 20]),
        username: r.get(3)?,
        display_name: r.get(4)?,
        headline: r.get(5)?,
        band_name: r.get(6)?,
        song_name: r.get(7)?,
        image_url: r.get(8)?,
        show_only_to_list: r.get(9)?,
        privacy_mode: r.get(10)?,
        last_login: r.get(11)?,
    })
}

fn contact_from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        contact: r.get(0)?,
        group: r.get(1)?,
        position: r.get(2)?,
        visibility: r.get(3)?,
        nickname: r.get(4)?,
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
        Ok(Db { conn: Mutex::new(conn) })
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
        if email.is_empty() || !email.contains('@') {
            return Err(Error::InvalidEmail);
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
        let uid = match uid {
            Some(u) => u,
            None => tx.query_row("SELECT MAX(COALESCE(MAX(uid), 0) + 1, ?1) FROM accounts", [FIRST_UID], |r| r.get(0))?,
        };
        tx.execute(
            "INSERT INTO accounts (uid, email, pw_hash, username, display_name) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uid, email, &pw_hash[..], username, display_name.unwrap_or("")],
        )
        .map_err(|e| if is_unique_violation(&e) { Error::UidTaken(uid) } else { e.into() })?;
        for (name, pos, flag) in DEFAULT_GROUPS {
            tx.execute("INSERT INTO groups (owner, name, position, flag) VALUES (?1, ?2, ?3, ?4)", params![uid, name, pos, flag])?;
        }
        tx.commit()?;
        Ok(uid)
    }

    /// Removes an account and everything it owns; also drops it from everyone's lists.
    pub fn remove_account(&self, email: &str) -> Result<bool, Error> {
        let c = self.lock();
        let Some(uid) = c.query_row("SELECT uid FROM accounts WHERE email = ?1", [email], |r| r.get::<_, u32>(0)).optional()? else {
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

    pub fn account(&self, uid: u32) -> Result<Option<Account>, Error> {
        let c = self.lock();
        Ok(c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE uid = ?1"), [uid], account_from_row).optional()?)
    }

    pub fn account_by_email(&self, email: &str) -> Result<Option<Account>, Error> {
        let c = self.lock();
        Ok(c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email = ?1"), [email], account_from_row).optional()?)
    }

    /// Lookup by username, case-insensitive. An all-digit name also matches the account with that
    /// uid and no username, whose `UserName` is its numeric id (SPEC §9.2).
    pub fn account_by_username(&self, name: &str) -> Result<Option<Account>, Error> {
        let c = self.lock();
        let found = c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = ?1"), [name], account_from_row).optional()?;
        if found.is_some() || name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(found);
        }
        let Ok(uid) = name.parse::<u32>() else { return Ok(None) };
        Ok(c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE uid = ?1 AND username IS NULL"), [uid], account_from_row).optional()?)
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

    pub fn set_profile(&self, uid: u32, field: ProfileField, value: &str) -> Result<(), Error> {
        let c = self.lock();
        c.execute(&format!("UPDATE accounts SET {} = ?2 WHERE uid = ?1", field.column()), params![uid, value])?;
        Ok(())
    }

    /// Stores the `w`/`c` flags of a blocklist message (SPEC §9.4, §18.4).
    pub fn set_privacy(&self, uid: u32, show_only_to_list: Option<bool>, privacy_bit0: Option<bool>) -> Result<(), Error> {
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

    /// The owner's contact rows in list order.
    pub fn contacts(&self, owner: u32) -> Result<Vec<Contact>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT contact, group_name, position, visibility, nickname, name_select FROM contacts
             WHERE owner = ?1 ORDER BY position, contact",
        )?;
        let rows = st.query_map([owner], contact_from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn contact(&self, owner: u32, contact: u32) -> Result<Option<Contact>, Error> {
        let c = self.lock();
        Ok(c.query_row(
            "SELECT contact, group_name, position, visibility, nickname, name_select FROM contacts
             WHERE owner = ?1 AND contact = ?2",
            [owner, contact],
            contact_from_row,
        )
        .optional()?)
    }

    /// Owners who list `uid` as a normal (not blocked) contact: the audience of its presence.
    pub fn watchers(&self, uid: u32) -> Result<Vec<u32>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached("SELECT owner FROM contacts WHERE contact = ?1 AND visibility <> 2")?;
        let rows = st.query_map([uid], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Number of normal contacts (`TotalFriends`, SPEC §9.2).
    pub fn friend_count(&self, owner: u32) -> Result<u32, Error> {
        let c = self.lock();
        Ok(c.query_row("SELECT COUNT(*) FROM contacts WHERE owner = ?1 AND visibility <> 2", [owner], |r| r.get(0))?)
    }

    /// Adds `contact` to `owner`'s list (or turns a block marker back into a contact), keeping an
    /// existing row's group and position. Returns false when the list is full (SPEC §20).
    pub fn add_contact(&self, owner: u32, contact: u32, group: Option<&str>) -> Result<bool, Error> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        let exists = tx.query_row("SELECT 1 FROM contacts WHERE owner = ?1 AND contact = ?2", [owner, contact], |_| Ok(())).optional()?;
        if exists.is_some() {
            tx.execute("UPDATE contacts SET visibility = 1 WHERE owner = ?1 AND contact = ?2", [owner, contact])?;
            if let Some(g) = group {
                tx.execute("UPDATE contacts SET group_name = ?3 WHERE owner = ?1 AND contact = ?2", params![owner, contact, g])?;
                ensure_group(&tx, owner, g)?;
            }
            tx.commit()?;
            return Ok(true);
        }
        let count: usize = tx.query_row("SELECT COUNT(*) FROM contacts WHERE owner = ?1", [owner], |r| r.get(0))?;
        if count >= rules::MAX_CONTACTS {
            return Ok(false);
        }
        let group = group.unwrap_or(DEFAULT_GROUP);
        tx.execute(
            "INSERT INTO contacts (owner, contact, group_name, position) VALUES (?1, ?2, ?3, ?4)",
            params![owner, contact, group, count as u32],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Error::NoSuchAccount,
            e => e.into(),
        })?;
        ensure_group(&tx, owner, group)?;
        tx.commit()?;
        Ok(true)
    }

    /// Applies a contact-info write (0/9), creating the row when needed. False when the list is full.
    pub fn write_contact(&self, owner: u32, contact: u32, w: &ContactWrite) -> Result<bool, Error> {
        if self.contact(owner, contact)?.is_none() {
            let visibility = w.visibility.unwrap_or(1);
            // A block write creates a block marker: a row with visibility 2 (SPEC §18.3).
            if !self.add_contact(owner, contact, w.group.as_deref())? {
                return Ok(false);
            }
            self.lock().execute("UPDATE contacts SET visibility = ?3 WHERE owner = ?1 AND contact = ?2", params![owner, contact, visibility])?;
        }
        let mut c = self.lock();
        let tx = c.transaction()?;
        let set = |col: &str, v: &dyn rusqlite::ToSql| {
            tx.execute(&format!("UPDATE contacts SET {col} = ?3 WHERE owner = ?1 AND contact = ?2"), params![owner, contact, v])
        };
        if let Some(g) = &w.group {
            set("group_name", g)?;
        }
        if let Some(p) = w.position {
            set("position", &p)?;
        }
        if let Some(v) = w.visibility {
            set("visibility", &v)?;
        }
        if let Some(n) = &w.nickname {
            set("nickname", n)?;
        }
        if let Some(n) = w.name_select {
            set("name_select", &n)?;
        }
        if let Some(g) = &w.group {
            ensure_group(&tx, owner, g)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Deletes a contact row (0/8, `\delbuddy\`). True when one existed.
    pub fn delete_contact(&self, owner: u32, contact: u32) -> Result<bool, Error> {
        Ok(self.lock().execute("DELETE FROM contacts WHERE owner = ?1 AND contact = ?2", [owner, contact])? > 0)
    }

    /// Adds `target` (or [`ALL`]) to the owner's allow or block list.
    pub fn list_add(&self, owner: u32, kind: ListKind, target: u32) -> Result<(), Error> {
        self.lock().execute(
            "INSERT OR IGNORE INTO privacy_lists (owner, kind, target) VALUES (?1, ?2, ?3)",
            params![owner, kind.tag(), target],
        )?;
        Ok(())
    }

    /// Removes `target` from the list; [`ALL`] empties it. Unblocking also drops block markers
    /// (visibility-2 rows that are not real contacts).
    pub fn list_remove(&self, owner: u32, kind: ListKind, target: u32) -> Result<(), Error> {
        let c = self.lock();
        if target == ALL {
            c.execute("DELETE FROM privacy_lists WHERE owner = ?1 AND kind = ?2", params![owner, kind.tag()])?;
            if kind == ListKind::Block {
                c.execute("DELETE FROM contacts WHERE owner = ?1 AND visibility = 2", [owner])?;
            }
        } else {
            c.execute("DELETE FROM privacy_lists WHERE owner = ?1 AND kind = ?2 AND target = ?3", params![owner, kind.tag(), target])?;
            if kind == ListKind::Block {
                c.execute("DELETE FROM contacts WHERE owner = ?1 AND contact = ?2 AND visibility = 2", [owner, target])?;
            }
        }
        Ok(())
    }

    /// Undoes `b+|*` only, keeping individual entries (`a+|*`: allow everyone again).
    pub fn clear_block_all(&self, owner: u32) -> Result<(), Error> {
        self.lock().execute("DELETE FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = 0", [owner])?;
        Ok(())
    }

    /// Uids on the owner's block list (not counting `*`).
    pub fn blocked_uids(&self, owner: u32) -> Result<Vec<u32>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached("SELECT target FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target <> 0 ORDER BY target")?;
        let rows = st.query_map([owner], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Has `owner` blocked `other`? Blocked = on the block list, or a visibility-2 contact row, or
    /// `b+|*` without `other` on the allow list (SPEC §18.3, §18.4).
    pub fn is_blocked(&self, owner: u32, other: u32) -> Result<bool, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = ?2)
                 OR EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND contact = ?2 AND visibility = 2)
                 OR (EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = 0)
                     AND NOT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'a' AND target = ?2))",
        )?;
        Ok(st.query_row([owner, other], |r| r.get(0))?)
    }

    /// The owner's groups, in position order.
    pub fn groups(&self, owner: u32) -> Result<Vec<Group>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached("SELECT group_id, name, position, flag FROM groups WHERE owner = ?1 ORDER BY position, group_id")?;
        let rows = st
            .query_map([owner], |r| Ok(Group { id: r.get(0)?, name: r.get(1)?, position: r.get(2)?, flag: r.get(3)? }))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Creates or updates a group by name (2/16).
    pub fn write_group(&self, owner: u32, name: &str, position: u32, flag: u32) -> Result<(), Error> {
        self.lock().execute(
            "INSERT INTO groups (owner, name, position, flag) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (owner, name) DO UPDATE SET position = excluded.position, flag = excluded.flag",
            params![owner, name, position, flag],
        )?;
        Ok(())
    }

    /// Stores an IM for later delivery. False when the recipient's backlog is full.
    pub fn store_offline(&self, recipient: u32, sender: u32, kind: u32, msg: &str, cv: Option<u32>, now: u64) -> Result<bool, Error> {
        let c = self.lock();
        let n: usize = c.query_row("SELECT COUNT(*) FROM offline_messages WHERE recipient = ?1", [recipient], |r| r.get(0))?;
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
        let mut st = c.prepare_cached("SELECT id, sender, kind, msg, cv, sent_at FROM offline_messages WHERE recipient = ?1 ORDER BY id")?;
        let rows = st
            .query_map([recipient], |r| {
                Ok(Offline { id: r.get(0)?, sender: r.get(1)?, kind: r.get(2)?, msg: r.get(3)?, cv: r.get(4)?, sent_at: r.get(5)? })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn delete_offline_through(&self, recipient: u32, last_id: i64) -> Result<(), Error> {
        self.lock().execute("DELETE FROM offline_messages WHERE recipient = ?1 AND id <= ?2", params![recipient, last_id])?;
        Ok(())
    }

    /// Accounts that list `uid` as a contact but are not on `uid`'s own list or blocked by it: the
    /// candidates of import-all-friends (14/21), at most `limit`.
    pub fn import_candidates(&self, uid: u32, limit: usize) -> Result<Vec<u32>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT w.owner FROM contacts w
             WHERE w.contact = ?1 AND w.visibility <> 2 AND w.owner <> ?1
               AND NOT EXISTS (SELECT 1 FROM contacts m WHERE m.owner = ?1 AND m.contact = w.owner)
               AND NOT EXISTS (SELECT 1 FROM privacy_lists b WHERE b.owner = ?1 AND b.kind = 'b' AND b.target = w.owner)
             ORDER BY w.owner LIMIT ?2",
        )?;
        let rows = st.query_map(params![uid, limit as i64], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// Makes sure a group named by a contact exists in the owner's group list.
fn ensure_group(tx: &rusqlite::Transaction<'_>, owner: u32, name: &str) -> rusqlite::Result<()> {
    if name.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT OR IGNORE INTO groups (owner, name, position, flag)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM groups WHERE owner = ?1), ?3)",
        params![owner, name, PLAIN_GROUP_FLAG],
    )?;
    Ok(())
}
