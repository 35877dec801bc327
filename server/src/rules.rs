//! Account rules and server-wide limits: what a username may look like, how many contacts an
//! account may keep, how much offline mail is held. Pure functions and named constants only.

/// Longest username (SPEC §6.7, §20).
pub const MAX_USERNAME_LEN: usize = 25;

/// Largest integer the server issues for a client to echo (`sesskey`, uids, server-chosen rids,
/// challenge numbers): 2^31 − 1. Pidgin reads integers with `atoi` into a `guint` and writes them
/// back with `printf("%d")`, so anything larger comes back negative (SPEC §6.5, §24).
pub const MAX_ECHOED_INT: u32 = i32::MAX as u32;

/// Contacts per account; the value the server advertises as `MaxContacts` (SPEC §8, §20).
pub const MAX_CONTACTS: usize = 1000;

/// Cap for import-all-friends (14/21); advertised as `MaxAddAllFriends` (SPEC §8, §18.6).
pub const MAX_ADD_ALL_FRIENDS: usize = 100;

/// Longest IM text stored offline, in bytes: the frame cap (SPEC §24) bounds live messages; stored
/// ones get the same bound.
pub const MAX_OFFLINE_TEXT: usize = 256 * 1024;

/// How much offline mail one recipient's box holds, and how much of it one sender may fill. The
/// protocol has no limits; without them anyone could fill the disk by messaging an account that
/// never logs in, and without a per-sender share one sender could fill a box so that nobody else
/// gets through (measured before: one sender's 500 IMs left room for 1 of 300 from a friend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineLimits {
    /// IMs per recipient; 500 is far above any real backlog.
    pub max_ims: usize,
    /// Bytes of IM text per recipient (was only bounded by 500 × 256 KiB = 125 MB).
    pub max_bytes: usize,
    /// IMs one sender may have waiting for one recipient: a tenth of the box.
    pub per_sender_ims: usize,
    /// Bytes one sender may have waiting for one recipient: an eighth of the box, still room for
    /// two IMs of the largest size.
    pub per_sender_bytes: usize,
}

impl Default for OfflineLimits {
    fn default() -> OfflineLimits {
        OfflineLimits { max_ims: 500, max_bytes: 4 * 1024 * 1024, per_sender_ims: 50, per_sender_bytes: 512 * 1024 }
    }
}

impl OfflineLimits {
    /// No limit but [`MAX_OFFLINE_TEXT`]: for tools and tests that plant stored IMs.
    pub fn unlimited() -> OfflineLimits {
        OfflineLimits {
            max_ims: usize::MAX,
            max_bytes: usize::MAX,
            per_sender_ims: usize::MAX,
            per_sender_bytes: usize::MAX,
        }
    }
}

/// Why an IM was not stored for an offline recipient; the sender is told (`router.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfflineRefusal {
    #[error("the recipient's offline box is full")]
    BoxFull,
    #[error("you already have as many messages waiting for this recipient as one sender may")]
    SenderShareUsed,
    #[error("the message is longer than an offline message may be ({} bytes)", MAX_OFFLINE_TEXT)]
    TooLong,
}

/// Longest profile string accepted from `\setinfo\` or `\status\` (headline, band, song, display
/// name). Real profiles were short; this keeps one client from bloating everyone's contact lists.
pub const MAX_PROFILE_TEXT: usize = 1024;

/// Groups per account, and the longest group name or contact nickname in bytes. The protocol has
/// no limits; without them one client could store a frame-sized name per request, forever.
pub const MAX_GROUPS: usize = 100;
pub const MAX_NAME_TEXT: usize = 256;

/// Entries per allow or block list (SPEC §18.4 `a+`/`b+`), as many as contacts.
pub const MAX_LIST_ENTRIES: usize = MAX_CONTACTS;

/// Why a text value is refused for storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contains the control character 0x{0:02X}")]
    Control(u8),
    #[error("is longer than {0} bytes")]
    TooLong(usize),
    #[error("cannot be encoded in a reply")]
    NotEncodable,
}

