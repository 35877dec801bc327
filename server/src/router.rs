//! Buddy-message routing and presence (SPEC §11, §12, §24).
//!
//! Routing: bm 1/121/122/200 go to the target's live session with `f` = sender (and `cv` when the
//! sender gave one); bm 1 to an offline target is stored and delivered with `date` at its next
//! login. A target that blocked the sender never hears from it, and the sender is not told (as a
//! real server behaves: blocking must not be observable).
//!
//! Presence: a user's bm 100 goes to every online user who lists it as a contact and may see it
//! ([`can_see`]): on login, on `\status\`, on logout/disconnect; a newcomer gets the presence of its
//! online contacts. Invisible (code 0) is sent exactly like offline.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::{BmFromServer, BmToServer, ServerMessage};
use msim::protocol::status::StatusList;

use crate::conn::{offline_status, Conn, PendingIm};
use crate::db::Account;
use crate::rules::OfflineRefusal;
use crate::state::Shared;
use crate::{log_if, now_unix, Error};

/// bm types relayed between users (SPEC §11.2). Status (100) is server-generated; 4 is the
/// server's add notice. 124 (profile) and 126 (mood) are not relayed: SPEC §11.2 knows them only
/// as server-to-client messages with unknown payloads (§22), so a client-sent one is not something
/// a real server was seen to pass on, and relaying unknown payloads would only open a channel
/// around the IM rules. msim's client reports them when a server sends them.
const RELAYED: [u32; 4] = [bm::IM, bm::INSTANT, bm::MEDIA, bm::UNOFFICIAL_CLIENT];

fn text_bm(kind: u32, from: u32, msg: &str, date: Option<u64>, cv: Option<u32>) -> ServerMessage {
    ServerMessage::Bm(BmFromServer { kind, from, payload: BmPayload::Text(msg.to_owned()), date, cv, aid: None })
}

/// The bm 100 of `from` with `status`.
pub fn status_bm(from: u32, status: &StatusList) -> ServerMessage {
    ServerMessage::Bm(BmFromServer {
        kind: bm::STATUS,
        from,
        payload: BmPayload::Status(status.clone()),
        date: None,
        cv: None,
        aid: None,
    })
}

/// May `viewer` see `subject`'s presence? Neither has blocked the other, and when `subject` set
/// ShowOnlyToList (`w1`, SPEC §9.4) `viewer` must be on `subject`'s contact list or allow list
/// (`a+|viewer`, SPEC §18.4). Both are *inference*: from the flag's name, and from the allow list
/// being the "approve" list that add-buddy fills (SPEC §18.1) — a user can be permitted to see
/// your presence without being your contact.
pub fn can_see(shared: &Shared, subject: u32, viewer: u32) -> Result<bool, Error> {
    let db = &shared.db;
    if db.is_blocked(viewer, subject)? || db.is_blocked(subject, viewer)? {
        return Ok(false);
    }
    let only_list = db.account(subject)?.is_some_and(|a| a.show_only_to_list);
    if only_list {
        return Ok(db.contact(subject, viewer)?.is_some_and(|c| c.visibility != 2) || db.is_allowed(subject, viewer)?);
    }
    Ok(true)
}

/// `subject`'s account as a reply to `viewer` may show it, with the `ClientVersion` to report.
///
/// Persist replies about another user (0/1, 0/2, 1/17, and any later one) follow the rule of
/// bm 100 ([`can_see`]), or they would leak what presence hides (issue "Hostile peers, round
/// two" item 4): a viewer who may not see the subject gets no status text (`Headline`), no
/// `LastLogin`, no privacy flags and `ClientVersion` 0, the same whether the subject is online or
/// not. A viewer who may see it gets `ClientVersion` only while the subject is online and *not
/// invisible*, and while it is invisible, the `LastLogin` from before this session: an invisible
/// user looks exactly as when offline. Profile fields (names, band, song, picture) stay: they are
/// the public profile, and a blocked user still needs a name to show.
pub fn seen_by(shared: &Shared, mut subject: Account, viewer: u32) -> Result<(Account, u32), Error> {
    if subject.uid != viewer && !can_see(shared, subject.uid, viewer)? {
        subject.headline.clear();
        subject.last_login = 0;
        subject.show_only_to_list = false;
        subject.privacy_mode = 0;
        return Ok((subject, 0));
    }
    let session = shared.online(subject.uid).and_then(|c| c.login().map(|l| (l, c.own_status().code)));
    let client_version = match session {
        Some((l, 0)) => {
            subject.last_login = l.previous_login;
            0
        }
        Some((l, _)) => l.clientver,
        None => 0,
    };
    Ok((subject, client_version))
}

