//! 1/10 (cmd 514): the user's own preferences (SPEC §25; Miranda sends them at login): `Sound`,
//! `PrivacyMode`, `ShowOnlyToList`, `OfflineMessageMode`, `Headline`, `Alert`, `ShowAvatar`,
//! `IMName`. Stored (`db/prefs.rs`, and `accounts` for the three that were already there) and
//! reported by 1/4. The reply echoes the body, as a contact write's does (SPEC §10.2).

use msim::protocol::dict::{Dict, DictBuilder};

use super::persist::{opt_str, opt_u32, own, Answer, Refusal};
use crate::conn::Conn;
use crate::db::{Preferences, ProfileField};
use crate::rules::{self, MAX_PROFILE_TEXT};
use crate::state::Shared;
use crate::{router, Error};

/// A boolean preference: `True`/`False` as the capture writes them, also `On`/`Off` and `1`/`0`
/// (SPEC §4.3, §24). Anything else is a malformed body.
fn opt_bool(d: &Dict<'_>, key: &str) -> Result<Option<bool>, Refusal> {
    match d.get_raw(key) {
        None => Ok(None),
        Some(raw) => msim::protocol::dict::parse_bool(raw)
            .map(Some)
            .ok_or_else(|| Refusal(format!("The request body is malformed: `{key}` is not a boolean."))),
    }
}

/// Stores what the body sets; keys it leaves out keep their value. Every value is read and checked
/// first, so a malformed or refused one changes nothing. Watchers see a new headline, or a new
/// ShowOnlyToList, at once (as after `\status\` or a blocklist `w` token).
pub(super) fn set_own(shared: &Shared, conn: &Conn, uid: u32, body: &Dict<'_>) -> Answer {
    let prefs = Preferences {
        sound: opt_bool(body, "Sound")?,
        offline_message_mode: opt_u32(body, "OfflineMessageMode")?,
        alert: opt_u32(body, "Alert")?,
        show_avatar: opt_bool(body, "ShowAvatar")?,
        im_name: opt_str(body, "IMName")?,
    };
    let privacy_mode = opt_u32(body, "PrivacyMode")?;
    let show_only = opt_bool(body, "ShowOnlyToList")?;
    let headline = opt_str(body, "Headline")?.map(|h| super::clamp(&h).to_owned());
    if let Some(h) = &headline {
        rules::check_text(h, MAX_PROFILE_TEXT).map_err(|why| Error::BadText { field: "Headline", why })?;
    }
    let before = own(shared, uid)?;
    let db = &shared.db;
    db.set_preferences(uid, &prefs)?;
    if let Some(m) = privacy_mode {
        db.set_privacy_mode(uid, m)?;
    }
    db.set_privacy(uid, show_only, None)?;
    if let Some(h) = headline.as_deref().filter(|h| *h != before.headline) {
        db.set_profile(uid, ProfileField::Headline, h)?;
        conn.set_own_status(conn.own_status().code, h);
        if show_only.is_none_or(|w| w == before.show_only_to_list) {
            router::announce(shared, uid, &conn.visible_status());
        }
    }
    if show_only.is_some_and(|w| w != before.show_only_to_list) {
        router::refresh_all(shared, uid);
    }
    Ok(DictBuilder::new().extend_raw(body))
}
