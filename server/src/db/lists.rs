//! Contact lists, groups and the allow/block lists: the `impl Db` methods over the `contacts`,
//! `groups` and `privacy_lists` tables (schema in `mod.rs`).

use rusqlite::{params, Connection, OptionalExtension};

use super::{contact_from_row, Contact, ContactWrite, Db, Group, ListKind, ALL, DEFAULT_GROUP, PLAIN_GROUP_FLAG};
use crate::rules;
use crate::Error;

impl Db {
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

    /// The watchers of `subject` (as [`Db::watchers`], without `subject` itself) that may see its
    /// presence: `router::can_see(subject, watcher)` for all of them in one statement, so a status
    /// change fans out after one query instead of several per watcher (issue "Performance, round
    /// two": 1 000 watchers). The conditions are `is_blocked` both ways (the watcher's own row for
    /// `subject` is not a visibility-2 one, or it would not be a watcher), and ShowOnlyToList with
    /// the subject's list or allow list. `router`'s tests check it against `can_see`.
    pub fn watchers_who_may_see(&self, subject: u32) -> Result<Vec<u32>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT w.owner FROM contacts w
             WHERE w.contact = ?1 AND w.visibility <> 2 AND w.owner <> ?1
               AND NOT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = w.owner AND kind = 'b' AND target = ?1)
               AND NOT (EXISTS (SELECT 1 FROM privacy_lists WHERE owner = w.owner AND kind = 'b' AND target = 0)
                        AND NOT EXISTS (SELECT 1 FROM privacy_lists
                                        WHERE owner = w.owner AND kind = 'a' AND target = ?1))
               AND NOT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = w.owner)
               AND NOT EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND contact = w.owner AND visibility = 2)
               AND NOT (EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = 0)
                        AND NOT EXISTS (SELECT 1 FROM privacy_lists
                                        WHERE owner = ?1 AND kind = 'a' AND target = w.owner))
               AND (NOT EXISTS (SELECT 1 FROM accounts WHERE uid = ?1 AND show_only_to_list <> 0)
                    OR EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND contact = w.owner AND visibility <> 2)
                    OR EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'a' AND target = w.owner))",
        )?;
        let rows = st.query_map([subject], |r| r.get(0))?.collect::<Result<_, _>>()?;
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
        let exists = tx
            .query_row("SELECT 1 FROM contacts WHERE owner = ?1 AND contact = ?2", [owner, contact], |_| Ok(()))
            .optional()?;
        if exists.is_some() {
            tx.execute("UPDATE contacts SET visibility = 1 WHERE owner = ?1 AND contact = ?2", [owner, contact])?;
            if let Some(g) = group {
                tx.execute(
                    "UPDATE contacts SET group_name = ?3 WHERE owner = ?1 AND contact = ?2",
                    params![owner, contact, g],
                )?;
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
            rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                Error::NoSuchAccount
            }
            e => e.into(),
        })?;
        ensure_group(&tx, owner, group)?;
        tx.commit()?;
        Ok(true)
    }

    /// Applies a contact-info write (0/9), creating the row when needed. False when the list is full.
    pub fn write_contact(&self, owner: u32, contact: u32, w: &ContactWrite) -> Result<bool, Error> {
        if let Some(n) = &w.nickname {
            rules::check_text(n, rules::MAX_NAME_TEXT).map_err(|why| Error::BadText { field: "NickName", why })?;
        }
        if let Some(g) = &w.group {
            rules::check_text(g, rules::MAX_NAME_TEXT).map_err(|why| Error::BadText { field: "GroupName", why })?;
        }
        if self.contact(owner, contact)?.is_none() {
            let visibility = w.visibility.unwrap_or(1);
            // A block write creates a block marker: a row with visibility 2 (SPEC §18.3).
            if !self.add_contact(owner, contact, w.group.as_deref())? {
                return Ok(false);
            }
            self.lock().execute(
                "UPDATE contacts SET visibility = ?3 WHERE owner = ?1 AND contact = ?2",
                params![owner, contact, visibility],
            )?;
        }
        let mut c = self.lock();
        let tx = c.transaction()?;
        let set = |col: &str, v: &dyn rusqlite::ToSql| {
            tx.execute(
                &format!("UPDATE contacts SET {col} = ?3 WHERE owner = ?1 AND contact = ?2"),
                params![owner, contact, v],
            )
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
    /// [`Error::ListFull`] when the list already has [`rules::MAX_LIST_ENTRIES`] entries.
    pub fn list_add(&self, owner: u32, kind: ListKind, target: u32) -> Result<(), Error> {
        let c = self.lock();
        let count: usize = c.query_row(
            "SELECT COUNT(*) FROM privacy_lists WHERE owner = ?1 AND kind = ?2",
            params![owner, kind.tag()],
            |r| r.get(0),
        )?;
        if count >= rules::MAX_LIST_ENTRIES {
            let present = c
                .prepare_cached("SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = ?2 AND target = ?3")?
                .exists(params![owner, kind.tag(), target])?;
            return if present { Ok(()) } else { Err(Error::ListFull) };
        }
        c.execute(
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
            c.execute(
                "DELETE FROM privacy_lists WHERE owner = ?1 AND kind = ?2 AND target = ?3",
                params![owner, kind.tag(), target],
            )?;
            if kind == ListKind::Block {
                c.execute(
                    "DELETE FROM contacts WHERE owner = ?1 AND contact = ?2 AND visibility = 2",
                    [owner, target],
                )?;
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
        let mut st = c.prepare_cached(
            "SELECT target FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target <> 0 ORDER BY target",
        )?;
        let rows = st.query_map([owner], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Has `owner` blocked `other`? Blocked = on the block list, or a visibility-2 contact row, or
    /// `b+|*` without `other` on the allow list (SPEC §18.3, §18.4).
    pub fn is_blocked(&self, owner: u32, other: u32) -> Result<bool, Error> {
        let c = self.lock();
        let mut cache = self.block_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(blocked) = cache.get(&c, owner, other)? {
            return Ok(blocked);
        }
        let mut st = c.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = ?2)
                 OR EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND contact = ?2 AND visibility = 2)
                 OR (EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'b' AND target = 0)
                     AND NOT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'a' AND target = ?2))",
        )?;
        let blocked = st.query_row([owner, other], |r| r.get(0))?;
        cache.put(owner, other, blocked);
        Ok(blocked)
    }

    /// Is `other` on the owner's allow list (`a+|other`, SPEC §18.4)? `a+|*` does not count: it
    /// only undoes `b+|*`.
    pub fn is_allowed(&self, owner: u32, other: u32) -> Result<bool, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM privacy_lists WHERE owner = ?1 AND kind = 'a' AND target = ?2)",
        )?;
        Ok(st.query_row([owner, other], |r| r.get(0))?)
    }

    /// The owner's groups, in position order.
    pub fn groups(&self, owner: u32) -> Result<Vec<Group>, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT group_id, name, position, flag FROM groups WHERE owner = ?1 ORDER BY position, group_id",
        )?;
        let rows = st
            .query_map([owner], |r| {
                Ok(Group { id: r.get(0)?, name: rules::clean_text(r.get(1)?), position: r.get(2)?, flag: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Creates or updates a group by name (2/16).
    pub fn write_group(&self, owner: u32, name: &str, position: u32, flag: u32) -> Result<(), Error> {
        let c = self.lock();
        check_new_group(&c, owner, name)?;
        c.execute(
            "INSERT INTO groups (owner, name, position, flag) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (owner, name) DO UPDATE SET position = excluded.position, flag = excluded.flag",
            params![owner, name, position, flag],
        )?;
        Ok(())
    }

    /// One of the owner's groups, by id.
    pub fn group(&self, owner: u32, id: u64) -> Result<Option<Group>, Error> {
        let c = self.lock();
        Ok(c.query_row(
            "SELECT group_id, name, position, flag FROM groups WHERE owner = ?1 AND group_id = ?2",
            params![owner, id],
            |r| Ok(Group { id: r.get(0)?, name: rules::clean_text(r.get(1)?), position: r.get(2)?, flag: r.get(3)? }),
        )
        .optional()?)
    }

    /// Changes the owner's group `id` (2/16 with `GroupID`, SPEC §25): a new name (the contacts in
    /// it follow: they name their group), position and flag; `None` keeps a value. A name another
    /// of the owner's groups has is refused ([`Error::GroupNameTaken`]).
    pub fn update_group(
        &self,
        owner: u32,
        id: u64,
        name: Option<&str>,
        position: Option<u32>,
        flag: Option<u32>,
    ) -> Result<(), Error> {
        let old = self.group(owner, id)?.ok_or(Error::NoSuchGroup(id))?;
        let mut c = self.lock();
        let tx = c.transaction()?;
        if let Some(name) = name.filter(|n| *n != old.name) {
            // A rename adds no group: only the name's own rules apply, not the group count.
            rules::check_text(name, rules::MAX_NAME_TEXT).map_err(|why| Error::BadText { field: "GroupName", why })?;
            let taken = tx
                .prepare_cached("SELECT 1 FROM groups WHERE owner = ?1 AND name = ?2")?
                .exists(params![owner, name])?;
            if name.is_empty() || taken {
                return Err(Error::GroupNameTaken);
            }
            tx.execute("UPDATE groups SET name = ?2 WHERE group_id = ?1", params![id, name])?;
            tx.execute(
                "UPDATE contacts SET group_name = ?3 WHERE owner = ?1 AND group_name = ?2",
                params![owner, old.name, name],
            )?;
        }
        if let Some(p) = position {
            tx.execute("UPDATE groups SET position = ?2 WHERE group_id = ?1", params![id, p])?;
        }
        if let Some(f) = flag {
            tx.execute("UPDATE groups SET flag = ?2 WHERE group_id = ?1", params![id, f])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes the owner's group `id` (2/16 cmd 3, SPEC §25). Its contacts are kept and move to
    /// [`DEFAULT_GROUP`] (created again if needed); that group itself can be deleted only when no
    /// contact is in it ([`Error::DefaultGroupNotEmpty`]), since they would have nowhere to go.
    /// Returns how many contacts moved.
    pub fn delete_group(&self, owner: u32, id: u64) -> Result<usize, Error> {
        let group = self.group(owner, id)?.ok_or(Error::NoSuchGroup(id))?;
        let mut c = self.lock();
        let tx = c.transaction()?;
        let members: usize = tx.query_row(
            "SELECT COUNT(*) FROM contacts WHERE owner = ?1 AND group_name = ?2",
            params![owner, group.name],
            |r| r.get(0),
        )?;
        if members > 0 && group.name == DEFAULT_GROUP {
            return Err(Error::DefaultGroupNotEmpty);
        }
        tx.execute("DELETE FROM groups WHERE group_id = ?1", [id])?;
        if members > 0 {
            tx.execute(
                "UPDATE contacts SET group_name = ?3 WHERE owner = ?1 AND group_name = ?2",
                params![owner, group.name, DEFAULT_GROUP],
            )?;
            ensure_group(&tx, owner, DEFAULT_GROUP)?;
        }
        tx.commit()?;
        Ok(members)
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
/// Creates group `name` unless it exists, within the group limits (rules.rs).
fn ensure_group(tx: &rusqlite::Transaction<'_>, owner: u32, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Ok(());
    }
    check_new_group(tx, owner, name)?;
    tx.execute(
        "INSERT OR IGNORE INTO groups (owner, name, position, flag)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM groups WHERE owner = ?1), ?3)",
        params![owner, name, PLAIN_GROUP_FLAG],
    )?;
    Ok(())
}

/// Refuses a name over [`rules::MAX_NAME_TEXT`] or one [`rules::check_text`] refuses, and a group
/// that does not exist yet when the owner already has [`rules::MAX_GROUPS`].
fn check_new_group(c: &Connection, owner: u32, name: &str) -> Result<(), Error> {
    rules::check_text(name, rules::MAX_NAME_TEXT).map_err(|why| Error::BadText { field: "GroupName", why })?;
    let exists =
        c.prepare_cached("SELECT 1 FROM groups WHERE owner = ?1 AND name = ?2")?.exists(params![owner, name])?;
    let count: usize = c.query_row("SELECT COUNT(*) FROM groups WHERE owner = ?1", [owner], |r| r.get(0))?;
    if !exists && count >= rules::MAX_GROUPS {
        return Err(Error::TooManyGroups);
    }
    Ok(())
}