/// Routes a client's bm.
pub fn route_bm(shared: &Shared, sender: u32, m: &BmToServer) {
    if let Err(e) = try_route_bm(shared, sender, m) {
        log_if(shared, format_args!("uid {sender}: bm {} to {} not routed: {e}", m.kind, m.target));
    }
}

fn try_route_bm(shared: &Shared, sender: u32, m: &BmToServer) -> Result<(), Error> {
    if !RELAYED.contains(&m.kind) {
        log_if(shared, format_args!("uid {sender}: bm type {} is not relayed", m.kind));
        return Ok(());
    }
    // An online target exists; only an offline one needs the lookup.
    let online = shared.online(m.target);
    if online.is_none() && !shared.db.account_exists(m.target)? {
        log_if(shared, format_args!("uid {sender}: bm {} to unknown uid {}", m.kind, m.target));
        return Ok(());
    }
    if shared.db.is_blocked(m.target, sender)? {
        return Ok(()); // dropped silently, see module docs
    }
    if let Some(target) = online {
        let msg = text_bm(m.kind, sender, &m.msg, None, m.cv);
        let sent = if m.kind == bm::IM {
            // Kept with the queued bytes: stored for later if the connection ends before writing it.
            let im = PendingIm { sender, kind: m.kind, msg: m.msg.clone(), cv: m.cv, sent_at: now_unix() };
            target.send_im(&msg, im)
        } else {
            target.send(&msg)
        };
        if sent {
            return Ok(());
        }
    }
    // Only IMs wait for an offline target; typing, zaps and media are momentary (SPEC §11.2).
    if m.kind != bm::IM {
        return Ok(());
    }
    let now = now_unix();
    // Never store what could not be delivered later (it would block the recipient's box).
    if text_bm(m.kind, sender, &m.msg, Some(now), m.cv).encode().is_err() {
        log_if(shared, format_args!("uid {sender}: IM to {} cannot be encoded, not stored", m.target));
        return Ok(());
    }
    let stored = shared.db.store_offline(m.target, sender, m.kind, &m.msg, m.cv, now, &shared.config.offline_limits)?;
    if let Err(why) = stored {
        tell_not_stored(shared, sender, m.target, why);
    }
    Ok(())
}

/// Tells `sender` (if online) that its IM to `target` was not stored: `\error\` 1, not fatal (SPEC
/// §16.2 has no code for it; Pidgin shows the text). Logged once per refused IM, without the text.
fn tell_not_stored(shared: &Shared, sender: u32, target: u32, why: OfflineRefusal) {
    log_if(shared, format_args!("uid {target}: offline IM from {sender} not stored: {why}"));
    if let Some(conn) = shared.online(sender) {
        let text = format!("Your message to {target} was not stored for later delivery: {why}.");
        conn.send(&ServerMessage::Error { code: 1, fatal: false, text });
    }
}

/// Stores the IMs a connection of `uid` closed before writing them (a peer that stopped reading,
/// a connection that died with IMs queued), for its next login; their senders are told about any
/// that do not fit.
pub fn store_unsent(shared: &Shared, uid: u32, ims: Vec<PendingIm>) {
    for im in ims {
        let limits = &shared.config.offline_limits;
        match shared.db.store_offline(uid, im.sender, im.kind, &im.msg, im.cv, im.sent_at, limits) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => tell_not_stored(shared, im.sender, uid, why),
            Err(e) => log_if(shared, format_args!("uid {uid}: cannot store an unsent IM: {e}")),
        }
    }
}

