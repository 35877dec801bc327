//! Client requests after login: dispatch by kind, plus the small ones handled here — `\status\`,
//! `\setinfo\`, `\webchlg\`, `\logout\` (SPEC §12, §14, §17, §23). Persist requests live in
//! [`persist`], contact-list changes in [`contacts`], bm routing in `crate::router`.

pub mod contacts;
mod groups;
pub mod persist;
mod pieces;
mod prefs;

use std::sync::Arc;

use msim::protocol::dict::Dict;
use msim::protocol::kinds::{ClientMessage, ServerMessage};

use crate::conn::Conn;
use crate::db::ProfileField;
use crate::rules::MAX_PROFILE_TEXT;
use crate::session::Flow;
use crate::state::Shared;
use crate::{log_if, router, Error};

pub fn dispatch(shared: &Arc<Shared>, conn: &Arc<Conn>, uid: u32, m: ClientMessage) -> Flow {
    match m {
        ClientMessage::Persist(p) => persist::handle(shared, conn, uid, &p),
        ClientMessage::Bm(b) => router::route_bm(shared, uid, &b),
        ClientMessage::Status { code, statstring, .. } => status(shared, conn, uid, code, &statstring),
        ClientMessage::AddBuddy { uid: other, .. } => contacts::add_buddy(shared, conn, uid, other),
        ClientMessage::DelBuddy { uid: other, .. } => contacts::del_buddy(shared, conn, uid, other),
        ClientMessage::BlockList { ops, .. } => contacts::block_list(shared, conn, uid, &ops),
        ClientMessage::SetInfo { info, .. } => set_info(shared, conn, uid, &info),
        ClientMessage::WebChallenge { .. } => {
            conn.send(&persist::web_challenge(shared.server_rid(), uid));
        }
        ClientMessage::Logout { .. } => return Flow::Close,
        ClientMessage::Login2(_) | ClientMessage::Unknown(_) => {}
    }
    Flow::Continue
}

/// Cuts an over-long profile string at a character boundary.
fn clamp(s: &str) -> &str {
    if s.len() <= MAX_PROFILE_TEXT {
        return s;
    }
    let mut end = MAX_PROFILE_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Tells the client that a value it sent was not stored (`\status\` and `\setinfo\` have no reply
/// of their own): `\error\` 1, not fatal, naming the field and the reason (SPEC §16.2 has no
/// dedicated code; 1 is "the request could not be used").
fn refuse_text(shared: &Shared, conn: &Conn, uid: u32, e: &Error) {
    log_if(shared, format_args!("uid {uid}: value not stored: {e}"));
    conn.send(&ServerMessage::Error { code: 1, fatal: false, text: format!("Not stored: {e}.") });
}

/// `\status\` (SPEC §12): the code others see (0 = invisible, shown as offline) and the status text,
/// which is also the user's headline (SPEC §12: there is no separate headline message). Text the
/// server could not send back (`rules::check_text`) is refused as a whole: nothing changes and the
/// client gets an error.
fn status(shared: &Shared, conn: &Conn, uid: u32, code: u32, text: &str) {
    let text = clamp(text);
    match shared.db.set_profile(uid, ProfileField::Headline, text) {
        Ok(()) => {}
        Err(e @ Error::BadText { .. }) => return refuse_text(shared, conn, uid, &e),
        Err(e) => log_if(shared, format_args!("uid {uid}: cannot store headline: {e}")),
    }
    conn.set_own_status(code, text);
    router::announce(shared, uid, &conn.visible_status());
}

/// `\setinfo\` (SPEC §5, §6.7): profile fields. There is no reply on the wire: a refused UserName
/// (invalid or taken) is only logged, 9/14 is where a client learns the outcome; a text value the
/// server could not send back gets an `\error\` and is not stored (the other keys still apply).
fn set_info(shared: &Shared, conn: &Conn, uid: u32, info: &[u8]) {
    let dict = match Dict::parse(info) {
        Ok(d) => d,
        Err(e) => return log_if(shared, format_args!("uid {uid}: setinfo body: {e}")),
    };
    let mut headline_changed = false;
    for (key, _) in dict.iter() {
        let key = String::from_utf8_lossy(key);
        let Ok(value) = dict.get_str(&key) else { continue };
        let value = clamp(&value).to_owned();
        let field = match key.as_ref() {
            "UserName" => {
                match shared.db.set_username(uid, &value) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => log_if(shared, format_args!("uid {uid}: setinfo UserName refused: {e}")),
                    Err(e) => log_if(shared, format_args!("uid {uid}: setinfo UserName: {e}")),
                }
                continue;
            }
            "DisplayName" => ProfileField::DisplayName,
            "Headline" => ProfileField::Headline,
            "BandName" => ProfileField::BandName,
            "SongName" => ProfileField::SongName,
            "ImageURL" | "AvatarURL" | "AvatarUrl" => ProfileField::ImageUrl,
            _ => {
                log_if(shared, format_args!("uid {uid}: setinfo key `{key}` ignored"));
                continue;
            }
        };
        match shared.db.set_profile(uid, field, &value) {
            Ok(()) => {}
            Err(e @ Error::BadText { .. }) => {
                refuse_text(shared, conn, uid, &e);
                continue;
            }
            Err(e) => log_if(shared, format_args!("uid {uid}: setinfo: {e}")),
        }
        if field == ProfileField::Headline {
            conn.set_own_status(conn.own_status().code, &value);
            headline_changed = true;
        }
    }
    if headline_changed {
        router::announce(shared, uid, &conn.visible_status());
    }
}