/// Characters no stored text may hold: C0 controls and DEL, except tab, LF and CR. 0x1C separates
/// dictionary pairs (SPEC §4.5), so the encoder refuses it in a value and one such headline used
/// to fail every contact list that included it; NUL ends a C string in every C client. None of
/// them is typed by a user.
fn refused_char(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// Checks a text value before it is stored: at most `max` bytes, no `refused_char`, and
/// accepted by the dictionary encoder (the strictest place it is sent), so the server never
/// stores a value it cannot send back (issue "Hostile peers, round two" item 1).
pub fn check_text(value: &str, max: usize) -> Result<(), TextError> {
    if value.len() > max {
        return Err(TextError::TooLong(max));
    }
    if let Some(c) = value.chars().find(|&c| refused_char(c)) {
        return Err(TextError::Control(c as u8));
    }
    if msim::protocol::DictBuilder::new().str("v", value).as_bytes().is_err() {
        return Err(TextError::NotEncodable);
    }
    Ok(())
}

/// A stored value as it may be sent: `refused_char`s dropped. Applied to every text read from
/// the database, so a bad value written before these checks existed (or by another tool) costs
/// only its own characters, never a whole reply for everyone who lists that user.
pub fn clean_text(value: String) -> String {
    if value.chars().any(refused_char) {
        value.chars().filter(|&c| !refused_char(c)).collect()
    } else {
        value
    }
}

/// Why a username is refused. The numbers are the `Code` of the 9/14 reply (SPEC §6.7: 0 = accepted;
/// neither source documents non-zero codes, these are msim-server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the username is already taken")]
    Taken = 1,
    #[error("the username must be 1-25 characters of A-Z, a-z, 0-9 or _, and not all digits")]
    Invalid = 2,
    #[error("the account already has a different username; it cannot be changed")]
    AlreadySet = 3,
}

impl UsernameError {
    /// The 9/14 reply `Code`.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// Checks the form of a username (SPEC §6.7, §20): ≤ 25 chars, `[A-Za-z0-9_]`, not all digits.
/// All-digit names are refused because `uniquenick` equal to the numeric id means "no username yet"
/// (SPEC §6.5) and all-digit lookups go by id (SPEC §9.1).
pub fn validate_username(name: &str) -> Result<(), UsernameError> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let all_digits = name.bytes().all(|b| b.is_ascii_digit());
    if name.is_empty() || name.len() > MAX_USERNAME_LEN || !ok_chars || all_digits {
        return Err(UsernameError::Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules_refuse_what_cannot_be_sent_back_and_cleaning_removes_it() {
        let ok = ["", "plain", ":-) /\\ | = \"quotes\"", "tab\tnew\nline\r", "ünï €", "final"];
        for v in ok {
            assert_eq!(check_text(v, 64), Ok(()), "{v:?}");
            assert_eq!(clean_text(v.to_owned()), v);
        }
        let bad = [("a\u{1c}b", 0x1c), ("nul\0", 0), ("\u{1}", 1), ("esc\u{1b}", 0x1b), ("del\u{7f}", 0x7f)];
        for (v, byte) in bad {
            assert_eq!(check_text(v, 64), Err(TextError::Control(byte)), "{v:?}");
            let cleaned = clean_text(v.to_owned());
            assert_eq!(check_text(&cleaned, 64), Ok(()), "{cleaned:?}");
        }
        assert_eq!(clean_text("a\u{1c}b".into()), "ab");
        assert_eq!(check_text("12345", 4), Err(TextError::TooLong(4)));
    }

    #[test]
    fn username_rules() {
        let cases = [
            ("tom", true),
            ("Tom_2007", true),
            ("_", true),
            ("a234567890123456789012345", true),
            ("a2345678901234567890123456", false),
            ("", false),
            ("6221", false),
            ("has space", false),
            ("dash-ed", false),
            ("tëst", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_username(name).is_ok(), ok, "{name:?}");
        }
    }
}
