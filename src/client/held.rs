//! Events from users held back until they can be delivered well: until the sign-on is complete,
//! and while the client looks up the username of a sender it does not know (SPEC §9.1, §24
//! "held while the client looks the uid up").
//!
//! Why: offline IMs arrive right after login, before the contact list names anyone. Delivered at
//! once they carry the uid alone (Pidgin and Finch open a conversation named "100001" beside the
//! buddy's own) and reach the host before `SignedOn` (BitlBee files them in its control channel).
//!
//! The rules, for the events that come from a user (IM, typing, zap, presence, buddy notice; group
//! chat counts as its actor's):
//! - until `SignedOn` is emitted every such event is held;
//! - an event from a uid whose username is unknown starts one by-id lookup (4/3) for that uid (at
//!   most one per sender: later events join the wait) and is held until a reply names the uid (the
//!   lookup's, the contact list's, any other) or the lookup fails or [`Config::name_lookup_timeout`]
//!   passes; then it is delivered with the username, or with the uid alone. A sender whose lookup
//!   failed is not held or looked up again on this connection. Presence and notices from unknown
//!   uids before sign-on start no lookup of their own: the contact list, which names contacts,
//!   comes first, and only the senders it leaves unnamed are looked up at sign-on;
//! - one sender's events are never reordered: while a sender has held events, its later events
//!   queue behind them;
//! - bounded per session: past [`MAX_HELD_EVENTS`] events or [`MAX_HELD_BYTES`] the oldest held
//!   events are delivered at once (with the name if known, even before `SignedOn`), never dropped;
//! - when the connection ends for good, whatever is held is delivered before the terminal event
//!   (the server has already deleted the offline IMs); across a reconnect it waits for the next
//!   `SignedOn`.
//!
//! So every event is delivered exactly once. This module must never send anything but lookups.
//!
//! [`Config::name_lookup_timeout`]: super::config::Config::name_lookup_timeout

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::events::Event;
use super::machine::{Machine, Phase};

/// Cap on held events per session: a full offline box (msim-server keeps 500 per recipient) plus
/// the presence of MaxContacts=1000 online contacts (SPEC §8) sent before the contact list.
pub const MAX_HELD_EVENTS: usize = 2048;

/// Cap on the bytes of held events per session (their texts plus the size of the event itself):
/// 500 offline IMs of 1 KiB fit; a server that sends more big IMs before the sign-on gets the
/// oldest delivered early rather than unbounded memory.
pub const MAX_HELD_BYTES: usize = 1024 * 1024;

/// Cap on remembered senders whose lookup failed; past it the set starts again (such a sender
/// is then looked up once more).
const MAX_UNNAMED: usize = 4096;

/// What is held, and for whom; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// Held events in arrival order, each with its sender's uid.
    queue: VecDeque<(u32, Event)>,
    /// [`cost`] of everything in `queue`.
    bytes: usize,
    /// Senders whose username is being looked up → when to give up on it (`None`: the lookup
    /// starts at sign-on, if the contact list does not name them).
    waiting: HashMap<u32, Option<Instant>>,
    /// Senders whose lookup failed, timed out or could not be sent, on this connection.
    unnamed: HashSet<u32>,
}

impl Held {
    /// The earliest lookup wait that ends.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().flatten().min().copied()
    }

    /// Held events and their bytes.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.queue.len(), self.bytes)
    }

    fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.waiting.is_empty()
    }

    fn mark_unnamed(&mut self, uid: u32) {
        if self.unnamed.len() >= MAX_UNNAMED {
            self.unnamed.clear();
        }
        self.unnamed.insert(uid);
    }
}

/// What a held event counts against [`MAX_HELD_BYTES`]: its texts and the queue slot.
fn cost(ev: &Event) -> usize {
    let text = match ev {
        Event::ImReceived { html, plain, .. } | Event::GroupChat { html, plain, .. } => html.len() + plain.len(),
        Event::BuddyStatus { headline, caps, .. } => headline.len() + caps.as_ref().map_or(0, String::len),
        Event::BuddyNotice { text, .. } => text.len(),
        _ => 0,
    };
    std::mem::size_of::<(u32, Event)>() + text
}

/// Fills in the sender's username, unless the event already has one.
fn with_name(mut ev: Event, name: Option<String>) -> Event {
    match &mut ev {
        Event::ImReceived { username, .. }
        | Event::Typing { username, .. }
        | Event::Zap { username, .. }
        | Event::BuddyStatus { username, .. }
        | Event::BuddyNotice { username, .. }
        | Event::GroupChat { username, .. }
            if username.is_none() =>
        {
            *username = name;
        }
        _ => {}
    }
    ev
}

