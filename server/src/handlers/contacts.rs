//! Contact-list changes by message kind: `\addbuddy\`, `\delbuddy\`, `\blocklist\` (SPEC §18).
//! The persist-side writes (0/8, 0/9) are in `persist.rs`; both edit the same rows in `db`.
//!
//! Model: a contact row with visibility 1 is a buddy; visibility 2 is a block marker (what
//! Pidgin's block write creates, and what the 0/1 reply reports so clients rebuild their deny
//! lists, SPEC §10.1). The block list holds `b+` entries; "blocked" is either of the two.

use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::{BlockOp, BmFromServer, ServerMessage, Target};

use crate::conn::Conn;
use crate::db::{ListKind, ALL};
use crate::state::Shared;
use crate::{log_if, router, Error};

/// SPEC §25: the answer to `\addbuddy\` for someone already on the list.
pub const ERR_ALREADY_A_BUDDY: u32 = 1539;
/// SPEC §25: the answer to `\delbuddy\` for someone not on the list.
pub const ERR_NOT_A_BUDDY: u32 = 2817;
/// The `clientver` Pidgin's plugin sends (SPEC §6.4).
const PIDGIN_CLIENTVER: u32 = 697;

/// `\error\` `code`, not fatal: the request changed nothing and the session goes on.
fn tell(conn: &Conn, code: u32, text: String) {
    conn.send(&ServerMessage::Error { code, fatal: false, text });
}

/// `\addbuddy\`: add the contact, then tell the adder as the capture shows (SPEC §11.2, [S] #33,
/// #36, #53, #54): bm 4 from the new contact with an empty msg, then its current presence. Someone
/// already on the list (not as a block marker) gets error 1539 instead (SPEC §25).
pub fn add_buddy(shared: &Shared, conn: &Conn, uid: u32, other: u32) {
    if let Err(e) = try_add_buddy(shared, conn, uid, other) {
        log_if(shared, format_args!("uid {uid}: addbuddy {other}: {e}"));
    }
}

fn try_add_buddy(shared: &Shared, conn: &Conn, uid: u32, other: u32) -> Result<(), Error> {
    if other == uid || shared.db.account(other)?.is_none() {
        log_if(shared, format_args!("uid {uid}: addbuddy for unknown or own uid {other} ignored"));
        return Ok(());
    }
    if shared.db.contact(uid, other)?.is_some_and(|c| c.visibility != 2) {
        tell(conn, ERR_ALREADY_A_BUDDY, format!("{other} is already on your contact list."));
        return Ok(());
    }
    if !shared.db.add_contact(uid, other, None)? {
        log_if(shared, format_args!("uid {uid}: contact list full, addbuddy {other} refused"));
        return Ok(());
    }
    let notice = BmFromServer {
        kind: bm::ADD_NOTICE,
        from: other,
        payload: BmPayload::Text(String::new()),
        date: None,
        cv: None,
        aid: None,
    };
    conn.send(&ServerMessage::Bm(notice));
    conn.send(&router::status_bm(other, &router::presence_for(shared, other, uid)));
    Ok(())
}

/// `\delbuddy\`: remove the contact row (SPEC §18.2). When there was no contact (none, or only a
/// block marker, which is removed as before), error 2817 (SPEC §25) — except to clients that
/// log in as Pidgin's build (`clientver` 697, SPEC §6.4; msim's client too by default): Pidgin
/// sends `\delbuddy\` before every block (SPEC §18.3) and shows every non-fatal error in a
/// dialog, so its users would get "Protocol error, code 2817" each time they block someone who
/// is not a buddy. Real peers decide: that client is the one still in use.
pub fn del_buddy(shared: &Shared, conn: &Conn, uid: u32, other: u32) {
    let was_buddy = match shared.db.contact(uid, other) {
        Ok(c) => c.is_some_and(|c| c.visibility != 2),
        Err(e) => return log_if(shared, format_args!("uid {uid}: delbuddy {other}: {e}")),
    };
    if let Err(e) = shared.db.delete_contact(uid, other) {
        return log_if(shared, format_args!("uid {uid}: delbuddy {other}: {e}"));
    }
    let pidgin = conn.login().is_some_and(|l| l.clientver == PIDGIN_CLIENTVER);
    if !was_buddy && !pidgin {
        tell(conn, ERR_NOT_A_BUDDY, format!("{other} is not on your contact list."));
    }
}

