//! A user's own IM preferences, as set by 1/10 (cmd 514, SPEC §25: `Sound`, `PrivacyMode`,
//! `ShowOnlyToList`, `OfflineMessageMode`, `Headline`, `Alert`, `ShowAvatar`, `IMName`) and
//! reported by 1/4. `PrivacyMode`, `ShowOnlyToList` and `Headline` already live in `accounts`
//! (blocklist `w`/`c`, `\status\`); the rest have this table, one row per user who set any.
//! A value never set is NULL, and 1/4 reports its default.

use rusqlite::{params, OptionalExtension};

use super::Db;
use crate::{rules, Error};

/// Created by [`Db::open`] on every database, new or old.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS preferences (
    uid                  INTEGER PRIMARY KEY REFERENCES accounts(uid) ON DELETE CASCADE,
    sound                INTEGER,
    offline_message_mode INTEGER,
    alert                INTEGER,
    show_avatar          INTEGER,
    im_name              TEXT
);
";

/// The preferences of the table; `None` = never set (a write leaves it as it was).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub sound: Option<bool>,
    pub offline_message_mode: Option<u32>,
    pub alert: Option<u32>,
    pub show_avatar: Option<bool>,
    pub im_name: Option<String>,
}

impl Db {
    /// The stored preferences of `uid` (all `None` when it never set any).
    pub fn preferences(&self, uid: u32) -> Result<Preferences, Error> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT sound, offline_message_mode, alert, show_avatar, im_name FROM preferences WHERE uid = ?1",
        )?;
        let row = st
            .query_row([uid], |r| {
                Ok(Preferences {
                    sound: r.get(0)?,
                    offline_message_mode: r.get(1)?,
                    alert: r.get(2)?,
                    show_avatar: r.get(3)?,
                    im_name: r.get::<_, Option<String>>(4)?.map(rules::clean_text),
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Stores the preferences that are `Some`; the others keep their value. An `IMName` that
    /// [`rules::check_text`] refuses is not stored ([`Error::BadText`]), and nothing else is.
    pub fn set_preferences(&self, uid: u32, p: &Preferences) -> Result<(), Error> {
        if let Some(n) = &p.im_name {
            rules::check_text(n, rules::MAX_NAME_TEXT).map_err(|why| Error::BadText { field: "IMName", why })?;
        }
        self.lock().execute(
            "INSERT INTO preferences (uid, sound, offline_message_mode, alert, show_avatar, im_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (uid) DO UPDATE SET
                 sound = COALESCE(excluded.sound, sound),
                 offline_message_mode = COALESCE(excluded.offline_message_mode, offline_message_mode),
                 alert = COALESCE(excluded.alert, alert),
                 show_avatar = COALESCE(excluded.show_avatar, show_avatar),
                 im_name = COALESCE(excluded.im_name, im_name)",
            params![uid, p.sound, p.offline_message_mode, p.alert, p.show_avatar, p.im_name],
        )?;
        Ok(())
    }

    /// Sets the whole `PrivacyMode` (1/10; the blocklist's `c0`/`c1` set only bit 0, SPEC §18.4).
    pub fn set_privacy_mode(&self, uid: u32, mode: u32) -> Result<(), Error> {
        self.lock().execute("UPDATE accounts SET privacy_mode = ?2 WHERE uid = ?1", params![uid, mode])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_are_kept_until_set_again_and_go_with_the_account() {
        let db = Db::open(":memory:").unwrap();
        let uid = db.create_account(None, "p@x.org", &[1; 20], None, None).unwrap();
        assert_eq!(db.preferences(uid).unwrap(), Preferences::default());
        let first =
            Preferences { sound: Some(false), alert: Some(0), im_name: Some("Pat".into()), ..Default::default() };
        db.set_preferences(uid, &first).unwrap();
        db.set_preferences(uid, &Preferences { offline_message_mode: Some(2), ..Default::default() }).unwrap();
        assert_eq!(db.preferences(uid).unwrap(), Preferences { offline_message_mode: Some(2), ..first });
        let bad = Preferences { sound: Some(true), im_name: Some("a\u{1c}b".into()), ..Default::default() };
        assert!(matches!(db.set_preferences(uid, &bad), Err(Error::BadText { field: "IMName", .. })));
        assert_eq!(db.preferences(uid).unwrap().sound, Some(false), "a refused write changed something");
        db.set_privacy_mode(uid, 3).unwrap();
        assert_eq!(db.account(uid).unwrap().unwrap().privacy_mode, 3);
        db.remove_account("p@x.org").unwrap();
        assert_eq!(db.preferences(uid).unwrap(), Preferences::default());
    }
}
