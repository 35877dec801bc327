//! `msim_group_chat`: group-chat traffic given to `on_group_chat` (SPEC §25). Only receiving is
//! known (messages carry `gid` and `aid`; leaving is `!!!ExitChat`), so there is nothing to send
//! and no function here.

use std::os::raw::c_char;

use crate::client::events::GroupChatKind;

use super::types::Strings;

/// What an `on_group_chat` carries.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_group_chat_kind {
    /// Text from the actor: `html` and `plain`.
    Message = 0,
    /// The actor left the chat (`!!!ExitChat`).
    Left = 1,
    /// Other group-chat traffic (`!!!GroupCount=`, `!!!Offline=`, typing, another control
    /// string): `plain` holds it as sent, for logs; not text to show.
    Other = 2,
}

/// Group-chat traffic given to `on_group_chat`; strings are borrowed for the duration of the
/// callback. Later versions only append members.
#[repr(C)]
pub struct msim_group_chat {
    /// The chat (`gid`); 0 when the message carried only an actor id.
    pub gid: u32,
    /// `f` as sent.
    pub from_uid: u32,
    /// Who acted (`aid`; `from_uid` when the message carried none).
    pub actor_uid: u32,
    /// The actor's username; NULL when the actor has none or msim could not learn it (the
    /// message waited up to 5 s for a lookup, as IMs do).
    pub actor_username: *const c_char,
    pub kind: msim_group_chat_kind,
    /// MESSAGE: the text as HTML; otherwise "". Never NULL.
    pub html: *const c_char,
    /// MESSAGE: the text as plain text; OTHER: the string as sent; LEFT: "". Never NULL.
    pub plain: *const c_char,
    /// Unix seconds (a time_t value): the `date` sent with it, else the arrival time.
    pub time: i64,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn group_chat(
    gid: u32,
    from: u32,
    actor: u32,
    username: Option<&str>,
    kind: GroupChatKind,
    html: &str,
    plain: &str,
    time: u64,
    st: &mut Strings,
) -> msim_group_chat {
    msim_group_chat {
        gid,
        from_uid: from,
        actor_uid: actor,
        actor_username: st.opt(username),
        kind: match kind {
            GroupChatKind::Message => msim_group_chat_kind::Message,
            GroupChatKind::Left => msim_group_chat_kind::Left,
            GroupChatKind::Other => msim_group_chat_kind::Other,
        },
        html: st.add(html),
        plain: st.add(plain),
        time: i64::try_from(time).unwrap_or(i64::MAX),
    }
}
