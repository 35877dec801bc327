//! Buddy messages `\bm\` (SPEC §11): types, and what a payload means.

use super::status::StatusList;
use super::zap::Zap;

/// bm type numbers (SPEC §11.2).
pub mod bm {
    pub const IM: u32 = 1;
    pub const ADD_NOTICE: u32 = 4;
    pub const STATUS: u32 = 100;
    pub const INSTANT: u32 = 121;
    pub const MEDIA: u32 = 122;
    pub const PROFILE: u32 = 124;
    pub const MOOD: u32 = 126;
    pub const UNOFFICIAL_CLIENT: u32 = 200;
}

/// The payload of leaving a group chat (SPEC §25, bm 121 with `gid`).
pub const EXIT_CHAT: &str = "!!!ExitChat";

/// Typing payloads (SPEC §11.3).
pub const TYPING: &str = "%typing%";
pub const STOP_TYPING: &str = "%stoptyping%";
/// The bm 122 payload the official client sends when an IM window opens (SPEC §4.7, §11.2).
pub fn media_payload(reqid: u64) -> String {
    format!("cmdtype=1&reqid={reqid}&contenttype=1&")
}

/// The payload of a bm as carried by the typed messages: bm 100 is a `|` list whose items are
/// escaped one by one; every other type carries one escaped string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BmPayload {
    Text(String),
    Status(StatusList),
}

/// What a received bm means (SPEC §11.3 order of classification, with §24's tolerances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BmContent {
    /// An instant message: MSIM markup (unescaped).
    Im(String),
    Typing,
    StopTyping,
    Zap(Zap),
    /// bm 122: a window was opened (reported as a typing blip by Pidgin).
    Media,
    /// Presence / headline update.
    Status(StatusList),
    /// bm 4, sent after an `addbuddy` for that uid.
    AddNotice,
    /// bm 200: the peer's client description.
    ClientVersion(String),
    /// bm 126.
    Mood(String),
    /// bm 124.
    Profile(String),
    /// Group-chat traffic (SPEC §11.3, §25): a bm 1/121 with a non-zero `gid` or `aid`, or with a
    /// `!!!GroupCount=` / `!!!Offline=` marker.
    GroupChat(GroupChat),
    /// Any other payload starting with `!!!`: a control string (SPEC §25: `!!!ExitChat`, …), never
    /// text to show.
    Control(String),
    /// Any other type, kept for the host.
    Unknown {
        kind: u32,
        text: String,
    },
}

/// What a group-chat message says (SPEC §25 knows no more than this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChat {
    /// Text from the actor: MSIM markup (unescaped).
    Message(String),
    /// `!!!ExitChat`: the actor left the chat.
    Left,
    /// Anything else, as sent: `!!!GroupCount=`, `!!!Offline=`, typing, other control strings.
    /// Never text to show.
    Other(String),
}

