//! Persist requests waiting for their reply, matched by `rid` (SPEC §7.3), each with a deadline
//! (SPEC §24: no reply within the request timeout → the request completes with a timeout).

use std::collections::HashMap;
use std::time::Instant;

use super::events::RequestId;

/// Cap on requests in flight per session. A sign-on with a full contact list issues up to
/// MaxContacts=1000 info lookups (SPEC §8); 2048 leaves room for the host's own requests while
/// bounding what a host (or a server that never answers) can pile up.
pub const MAX_PENDING: usize = 2048;

/// Why a request was sent: decides what its reply (or its timeout) turns into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// 4/5 at sign-on (SPEC §6.6).
    OwnInfo,
    /// 1/4 at sign-on.
    ImInfo,
    /// 0/1; `import`: the refresh after an import (SPEC §18.6).
    ContactList {
        import: bool,
    },
    /// 7/18 (SPEC §13).
    MailCheck,
    /// 2/6 (SPEC §10.2).
    Groups,
    /// The host's `lookup_user`.
    Lookup,
    /// Resolving a username or e-mail to a uid before an operation (SPEC §11.1); `key` is the
    /// normalised name the waiting operations are filed under.
    Resolve {
        key: String,
    },
    /// A background by-id lookup to learn a user's name/info (SPEC §10.1).
    Info {
        uid: u32,
    },
    UsernameCheck {
        name: String,
    },
    SetUsername {
        name: String,
    },
    AddBuddy {
        uid: u32,
        group: String,
    },
    RemoveBuddy {
        uid: u32,
    },
    Block {
        uid: u32,
        blocked: bool,
    },
    ContactInfo {
        uid: u32,
    },
    /// 14/21 (SPEC §18.6).
    Import,
    /// 2/16 PUT (SPEC §10.2); `id` non-zero for a rename by `GroupID` (SPEC §25).
    SaveGroup {
        id: u32,
        name: String,
    },
    /// 2/16 DELETE of `GroupID` (SPEC §25).
    RemoveGroup {
        id: u32,
    },
}

impl Purpose {
    /// Requests whose failure nobody asked about: a server that never answers them (SPEC §24)
    /// should not flood the host with errors.
    pub fn is_background(&self) -> bool {
        matches!(self, Purpose::OwnInfo | Purpose::ImInfo | Purpose::MailCheck | Purpose::Info { .. })
    }

    /// A short description for error texts.
    pub fn describe(&self) -> String {
        match self {
            Purpose::OwnInfo => "own info request".into(),
            Purpose::ImInfo => "IM settings request".into(),
            Purpose::ContactList { .. } => "contact list request".into(),
            Purpose::MailCheck => "mail check".into(),
            Purpose::Groups => "group list request".into(),
            Purpose::Lookup => "user lookup".into(),
            Purpose::Resolve { key } => format!("lookup of {key}"),
            Purpose::Info { uid } => format!("info request for {uid}"),
            Purpose::UsernameCheck { name } => format!("username check for {name}"),
            Purpose::SetUsername { name } => format!("setting username {name}"),
            Purpose::AddBuddy { uid, .. } => format!("adding {uid}"),
            Purpose::RemoveBuddy { uid } => format!("removing {uid}"),
            Purpose::Block { uid, blocked: true } => format!("blocking {uid}"),
            Purpose::Block { uid, blocked: false } => format!("unblocking {uid}"),
            Purpose::ContactInfo { uid } => format!("saving contact info of {uid}"),
            Purpose::Import => "importing friends".into(),
            Purpose::SaveGroup { id: 0, name } => format!("saving group {name}"),
            Purpose::SaveGroup { id, name } => format!("renaming group {id} to {name}"),
            Purpose::RemoveGroup { id } => format!("removing group {id}"),
        }
    }
}

#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    deadline: Instant,
}

/// The table of requests in flight.
#[derive(Debug)]
pub struct Requests {
    /// Next rid. Pidgin counts from 1 per session (SPEC §7.3); msim keeps counting across
    /// reconnects so a rid (= the host's request id) is never reused within a session.
    next: u32,
    pending: HashMap<RequestId, Pending>,
}

impl Default for Requests {
    fn default() -> Self {
        Requests { next: 1, pending: HashMap::new() }
    }
}

impl Requests {
    /// A fresh rid, also for requests that expect no tracked reply.
    pub fn next_rid(&mut self) -> RequestId {
        let rid = self.next;
        self.next = self.next.checked_add(1).unwrap_or(1);
        rid
    }

    pub fn is_full(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    pub fn insert(&mut self, rid: RequestId, purpose: Purpose, deadline: Instant) {
        self.pending.insert(rid, Pending { purpose, deadline });
    }

    /// Takes the request a reply answers.
    pub fn take(&mut self, rid: RequestId) -> Option<Purpose> {
        self.pending.remove(&rid).map(|p| p.purpose)
    }

    /// Removes and returns every request whose deadline has passed, oldest rid first.
    pub fn expire(&mut self, now: Instant) -> Vec<(RequestId, Purpose)> {
        let mut due: Vec<RequestId> = self.pending.iter().filter(|(_, p)| p.deadline <= now).map(|(r, _)| *r).collect();
        due.sort_unstable();
        due.into_iter().filter_map(|r| self.pending.remove(&r).map(|p| (r, p.purpose))).collect()
    }

    /// Removes everything (connection gone), oldest rid first.
    pub fn clear(&mut self) -> Vec<(RequestId, Purpose)> {
        let mut all: Vec<_> = self.pending.drain().map(|(r, p)| (r, p.purpose)).collect();
        all.sort_unstable_by_key(|(r, _)| *r);
        self.pending.shrink_to_fit();
        all
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn replies_match_by_rid_once_and_deadlines_expire_in_rid_order() {
        let t0 = Instant::now();
        let mut r = Requests::default();
        let a = r.next_rid();
        let b = r.next_rid();
        let c = r.next_rid();
        assert_eq!((a, b, c), (1, 2, 3));
        r.insert(a, Purpose::Lookup, t0 + Duration::from_secs(5));
        r.insert(b, Purpose::Groups, t0 + Duration::from_secs(1));
        r.insert(c, Purpose::Import, t0 + Duration::from_secs(2));
        assert_eq!(r.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(r.take(a), Some(Purpose::Lookup));
        assert_eq!(r.take(a), None, "a reply is matched once");
        assert_eq!(r.expire(t0 + Duration::from_secs(3)), vec![(b, Purpose::Groups), (c, Purpose::Import)]);
        assert!(r.is_empty());
    }
}
