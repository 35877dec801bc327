//! The login exchange (SPEC §6): verify `login2` against the stored password hash, reply `lc=2` or
//! a fatal error, replace an older session of the same account, then bring the new session up to
//! date (offline messages, contacts' presence) and announce it to its watchers.
//!
//! Never logs the response or anything derived from the password.

use std::sync::Arc;
use std::time::Instant;

use msim::protocol::kinds::{Login2, ServerMessage};
use msim::protocol::login::verify_response_any_layout;
use msim::protocol::password::MAX_VARIANTS;

use crate::attempts::{BAD_PASSWORD, UNKNOWN_EMAIL};
use crate::conn::{Conn, LoginInfo};
use crate::handlers::persist::server_info;
use crate::rules::MAX_ECHOED_INT;
use crate::session::Flow;
use crate::state::Shared;
use crate::{log_if, now_unix, router};

/// SPEC §16.2 codes.
pub const ERR_LOGGED_IN_ELSEWHERE: u32 = 6;
/// Bad password *and* unknown e-mail (SPEC §24, §25): one answer for both, so the reply does not
/// reveal which e-mails have accounts, and Pidgin treats it as an authentication failure (any
/// other code, 259 included, is a network error to it and it reconnects forever). 259 is never sent.
pub const ERR_BAD_CREDENTIALS: u32 = 260;
/// The text of [`ERR_BAD_CREDENTIALS`], the same for both causes.
pub const BAD_CREDENTIALS_TEXT: &str = "The e-mail address or password is incorrect.";

/// A login refused by the attempt limits (`attempts.rs`), without checking it: fatal, with the
/// wait in the text. msim-server's own code (no source documents one for this; SPEC §25 only says
/// the official server blocked addresses after about 70 attempts): any code but 260 and 6 shows the
/// text in Pidgin, and 260 would wrongly say the password is wrong.
pub const ERR_TRY_LATER: u32 = 271;

/// SPEC §25: client version too old. Sent, fatal, to a `login2` whose `clientver` is below
/// `Config::min_client_version`, and, not fatal, to a legacy `\login\`.
pub const ERR_CLIENT_TOO_OLD: u32 = 267;

/// A legacy `\login\` (SPEC §25 "Other commands"): this server knows only `login2` (SPEC §6), so
/// the client is told it is too old; not fatal, so the connection stays and a `login2` may follow.
pub fn legacy_login(shared: &Shared, conn: &Conn) -> Flow {
    log_if(shared, format_args!("conn {} from {}: legacy login answered with error 267", conn.id, conn.peer));
    let text = "This server needs the login2 exchange; please use a newer client.".to_owned();
    conn.send(&ServerMessage::Error { code: ERR_CLIENT_TOO_OLD, fatal: false, text });
    Flow::Continue
}

/// A random session key in 1..=2^31−1: never 0 (no key), never a value Pidgin would echo as a
/// negative decimal (SPEC §6.5, §24).
pub fn new_sesskey(rng: &mut impl rand::Rng) -> u32 {
    rng.gen_range(1..=MAX_ECHOED_INT)
}

/// SPEC §24, §25: decrypts the response with the key from each stored hash (one per client's
/// password cut, `db/passwords.rs`) and accepts it when one of them yields nonce1 and the e-mail
/// the client typed (case-insensitive), whatever layout follows (Pidgin's, Digsby's, Miranda's).
/// Always at least [`MAX_VARIANTS`] checks, so the answer's timing says nothing about the account;
/// the padding checks' outcome is thrown away (anyone can compute a response under a fixed key).
fn verify_any(nonce: &[u8; 64], email: &str, hashes: &[[u8; 20]], response: &[u8]) -> bool {
    let mut ok = false;
    for i in 0..MAX_VARIANTS.max(hashes.len()) {
        match hashes.get(i) {
            Some(hash) => ok |= verify_response_any_layout(nonce, email, hash, response).is_ok(),
            None => drop(std::hint::black_box(verify_response_any_layout(nonce, email, &[0; 20], response))),
        }
    }
    ok
}