/// Classifies a received bm (SPEC §11.3). `%typing%` and `%stoptyping%` are recognised in bm 1 as
/// well as bm 121 (SPEC §24: revival servers relay typing as bm 1). Any other bm 1 or 121 text is an
/// IM (SPEC §25: the web client sends IMs as bm 121) unless it starts with `!!!`: such a payload is
/// a control string, never shown as text, whether or not its kind is known. A non-zero `gid` or
/// `aid` makes any bm 1/121 group-chat traffic (SPEC §25), never an IM, typing or zap from the
/// actor. Takes the payload by value: this runs for every message received, and moving the text
/// costs nothing where a copy would.
pub fn classify(kind: u32, payload: BmPayload, gid: Option<u32>, aid: Option<u32>) -> BmContent {
    let text = match payload {
        BmPayload::Status(s) => return BmContent::Status(s),
        BmPayload::Text(t) => t,
    };
    match kind {
        bm::IM | bm::INSTANT => {
            // Zaps and group-chat markers all contain `!!!`; one scan spares ordinary IMs the
            // three substring searches below.
            let b = text.as_bytes();
            let marked = memchr::memchr_iter(b'!', b).any(|i| b[i..].starts_with(b"!!!"));
            if gid.unwrap_or(0) != 0 || aid.unwrap_or(0) != 0 {
                BmContent::GroupChat(if text == EXIT_CHAT {
                    GroupChat::Left
                } else if (marked && text.starts_with("!!!")) || text == TYPING || text == STOP_TYPING {
                    GroupChat::Other(text)
                } else {
                    GroupChat::Message(text)
                })
            } else if text == TYPING {
                BmContent::Typing
            } else if text == STOP_TYPING {
                BmContent::StopTyping
            } else if let Some(z) = marked.then(|| Zap::parse_payload(&text)).flatten() {
                BmContent::Zap(z)
            } else if marked && (text.contains("!!!GroupCount=") || text.contains("!!!Offline=")) {
                BmContent::GroupChat(GroupChat::Other(text))
            } else if text.starts_with("!!!") {
                BmContent::Control(text)
            } else {
                BmContent::Im(text)
            }
        }
        bm::ADD_NOTICE => BmContent::AddNotice,
        bm::MEDIA => BmContent::Media,
        bm::PROFILE => BmContent::Profile(text),
        bm::MOOD => BmContent::Mood(text),
        bm::UNOFFICIAL_CLIENT => BmContent::ClientVersion(text),
        other => BmContent::Unknown { kind: other, text },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let t = |s: &str| BmPayload::Text(s.into());
        // (bm type, payload, gid, aid, expected)
        type Case = (u32, BmPayload, Option<u32>, Option<u32>, BmContent);
        let cases: Vec<Case> = vec![
            (1, t("hi"), None, None, BmContent::Im("hi".into())),
            (1, t("%typing%"), None, None, BmContent::Typing),
            (121, t("%typing%"), None, None, BmContent::Typing),
            (121, t("%stoptyping%"), None, None, BmContent::StopTyping),
            (121, t("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4"), None, None, BmContent::Zap(Zap::Hug)),
            (1, t("x!!!GroupCount=3"), None, None, BmContent::GroupChat(GroupChat::Other("x!!!GroupCount=3".into()))),
            (1, t("hello"), None, Some(7), BmContent::GroupChat(GroupChat::Message("hello".into()))),
            (1, t("hello"), None, Some(0), BmContent::Im("hello".into())),
            (1, t("hello"), Some(0), Some(0), BmContent::Im("hello".into())),
            // SPEC §25: group chat carries `gid` and `aid`; leaving is bm 121 with `gid` and `!!!ExitChat`.
            (
                121,
                t("<p>all of you</p>"),
                Some(55),
                Some(7),
                BmContent::GroupChat(GroupChat::Message("<p>all of you</p>".into())),
            ),
            (121, t("!!!ExitChat"), Some(55), None, BmContent::GroupChat(GroupChat::Left)),
            (121, t("!!!ExitChat"), Some(55), Some(7), BmContent::GroupChat(GroupChat::Left)),
            (
                121,
                t("!!!GroupCount=3"),
                Some(55),
                None,
                BmContent::GroupChat(GroupChat::Other("!!!GroupCount=3".into())),
            ),
            (121, t("%typing%"), Some(55), Some(7), BmContent::GroupChat(GroupChat::Other("%typing%".into()))),
            (
                121,
                t("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4"),
                Some(55),
                Some(7),
                BmContent::GroupChat(GroupChat::Other("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4".into())),
            ),
            (1, t("wow!!! yes"), Some(55), None, BmContent::GroupChat(GroupChat::Message("wow!!! yes".into()))),
            // SPEC §25: the web client's IMs are bm 121 with markup (cv 745).
            (
                121,
                t("<p><f f='Arial' h='16'>hi</f></p>"),
                None,
                None,
                BmContent::Im("<p><f f='Arial' h='16'>hi</f></p>".into()),
            ),
            (121, t("hello !!! world"), None, None, BmContent::Im("hello !!! world".into())),
            // SPEC §25: a payload starting with `!!!` is a control string, in bm 121 and bm 1.
            (121, t("!!!ExitChat"), None, None, BmContent::Control("!!!ExitChat".into())),
            (1, t("!!!SomethingNew=1"), None, None, BmContent::Control("!!!SomethingNew=1".into())),
            (121, t("!!!"), None, None, BmContent::Control("!!!".into())),
            (
                121,
                t("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_x"),
                None,
                None,
                BmContent::Control("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_x".into()),
            ),
            (4, t(""), None, None, BmContent::AddNotice),
            (122, t(&media_payload(5)), None, None, BmContent::Media),
            (200, t("Libpurple"), None, None, BmContent::ClientVersion("Libpurple".into())),
            (126, t("happy"), None, None, BmContent::Mood("happy".into())),
            (124, t("p"), None, None, BmContent::Profile("p".into())),
            (77, t("?"), None, None, BmContent::Unknown { kind: 77, text: "?".into() }),
        ];
        for (kind, payload, gid, aid, want) in cases {
            assert_eq!(
                classify(kind, payload.clone(), gid, aid),
                want,
                "bm {kind} {payload:?} gid {gid:?} aid {aid:?}"
            );
        }
    }
}
