//! Who is who: the uid ⇄ username cache, the contact set, and reading user info from bodies.
//!
//! The protocol addresses users by numeric id; people address them by username (SPEC §9, §19).
//! Every reply that names a user feeds the cache, so most operations need no lookup.

use std::collections::{HashMap, HashSet};

use crate::protocol::Dict;

use super::commands::MAX_USERNAME_LEN;
use super::events::UserInfo;

/// Cap on the cache's memory: the bytes of the names and keys, plus [`ENTRY_BYTES`] per map
/// entry. Memory is bounded by bytes, not by entries, so a server that floods replies with big
/// names cannot grow it: names longer than SPEC's username limit are not cached at all. The
/// MaxContacts=1000 contacts (SPEC §8) with the longest names (25 characters, SPEC §20; 4-byte
/// UTF-8 at worst) take under 300 KiB; strangers who message us or whom we look up use the rest.
/// When a name does not fit, every name but the contacts' is forgotten (it is only a cache: a miss
/// costs one lookup); a name that still does not fit is not cached.
pub const MAX_NAME_BYTES: usize = 512 * 1024;

/// What one map entry costs besides its text: the hash-map slot (key, value, control byte, load
/// factor) and the boxed string's pointer and length.
pub const ENTRY_BYTES: usize = 48;

/// Longest e-mail key cached: an e-mail address is at most 254 characters (RFC 5321), plus `@`.
const MAX_KEY_LEN: usize = 255;

/// How a host names a user in an operation (SPEC §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Uid(u32),
    Username(String),
    Email(String),
}

impl Who {
    /// All digits → uid; contains `@` → e-mail; otherwise a username. Empty → `None`.
    pub fn parse(s: &str) -> Option<Who> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse::<u32>().ok().map(Who::Uid);
        }
        if s.contains('@') {
            return Some(Who::Email(s.to_owned()));
        }
        Some(Who::Username(s.to_owned()))
    }

    /// Cache key: usernames compare case-insensitively and without spaces (SPEC §19).
    pub fn key(&self) -> String {
        match self {
            Who::Uid(u) => u.to_string(),
            Who::Username(n) => normalize(n),
            Who::Email(e) => format!("@{}", e.to_lowercase()),
        }
    }
}