impl Machine {
    /// An event from user `uid` (its username left `None`: it is filled in on delivery).
    pub(crate) fn user_event(&mut self, uid: u32, ev: Event, now: Instant) {
        let h = &self.held;
        if uid != 0 && !self.names.knows(uid) && !h.waiting.contains_key(&uid) && !h.unnamed.contains(&uid) {
            let presence_like = matches!(ev, Event::BuddyStatus { .. } | Event::BuddyNotice { .. });
            if self.phase == Phase::SignedOn || !presence_like {
                self.look_up_sender(uid, now);
            } else {
                self.held.waiting.insert(uid, None);
            }
        }
        if self.phase == Phase::SignedOn && !self.held.waiting.contains_key(&uid) {
            self.deliver(uid, ev);
        } else {
            self.hold(uid, ev);
        }
    }

    /// One by-id lookup for a sender (shared with any already in flight for that uid).
    fn look_up_sender(&mut self, uid: u32, now: Instant) {
        self.request_info(uid, now);
        if self.info_pending.contains(&uid) {
            self.held.waiting.insert(uid, Some(now + self.cfg.name_lookup_timeout));
        } else {
            // Not sent (request table full): waiting would only delay the event.
            self.held.mark_unnamed(uid);
        }
    }

    fn deliver(&mut self, uid: u32, ev: Event) {
        let name = self.names.username(uid);
        self.emit(with_name(ev, name));
    }

    fn hold(&mut self, uid: u32, ev: Event) {
        let c = cost(&ev);
        while self.held.queue.len() >= MAX_HELD_EVENTS || self.held.bytes + c > MAX_HELD_BYTES {
            let Some((u, e)) = self.held.queue.pop_front() else { break };
            self.held.bytes -= cost(&e);
            self.deliver(u, e);
        }
        if c > MAX_HELD_BYTES {
            // Alone over the cap; nothing is held any more, so nothing is overtaken.
            return self.deliver(uid, ev);
        }
        self.held.bytes += c;
        self.held.queue.push_back((uid, ev));
    }

    /// Delivers, in arrival order, the held events whose sender no longer waits: those named
    /// since (by any reply) and those whose wait ended. Nothing before `SignedOn`.
    pub(crate) fn release_held(&mut self) {
        if self.held.is_idle() {
            return;
        }
        let names = &self.names;
        self.held.waiting.retain(|uid, _| !names.knows(*uid));
        if self.phase != Phase::SignedOn {
            return;
        }
        let queue = std::mem::take(&mut self.held.queue);
        for (uid, ev) in queue {
            if self.held.waiting.contains_key(&uid) {
                self.held.queue.push_back((uid, ev));
            } else {
                self.held.bytes -= cost(&ev);
                self.deliver(uid, ev);
            }
        }
        if self.held.queue.is_empty() {
            self.held.queue.shrink_to(16);
        }
    }

    /// The by-id lookup of `uid` got its answer (naming the user or not) or failed.
    pub(crate) fn sender_looked_up(&mut self, uid: u32) {
        if self.held.waiting.remove(&uid).is_some() && !self.names.knows(uid) {
            self.held.mark_unnamed(uid);
        }
        self.release_held();
    }

    /// Timer: lookups that took longer than the configured wait give up (the uid alone it is).
    pub(crate) fn expire_held(&mut self, now: Instant) {
        let mut due: Vec<u32> =
            self.held.waiting.iter().filter(|(_, d)| d.is_some_and(|d| d <= now)).map(|(u, _)| *u).collect();
        if due.is_empty() {
            return;
        }
        due.sort_unstable();
        for uid in due {
            self.held.waiting.remove(&uid);
            self.held.mark_unnamed(uid);
        }
        self.release_held();
    }

    /// Just after `SignedOn`: senders the contact list left unnamed are looked up now, the rest
    /// is delivered.
    pub(crate) fn release_held_at_sign_on(&mut self, now: Instant) {
        let mut deferred: Vec<u32> = self.held.waiting.iter().filter(|(_, d)| d.is_none()).map(|(u, _)| *u).collect();
        deferred.sort_unstable();
        for uid in deferred {
            self.held.waiting.remove(&uid);
            if !self.names.knows(uid) {
                self.look_up_sender(uid, now);
            }
        }
        self.release_held();
    }

    /// The connection ended and its lookups with it. Reconnecting: held events wait for the next
    /// `SignedOn`. Otherwise they are delivered now, before the terminal event.
    pub(crate) fn held_connection_ended(&mut self, reconnecting: bool) {
        self.held.waiting.clear();
        self.held.unnamed.clear();
        if !reconnecting {
            for (uid, ev) in std::mem::take(&mut self.held.queue) {
                self.deliver(uid, ev);
            }
            self.held.bytes = 0;
        }
    }
}