/// Delivers the stored IMs of `uid` to its new session, with their original time as `date`.
///
/// A stored IM is deleted only once the recipient's TCP acknowledged every byte of it: written
/// into our socket is not enough, because a connection that resets (or vanishes) then loses
/// whatever was still in the socket buffers, and the user would never see it (issue "Real
/// peers" item 1). What was not acknowledged within `write_timeout` stays stored and comes
/// again at the next login (at least once, never lost).
///
/// Called on the session's event loop, which must never wait: the IMs that fit in half the
/// outbox are queued here at once (so they come before anything sent after the login), and the
/// waiting — for the peer to read the rest, then for its acknowledgement — goes to a thread of
/// its own that ends when the box is done (only logins with stored mail start one). Meanwhile
/// the session handles no further requests ([`Conn::settling`]), as before.
pub fn deliver_offline(shared: &Arc<Shared>, conn: &Arc<Conn>, uid: u32) {
    let pending = match shared.db.offline_for(uid) {
        Ok(p) => p,
        Err(e) => return log_if(shared, format_args!("uid {uid}: cannot read offline messages: {e}")),
    };
    if pending.is_empty() {
        return;
    }
    // (id, stream offset at which the recipient has everything up to and including this IM)
    let mut sent: Vec<(i64, u64)> = Vec::with_capacity(pending.len());
    let Some(next) = send_offline(shared, conn, uid, &pending, &mut sent, false) else { return };
    let (s, c) = (shared.clone(), conn.clone());
    // The session answers its next requests once the box is settled (stored IMs deleted or kept).
    conn.settling();
    let spawned = std::thread::Builder::new().name("msim-offline".into()).stack_size(256 * 1024).spawn(move || {
        if next < pending.len() {
            send_offline(&s, &c, uid, &pending[next..], &mut sent, true);
        }
        confirm_offline(&s, &c, uid, &sent);
        c.settled();
    });
    if let Err(e) = spawned {
        conn.settled();
        log_if(shared, format_args!("uid {uid}: no thread to confirm offline messages ({e}), kept for the next login"));
    }
}

/// Queues stored IMs from `pending` onto `conn`, recording each in `sent`. Never more than half
/// the outbox at a time (a large box must not look like a peer that stopped reading): at that
/// point it returns the index to go on from, or, with `may_wait`, waits for the peer to read.
/// None when nothing more is to be done (the connection ended, or nothing was sent).
fn send_offline(
    shared: &Shared,
    conn: &Conn,
    uid: u32,
    pending: &[crate::db::Offline],
    sent: &mut Vec<(i64, u64)>,
    may_wait: bool,
) -> Option<usize> {
    for (i, m) in pending.iter().enumerate() {
        // The recipient may have blocked the sender since the message was stored: such a message
        // is dropped, which needs no acknowledgement beyond that of the IMs before it.
        let end = if shared.db.is_blocked(uid, m.sender).unwrap_or(false) {
            sent.last().map_or(0, |&(_, end)| end)
        } else {
            if conn.queued() > shared.config.max_outbound_bytes / 2 {
                if !may_wait {
                    return Some(i);
                }
                if !conn.flush_own(shared.config.write_timeout) {
                    break;
                }
            }
            match conn.send_tracked(&text_bm(m.kind, m.sender, &m.msg, Some(m.sent_at), m.cv)) {
                Some(end) => {
                    conn.had_offline.store(true, Ordering::Relaxed);
                    end
                }
                None => break, // keep the rest for the next login
            }
        };
        sent.push((m.id, end));
    }
    (!sent.is_empty()).then_some(pending.len())
}

/// Waits (on the delivery thread) until the peer acknowledged what was sent, then deletes it.
fn confirm_offline(shared: &Shared, conn: &Conn, uid: u32, sent: &[(i64, u64)]) {
    let Some(&(_, last_end)) = sent.last() else { return };
    conn.flush_own(shared.config.write_timeout);
    let acked = conn.wait_acked(last_end, shared.config.write_timeout);
    let Some(&(last, _)) = sent.iter().take_while(|&&(_, end)| end <= acked).last() else {
        return log_if(shared, format_args!("uid {uid}: offline messages not acknowledged, kept for the next login"));
    };
    if last != sent[sent.len() - 1].0 {
        log_if(shared, format_args!("uid {uid}: some offline messages not acknowledged, kept for the next login"));
    }
    if let Err(e) = shared.db.delete_offline_through(uid, last) {
        log_if(shared, format_args!("uid {uid}: cannot delete delivered offline messages: {e}"));
    }
}

/// Sends the newcomer the presence of each of its contacts that is online and visible to it.
pub fn send_contacts_presence(shared: &Shared, conn: &Conn, uid: u32) {
    let contacts = match shared.db.contacts(uid) {
        Ok(c) => c,
        Err(e) => return log_if(shared, format_args!("uid {uid}: cannot read contacts: {e}")),
    };
    for c in contacts.iter().filter(|c| c.visibility != 2) {
        if let Some(other) = shared.online(c.contact) {
            let status = other.visible_status();
            if status.code != 0 && can_see(shared, c.contact, uid).unwrap_or(false) {
                conn.send(&status_bm(c.contact, &status));
            }
        }
    }
}