/// `\blocklist\` (SPEC §18.4): allow/block edits, `*` for everyone, and the `w`/`c` flags. Pidgin's
/// login-time `w0|c0` alone is fine. Affected users see the presence change at once.
pub fn block_list(shared: &Shared, _conn: &Conn, uid: u32, ops: &[BlockOp]) {
    if let Err(e) = try_block_list(shared, uid, ops) {
        log_if(shared, format_args!("uid {uid}: blocklist: {e}"));
    }
}

/// One `a+`/`b+` entry. Entries for uids that are no account are not stored (they could only fill
/// the list), and a full list refuses just this entry: the other tokens still apply.
fn list_add(shared: &Shared, uid: u32, kind: ListKind, target: u32) -> Result<(), Error> {
    if !shared.db.account_exists(target)? {
        log_if(shared, format_args!("uid {uid}: blocklist entry for unknown uid {target} ignored"));
        return Ok(());
    }
    match shared.db.list_add(uid, kind, target) {
        Err(Error::ListFull) => {
            log_if(shared, format_args!("uid {uid}: blocklist entry {target} refused: {}", Error::ListFull));
            Ok(())
        }
        r => r,
    }
}

fn try_block_list(shared: &Shared, uid: u32, ops: &[BlockOp]) -> Result<(), Error> {
    let db = &shared.db;
    let before = db.account(uid)?.ok_or(Error::NoSuchAccount)?;
    let mut touched: Vec<u32> = Vec::new();
    let mut everyone = false;
    let mut show_only = None;
    let mut privacy = None;
    for op in ops {
        match *op {
            BlockOp::Allow(Target::Uid(x)) => list_add(shared, uid, ListKind::Allow, x)?,
            BlockOp::Allow(Target::All) => db.clear_block_all(uid)?,
            BlockOp::Unallow(Target::Uid(x)) => db.list_remove(uid, ListKind::Allow, x)?,
            BlockOp::Unallow(Target::All) => db.list_remove(uid, ListKind::Allow, ALL)?,
            BlockOp::Block(Target::Uid(x)) => list_add(shared, uid, ListKind::Block, x)?,
            BlockOp::Block(Target::All) => db.list_add(uid, ListKind::Block, ALL)?,
            BlockOp::Unblock(Target::Uid(x)) => db.list_remove(uid, ListKind::Block, x)?,
            BlockOp::Unblock(Target::All) => db.list_remove(uid, ListKind::Block, ALL)?,
            BlockOp::ShowOnlyToList(on) => show_only = Some(on),
            BlockOp::PrivacyMode(on) => privacy = Some(on),
        }
        match *op {
            BlockOp::Allow(Target::Uid(x))
            | BlockOp::Unallow(Target::Uid(x))
            | BlockOp::Block(Target::Uid(x))
            | BlockOp::Unblock(Target::Uid(x)) => touched.push(x),
            BlockOp::ShowOnlyToList(_) | BlockOp::PrivacyMode(_) => {}
            _ => everyone = true,
        }
    }
    db.set_privacy(uid, show_only, privacy)?;
    // Only a real change is re-announced: Pidgin sends `w0|c0` at every login (SPEC §9.4).
    if show_only.is_some_and(|w| w != before.show_only_to_list) {
        everyone = true;
    }
    if everyone {
        router::refresh_all(shared, uid);
    } else {
        touched.sort_unstable();
        touched.dedup();
        for x in touched {
            router::refresh_for(shared, uid, x);
        }
    }
    Ok(())
}