/// Username normalisation for comparison (SPEC §19, without Unicode decomposition).
pub fn normalize(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// True for a name that is really a uid (the server's stand-in when no username was chosen).
pub fn is_numeric(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// The cache; see the module docs.
#[derive(Debug, Default)]
pub struct Names {
    by_uid: HashMap<u32, Box<str>>,
    /// Normalised username (SPEC §19) or `@`e-mail → uid.
    by_key: HashMap<Box<str>, u32>,
    contacts: HashSet<u32>,
    /// Bytes of `by_uid` and `by_key` as [`MAX_NAME_BYTES`] counts them.
    bytes: usize,
}

impl Names {
    /// Caches `uid`'s username. Ignored: uid 0, numeric names (the server's stand-in for "none"),
    /// names over SPEC's 25 characters (SPEC §20), and a name that does not fit the cap.
    pub fn remember(&mut self, uid: u32, username: &str) {
        let too_long = username.len() > 4 * MAX_USERNAME_LEN || username.chars().count() > MAX_USERNAME_LEN;
        if uid == 0 || is_numeric(username) || username.is_empty() || too_long {
            return;
        }
        if self.by_uid.get(&uid).is_some_and(|n| **n == *username) {
            return;
        }
        self.forget(uid);
        let key = normalize(username);
        if !self.make_room(2 * ENTRY_BYTES + username.len() + key.len()) {
            return;
        }
        self.bytes += ENTRY_BYTES + username.len();
        self.by_uid.insert(uid, username.into());
        self.insert_key(key, uid);
    }

    /// Drops `uid`'s name, and its key if that still points to `uid`.
    fn forget(&mut self, uid: u32) {
        let Some(old) = self.by_uid.remove(&uid) else { return };
        self.bytes -= ENTRY_BYTES + old.len();
        let key = normalize(&old);
        if self.by_key.get(key.as_str()) == Some(&uid) {
            self.by_key.remove(key.as_str());
            self.bytes -= ENTRY_BYTES + key.len();
        }
    }

    fn insert_key(&mut self, key: String, uid: u32) {
        let len = key.len();
        if self.by_key.insert(key.into_boxed_str(), uid).is_none() {
            self.bytes += ENTRY_BYTES + len;
        }
    }

    /// Whether `need` more bytes fit, after forgetting every name but the contacts' if needed.
    fn make_room(&mut self, need: usize) -> bool {
        if self.bytes + need <= MAX_NAME_BYTES {
            return true;
        }
        let contacts = &self.contacts;
        self.by_uid.retain(|u, _| contacts.contains(u));
        self.by_key.retain(|_, u| contacts.contains(u));
        self.by_uid.shrink_to_fit();
        self.by_key.shrink_to_fit();
        self.bytes = self.count_bytes();
        self.bytes + need <= MAX_NAME_BYTES
    }

    /// The bytes of the maps, counted from scratch.
    fn count_bytes(&self) -> usize {
        self.by_uid.values().map(|n| ENTRY_BYTES + n.len()).sum::<usize>()
            + self.by_key.keys().map(|k| ENTRY_BYTES + k.len()).sum::<usize>()
    }

    /// The cache's bytes as the cap counts them, checked against a fresh count (for tests).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        assert_eq!(self.bytes, self.count_bytes(), "the running count drifted");
        self.bytes
    }

    /// Remembers an e-mail → uid mapping from an e-mail lookup.
    pub fn remember_key(&mut self, key: String, uid: u32) {
        if key.len() > MAX_KEY_LEN || uid == 0 {
            return;
        }
        if self.by_key.contains_key(key.as_str()) || self.make_room(ENTRY_BYTES + key.len()) {
            self.insert_key(key, uid);
        }
    }

    /// The username of `uid` is cached.
    pub fn knows(&self, uid: u32) -> bool {
        self.by_uid.contains_key(&uid)
    }

    pub fn username(&self, uid: u32) -> Option<String> {
        self.by_uid.get(&uid).map(|n| n.to_string())
    }

    /// The uid for a host's name, if known without asking the server.
    pub fn resolve(&self, who: &Who) -> Option<u32> {
        match who {
            Who::Uid(u) => Some(*u),
            other => self.by_key.get(other.key().as_str()).copied(),
        }
    }

    pub fn set_contact(&mut self, uid: u32, on_list: bool) {
        if on_list {
            self.contacts.insert(uid);
        } else {
            self.contacts.remove(&uid);
        }
    }

    pub fn is_contact(&self, uid: u32) -> bool {
        self.contacts.contains(&uid)
    }

    pub fn clear_contacts(&mut self) {
        self.contacts.clear();
    }
}

fn text(d: &Dict<'_>, key: &str) -> Option<String> {
    d.opt_str(key).ok().flatten().map(|s| s.into_owned()).filter(|s| !s.is_empty())
}

fn number(d: &Dict<'_>, key: &str) -> Option<u32> {
    d.opt_u64(key).ok().flatten().and_then(|v| u32::try_from(v).ok())
}

/// Reads user info from a reply body (SPEC §9.2). `None` when it names no user (no `UserID` /
/// `ContactID`, or 0: "no such user", SPEC §9.1).
pub fn user_info(d: &Dict<'_>) -> Option<UserInfo> {
    let uid = number(d, "UserID").or_else(|| number(d, "ContactID")).filter(|&u| u != 0)?;
    Some(UserInfo {
        uid,
        username: text(d, "UserName").filter(|n| !is_numeric(n)),
        display_name: text(d, "DisplayName"),
        // The capture spells it AvatarUrl, Pidgin AvatarURL (SPEC §9.2, §21 item 15).
        image_url: text(d, "ImageURL").or_else(|| text(d, "AvatarURL")).or_else(|| text(d, "AvatarUrl")),
        headline: text(d, "Headline"),
        band: text(d, "BandName"),
        song: text(d, "SongName"),
        age: number(d, "Age"),
        gender: text(d, "Gender"),
        location: text(d, "Location"),
        total_friends: number(d, "TotalFriends"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_forms() {
        let cases = [
            ("6221", Some(Who::Uid(6221))),
            (" tom ", Some(Who::Username("tom".into()))),
            ("a@b.c", Some(Who::Email("a@b.c".into()))),
            ("", None),
            ("99999999999", None),
        ];
        for (s, want) in cases {
            assert_eq!(Who::parse(s), want, "{s:?}");
        }
    }

    #[test]
    fn cache_is_case_insensitive_and_ignores_numeric_names() {
        let mut n = Names::default();
        n.remember(6221, "Tom");
        n.remember(7, "7");
        assert_eq!(n.resolve(&Who::parse("TOM").unwrap()), Some(6221));
        assert_eq!(n.username(6221).as_deref(), Some("Tom"));
        assert_eq!(n.username(7), None);
        n.remember(6221, "thomas");
        assert_eq!(n.resolve(&Who::parse("tom").unwrap()), None);
    }

    #[test]
    fn the_cache_counts_bytes_skips_overlong_names_and_keeps_contacts_when_full() {
        let mut n = Names::default();
        n.remember(1, &"a".repeat(MAX_USERNAME_LEN));
        n.remember(2, &"b".repeat(MAX_USERNAME_LEN + 1));
        assert!(n.knows(1) && !n.knows(2), "SPEC §20: at most 25 characters");
        assert_eq!(n.bytes(), 2 * (ENTRY_BYTES + MAX_USERNAME_LEN));
        n.set_contact(1, true);
        n.remember_key("@one@example.com".into(), 1);
        let mut uid = 10;
        while n.bytes() + 2 * (ENTRY_BYTES + 25) <= MAX_NAME_BYTES {
            n.remember(uid, &format!("user{uid:0>21}"));
            uid += 1;
        }
        n.remember(uid, "one_more");
        assert!(n.bytes() <= MAX_NAME_BYTES);
        assert!(n.knows(uid) && !n.knows(10), "strangers were forgotten to make room");
        assert_eq!(n.resolve(&Who::parse("one@example.com").unwrap()), Some(1), "the contact's keys stay");
        assert!(n.knows(1));
        // A renamed user's old key goes; another user's key stays his.
        n.remember(1, "renamed");
        assert_eq!(n.resolve(&Who::parse("a".repeat(25).as_str()).unwrap()), None);
        assert_eq!(n.resolve(&Who::parse("RENAMED").unwrap()), Some(1));
        n.bytes();
    }

    #[test]
    fn user_info_from_the_capture() {
        let body = b"UserID=15187323\x1cImageURL=http:/1/1x.myspace.com/1images/1no_pic.gif\x1cDisplayName=testuserguy\x1cUserName=testuser\x1cBandName=\x1cSongName=\x1cTotalFriends=41";
        let info = user_info(&Dict::parse(body).unwrap()).unwrap();
        assert_eq!(info.uid, 15187323);
        assert_eq!(info.username.as_deref(), Some("testuser"));
        assert_eq!(info.image_url.as_deref(), Some("http://x.myspace.com/images/no_pic.gif"));
        assert_eq!((info.band, info.total_friends), (None, Some(41)));
        assert_eq!(user_info(&Dict::parse(b"UserName=free").unwrap()), None);
        let numeric = user_info(&Dict::parse(b"UserID=3656574\x1cUserName=3656574").unwrap()).unwrap();
        assert_eq!(numeric.username, None);
    }
}