/// The presence of `subject` as `viewer` sees it now: its visible status when online and allowed,
/// offline otherwise. Used after `\addbuddy\` (SPEC §11.2: the capture's bm 4 + bm 100 pair).
pub fn presence_for(shared: &Shared, subject: u32, viewer: u32) -> StatusList {
    match shared.online(subject) {
        Some(c) if can_see(shared, subject, viewer).unwrap_or(false) => c.visible_status(),
        _ => offline_status(),
    }
}

/// Sends `uid`'s bm 100 with `status` to every online watcher allowed to see it: one query for
/// the watchers and their privacy ([`crate::db::Db::watchers_who_may_see`]), the message encoded
/// once, and one lock of the session table.
pub fn announce(shared: &Shared, uid: u32, status: &StatusList) {
    let watchers = match shared.db.watchers_who_may_see(uid) {
        Ok(w) => w,
        Err(e) => return log_if(shared, format_args!("uid {uid}: cannot read watchers: {e}")),
    };
    let bytes = match status_bm(uid, status).encode() {
        Ok(m) => m.encode(),
        Err(e) => return log_if(shared, format_args!("uid {uid}: cannot encode a status: {e}")),
    };
    for conn in shared.online_among(&watchers) {
        conn.send_encoded(&bytes);
    }
}

/// The session of `uid` ended (logout, disconnect, idle): watchers see it go offline.
pub fn on_logout(shared: &Arc<Shared>, uid: u32) {
    announce(shared, uid, &offline_status());
}

/// Re-sends `subject`'s presence to `viewer` after a privacy change between them, if `viewer` is
/// online and lists `subject`: blocking makes the subject look offline at once, unblocking shows
/// the real presence again.
pub fn refresh_for(shared: &Shared, subject: u32, viewer: u32) {
    if viewer == subject {
        return;
    }
    let Some(conn) = shared.online(viewer) else { return };
    if shared.db.contact(viewer, subject).ok().flatten().is_some_and(|c| c.visibility != 2) {
        conn.send(&status_bm(subject, &presence_for(shared, subject, viewer)));
    }
}

/// Re-sends `subject`'s presence to all of its online watchers (after `*` or ShowOnlyToList changes).
pub fn refresh_all(shared: &Shared, subject: u32) {
    for w in shared.db.watchers(subject).unwrap_or_default() {
        refresh_for(shared, subject, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{ContactWrite, Db, ListKind, ALL};
    use crate::Config;

    /// `watchers_who_may_see` (the fan-out's one query) agrees with `can_see` (every other
    /// presence decision) over many pseudo-random privacy setups: contacts normal or blocked
    /// (visibility 2), allow and block lists with and without `*`, ShowOnlyToList.
    #[test]
    fn the_fan_out_query_lets_exactly_the_watchers_can_see_allows() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..60 {
            let shared = Shared::new(Config { log: false, ..Config::default() }, Db::open(":memory:").unwrap());
            let db = &shared.db;
            let uids: Vec<u32> = (0..6)
                .map(|i| db.create_account(None, &format!("u{i}@x.org"), &[1; 20], None, None).unwrap())
                .collect();
            for &o in &uids {
                for &t in &uids {
                    if o != t && next(2) == 0 {
                        db.add_contact(o, t, None).unwrap();
                        if next(4) == 0 {
                            let w = ContactWrite { visibility: Some(2), ..ContactWrite::default() };
                            db.write_contact(o, t, &w).unwrap();
                        }
                    }
                    match next(8) {
                        0 => db.list_add(o, ListKind::Block, t).unwrap(),
                        1 => db.list_add(o, ListKind::Allow, t).unwrap(),
                        _ => {}
                    }
                }
                if next(4) == 0 {
                    db.list_add(o, ListKind::Block, ALL).unwrap();
                }
                db.set_privacy(o, Some(next(3) == 0), None).unwrap();
            }
            for &subject in &uids {
                let mut fast = db.watchers_who_may_see(subject).unwrap();
                let mut slow: Vec<u32> = db
                    .watchers(subject)
                    .unwrap()
                    .into_iter()
                    .filter(|&w| w != subject && can_see(&shared, subject, w).unwrap())
                    .collect();
                fast.sort_unstable();
                slow.sort_unstable();
                assert_eq!(fast, slow, "subject {subject}");
            }
        }
    }
}