pub fn handle_login2(shared: &Arc<Shared>, conn: &Arc<Conn>, nonce: &[u8; 64], l: &Login2) -> Flow {
    let fail = |code: u32, text: &str, flow: Flow| {
        conn.send(&ServerMessage::Error { code, fatal: true, text: text.into() });
        flow
    };
    let min = shared.config.min_client_version;
    if l.clientver < min {
        // Before any password check: the answer says nothing about the account, and it is no
        // failed login. Pidgin treats every fatal code but 260 and 6 as a network error and
        // reconnects (SPEC §16.2), so each of its attempts comes back here (logged each time).
        log_if(
            shared,
            format_args!("conn {} from {}: client build {} refused (below {min})", conn.id, conn.peer, l.clientver),
        );
        let text = format!("Your client (build {}) is too old; this server needs build {min} or newer.", l.clientver);
        return fail(ERR_CLIENT_TOO_OLD, &text, Flow::Close);
    }
    let (addr, now) = (conn.peer.ip(), Instant::now());
    if let Err(r) = shared.attempts.check(addr, &l.username, now) {
        let whose = if r.by == "address" { "from your address" } else { "for this account from your address" };
        let secs = r.wait.as_secs() + u64::from(r.wait.subsec_nanos() > 0);
        let unit = if secs == 1 { "second" } else { "seconds" };
        let text = format!("Too many failed logins {whose}. Please try again in {secs} {unit}.");
        if shared.config.login_limits.summary_interval.is_zero() {
            log_if(shared, format_args!("conn {} from {}: login refused: {text}", conn.id, conn.peer));
        }
        return fail(ERR_TRY_LATER, &text, Flow::LoginFailed);
    }
    // A failed login is logged on its own line only the first time per address and kind in a
    // summary period; the rest are in the summary (`attempts.rs`).
    let failed = |kind: &'static str, who: &dyn std::fmt::Display| {
        if shared.attempts.failed(addr, &l.username, kind, now) {
            log_if(shared, format_args!("conn {} from {}: {kind}{who} (more are summarised)", conn.id, conn.peer));
        }
        fail(ERR_BAD_CREDENTIALS, BAD_CREDENTIALS_TEXT, Flow::LoginFailed)
    };
    let account = match shared.db.account_by_email(&l.username) {
        Ok(Some(a)) => a,
        Ok(None) => {
            // The same work as for a known account, so the answer's timing does not tell either.
            let _ = verify_any(nonce, &l.username, &[], &l.response);
            return failed(UNKNOWN_EMAIL, &"");
        }
        Err(e) => {
            log_if(shared, format_args!("conn {}: database error during login: {e}", conn.id));
            return fail(1, "The server could not process the login. Please try again later.", Flow::Close);
        }
    };
    let hashes = match shared.db.password_hashes(account.uid) {
        Ok(h) => h,
        Err(e) => {
            log_if(shared, format_args!("conn {}: database error during login: {e}", conn.id));
            return fail(1, "The server could not process the login. Please try again later.", Flow::Close);
        }
    };
    if !verify_any(nonce, &l.username, &hashes, &l.response) {
        return failed(BAD_PASSWORD, &format_args!(" for uid {}", account.uid));
    }
    shared.attempts.succeeded(addr, &l.username);

    let uid = account.uid;
    let sesskey = new_sesskey(&mut rand::thread_rng());
    conn.set_login(LoginInfo { uid, sesskey, clientver: l.clientver, previous_login: account.last_login });
    conn.set_own_status(1, &account.headline);
    if let Err(e) = shared.db.touch_login(uid, now_unix()) {
        log_if(shared, format_args!("conn {}: cannot record login time: {e}", conn.id));
    }
    let nick = account.unique_nick();
    // SPEC §6.5: proof = uniquenick as in the capture; profileid = userid. The session is
    // registered (so it counts as online and receives routed messages) while lc=2 is being sent,
    // and before the offline store is read: a message sent meanwhile is either routed live after
    // lc=2 or stored and found below; none falls between the two.
    let login_ok =
        ServerMessage::LoginOk { sesskey, proof: nick.clone(), userid: uid, profileid: uid, uniquenick: nick };
    let mut replaced = None;
    conn.send_after(&login_ok, || replaced = shared.register(uid, conn.clone()));
    if let Some(old) = replaced.filter(|old| old.id != conn.id) {
        log_if(shared, format_args!("uid {uid}: conn {} replaces conn {}", conn.id, old.id));
        old.send(&ServerMessage::Error {
            code: ERR_LOGGED_IN_ELSEWHERE,
            fatal: true,
            text: "You have been logged out because you logged in from another location.".into(),
        });
        // Its own thread writes the error, then closes (the error must not be cut off).
        old.end_after_flush();
    }
    conn.send(&server_info(shared));
    log_if(
        shared,
        format_args!("conn {} from {}: logged in as uid {uid} (client build {})", conn.id, conn.peer, l.clientver),
    );
    router::deliver_offline(shared, conn, uid);
    router::send_contacts_presence(shared, conn, uid);
    router::announce(shared, uid, &conn.visible_status());
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// The checks that pad `verify_any` to a constant count use a key anyone can compute (an
    /// all-zero h1); a response made with it must never pass, with or without stored hashes.
    #[test]
    fn a_response_under_the_padding_key_is_refused() {
        let nonce = [7u8; 64];
        let forged = msim::protocol::login::compute_response_from_hash(&nonce, "a@x.org", &[0; 20], &[]);
        let real = msim::protocol::login::password_hash("pw");
        assert!(!verify_any(&nonce, "a@x.org", &[], &forged));
        assert!(!verify_any(&nonce, "a@x.org", &[real], &forged));
        let good = msim::protocol::login::compute_response(&nonce, "a@x.org", "pw");
        assert!(verify_any(&nonce, "a@x.org", &[[1; 20], real], &good));
    }

    /// Property: whatever the random source, a key is in 1..=2^31−1, so Pidgin's `%d` echoes it
    /// unchanged. Sampled from a seeded generator (reproducible) and the thread's generator.
    #[test]
    fn session_keys_are_never_zero_and_never_reach_2_pow_31() {
        let mut seeded = rand::rngs::StdRng::seed_from_u64(0x6d73_696d);
        let mut high = 0u32;
        for _ in 0..200_000 {
            for k in [new_sesskey(&mut seeded), new_sesskey(&mut rand::thread_rng())] {
                assert!((1..=MAX_ECHOED_INT).contains(&k), "key {k}");
                high = high.max(k);
            }
        }
        // The whole range is used, not a small corner of it.
        assert!(high > MAX_ECHOED_INT / 2, "highest key {high}");
    }
}
