//! The sans-IO session state machine: login, sign-on, timers, connection ends and reconnects.
//!
//! Inputs: connection events from the IO layer ([`Machine::connected`], [`Machine::receive`],
//! [`Machine::connection_lost`]), host commands (`commands.rs`) and clock ticks
//! ([`Machine::tick`]), each with `now`. Outputs, drained by the IO layer: bytes to write
//! ([`Machine::poll_transmit`]), events for the host ([`Machine::poll_event`]), socket actions
//! ([`Machine::poll_io`]) and the next timer deadline ([`Machine::next_deadline`]).
//! It never touches a socket, a thread or the system clock (the wall clock for IM timestamps is
//! an injected function), so every behaviour is testable with scripted server messages.
//!
//! Phases: Idle → Connecting → AwaitingChallenge → LoggingIn → (ChoosingUsername) → SigningOn →
//! SignedOn → (WaitingToReconnect → Connecting …) → Idle.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Instant;

use zeroize::{Zeroize, Zeroizing};

use crate::protocol::kinds::{ClientMessage, ServerMessage};
use crate::protocol::persist::{DataItem, PersistRequest};
use crate::protocol::{DictBuilder, Framer, Message};

use super::config::Config;
use super::error::{Error, Result};
use super::events::{progress, Event, MessageId, OwnStatus, RequestId};
use super::held::Held;
use super::lifecycle::Cause;
use super::names::Names;
use super::reconnect::Outbox;
use super::requests::{Purpose, Requests};
use super::trace;
use super::transmit::TxQueue;

/// Frames above this size leave a big buffer behind in the framer; it is replaced once empty so
/// a session's idle memory stays small (scale target: ≤ 64 KiB per session).
const FRAMER_SHRINK_ABOVE: usize = 16 * 1024;

/// The account to log in with. `Debug` never prints the password, and it is wiped on drop; the
/// machine keeps only its hash (see `Account`).
#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl Drop for Credentials {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

/// What the machine keeps for logging in (again, on reconnect): the e-mail and the password's
/// SHA-1 (SPEC §6.3 h1), never the password itself. The hash is password-equivalent for MSIM
/// logins, so it is wiped when the session ends or the machine is dropped.
pub(crate) struct Account {
    pub(crate) email: String,
    pub(crate) hash: Zeroizing<[u8; 20]>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("email", &self.email).field("password", &trace::REDACTED).finish()
    }
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not connected and not trying to be.
    Idle,
    /// Waiting for the IO layer to open the TCP connection.
    Connecting,
    AwaitingChallenge,
    /// `login2` sent, waiting for `lc=2`.
    LoggingIn,
    /// Logged in without a username; the host must choose one (SPEC §6.7).
    ChoosingUsername,
    /// Post-login requests sent, waiting for the contact list (SPEC §6.6).
    SigningOn,
    SignedOn,
    /// Connection lost; the next attempt starts at a deadline.
    WaitingToReconnect,
}

impl Phase {
    /// A TCP connection is open (or being opened).
    pub fn has_connection(self) -> bool {
        matches!(
            self,
            Phase::AwaitingChallenge | Phase::LoggingIn | Phase::ChoosingUsername | Phase::SigningOn | Phase::SignedOn
        )
    }

    /// Logged in: a session key exists and requests can be sent.
    pub fn logged_in(self) -> bool {
        matches!(self, Phase::ChoosingUsername | Phase::SigningOn | Phase::SignedOn)
    }
}

/// What the IO layer must do with the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoAction {
    /// Resolve and connect, then call [`Machine::connected`] or [`Machine::connect_failed`] with
    /// this attempt number (answers for an older attempt are ignored).
    Connect { attempt: u64 },
    /// Close the current socket (after writing what is queued).
    Close,
}

/// An operation waiting for a name to resolve to a uid (SPEC §11.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Deferred {
    /// An IM; reported with `ImSent` once written or `ImFailed`.
    Im {
        id: MessageId,
        markup: String,
    },
    Typing(bool),
    Zap(crate::protocol::zap::Zap),
    Add {
        group: String,
    },
    Remove,
    Block,
    Unblock,
    ContactInfo {
        group: String,
        nickname: String,
    },
    /// `a+` (true) / `a-` (false) on the allow list (SPEC §18.4).
    Permit(bool),
    /// bm 122, "window opened" (SPEC §11.2).
    WindowOpened,
    /// bm 200 with this client description (SPEC §11.6).
    ClientVersion(String),
}

/// The session state machine; see the module docs.
pub struct Machine {
    pub(crate) cfg: Config,
    pub(crate) wall_clock: fn() -> u64,
    pub(crate) phase: Phase,
    pub(crate) account: Option<Account>,
    pub(crate) framer: Framer,
    /// The message frames are parsed into (its buffers are reused; shrunk with the framer).
    pub(crate) rx_msg: Message,
    pub(crate) largest_frame: usize,
    pub(crate) sesskey: u32,
    /// The server sent `sesskey` as a negative decimal (a signed 32-bit print, SPEC §6.5): it is
    /// echoed in that form.
    pub(crate) sesskey_signed: bool,
    pub(crate) uid: u32,
    pub(crate) username: Option<String>,
    pub(crate) status: OwnStatus,
    pub(crate) status_text: String,
    pub(crate) requests: Requests,
    /// Persist replies arriving in `mtf` pieces (SPEC §25).
    pub(crate) pieces: super::pieces::Pieces,
    pub(crate) names: Names,
    /// Name key → operations waiting for its lookup.
    pub(crate) resolving: HashMap<String, Vec<Deferred>>,
    /// Uids with a background info lookup in flight (avoids asking twice).
    pub(crate) info_pending: HashSet<u32>,
    /// Events from users held until sign-on or until their sender's name is known (`held.rs`).
    pub(crate) held: Held,
    /// The sign-on went ahead without the contact list, with a warning: that request's own
    /// timeout later says nothing more (one warning per cause).
    pub(crate) list_fallback_warned: bool,
    pub(crate) outbox: Outbox,
    pub(crate) next_msg_id: MessageId,
    /// `reqid` of the next bm 122 (SPEC §4.7).
    pub(crate) next_media_reqid: u64,
    /// Encoded messages for the socket, bounded in bytes with the outbox (see `transmit.rs`).
    pub(crate) tx: TxQueue,
    pub(crate) events: VecDeque<Event>,
    pub(crate) io: VecDeque<IoAction>,
    /// Login timeout or contact-list timeout, depending on the phase.
    pub(crate) phase_deadline: Option<Instant>,
    pub(crate) next_mail_check: Option<Instant>,
    pub(crate) mail_seen: u32,
    /// This connect() has signed on at least once: connection losses may reconnect.
    pub(crate) signed_on_once: bool,
    pub(crate) reconnect_attempt: u32,
    pub(crate) reconnect_at: Option<Instant>,
    /// The ports to try and the one that worked (SPEC §25).
    pub(crate) ports: super::ports::PortPlan,
    /// Number of the current connect attempt (see [`IoAction::Connect`]).
    pub(crate) attempt: u64,
    pub(crate) server_info: Vec<(String, String)>,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine").field("phase", &self.phase).field("uid", &self.uid).finish_non_exhaustive()
    }
}

fn system_wall_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Machine {
    pub fn new(cfg: Config, _now: Instant) -> Machine {
        Machine {
            framer: Framer::new(cfg.max_frame),
            rx_msg: Message::default(),
            status: cfg.initial_status,
            cfg,
            wall_clock: system_wall_clock,
            phase: Phase::Idle,
            account: None,
            largest_frame: 0,
            sesskey: 0,
            sesskey_signed: false,
            uid: 0,
            username: None,
            status_text: String::new(),
            requests: Requests::default(),
            pieces: Default::default(),
            names: Names::default(),
            resolving: HashMap::new(),
            info_pending: HashSet::new(),
            held: Held::default(),
            list_fallback_warned: false,
            outbox: Outbox::default(),
            next_msg_id: 1,
            next_media_reqid: 1,
            tx: TxQueue::default(),
            events: VecDeque::new(),
            io: VecDeque::new(),
            phase_deadline: None,
            next_mail_check: None,
            mail_seen: 0,
            signed_on_once: false,
            reconnect_attempt: 0,
            reconnect_at: None,
            ports: Default::default(),
            attempt: 0,
            server_info: Vec::new(),
        }
    }

    /// Replaces the clock used for IM timestamps (seconds since the Unix epoch); for tests.
    pub fn set_wall_clock(&mut self, f: fn() -> u64) {
        self.wall_clock = f;
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Own uid once logged in (0 before).
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Own username once logged in; `None` when the account has none yet.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    // ---- outputs ----

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn poll_io(&mut self) -> Option<IoAction> {
        self.io.pop_front()
    }

    /// Received bytes not yet part of a complete frame (≤ the frame cap, SPEC §24).
    pub fn buffered_bytes(&self) -> usize {
        self.framer.pending()
    }

    pub fn has_output(&self) -> bool {
        !self.tx.is_empty() || !self.events.is_empty() || !self.io.is_empty()
    }

    /// The earliest instant at which [`Machine::tick`] has something to do. (Whether the
    /// connection is alive is the IO layer's to watch, through TCP: SPEC §24 "silence from the
    /// server alone never closes a session".)
    pub fn next_deadline(&self) -> Option<Instant> {
        let mail = if self.phase == Phase::SignedOn { self.next_mail_check } else { None };
        let pieces = self.pieces.next_deadline();
        [self.phase_deadline, self.requests.next_deadline(), pieces, self.reconnect_at, self.held.next_deadline(), mail]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn emit(&mut self, e: Event) {
        self.events.push_back(e);
    }

    pub(crate) fn next_message_id(&mut self) -> MessageId {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        id
    }

    /// Sends a persist request; with a purpose, its reply is awaited until the request timeout.
    pub(crate) fn persist(
        &mut self,
        cmd: u32,
        item: DataItem,
        with_uid: bool,
        body: DictBuilder,
        purpose: Option<Purpose>,
        now: Instant,
    ) -> Result<RequestId> {
        if !self.phase.logged_in() {
            return Err(Error::NotSignedOn);
        }
        if purpose.is_some() && self.requests.is_full() {
            return Err(Error::QueueFull);
        }
        let rid = self.requests.next_rid();
        let uid = with_uid.then_some(self.uid);
        let req = PersistRequest::new(self.sesskey, cmd, item, uid, rid, &body)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.send(ClientMessage::Persist(req))?;
        if let Some(p) = purpose {
            self.requests.insert(rid, p, now + self.cfg.request_timeout);
        }
        Ok(rid)
    }

    // ---- connection lifecycle ----

    /// Begins a connect to `port` (with SPEC §25's fallbacks when it is 1863 and
    /// [`Config::alternate_ports`] is on): the IO layer gets [`IoAction::Connect`] and asks
    /// [`Machine::connect_port`] where to.
    pub fn start_at(&mut self, creds: Credentials, port: u16, now: Instant) -> Result<()> {
        let plan = super::ports::PortPlan::new(port, self.cfg.preferred_port, self.cfg.alternate_ports);
        self.start_with(creds, plan, now)
    }

    /// Begins a connect to whatever port the IO layer has (no fallbacks).
    pub fn start(&mut self, creds: Credentials, now: Instant) -> Result<()> {
        self.start_with(creds, super::ports::PortPlan::new(0, None, false), now)
    }

    /// The port the current connect attempt goes to (0: the IO layer's own).
    pub fn connect_port(&self) -> u16 {
        self.ports.current()
    }

    /// The port of the last connection that opened (to persist as
    /// [`Config::preferred_port`]).
    pub fn good_port(&self) -> Option<u16> {
        self.ports.good()
    }

    fn start_with(&mut self, creds: Credentials, plan: super::ports::PortPlan, now: Instant) -> Result<()> {
        if self.phase != Phase::Idle {
            return Err(Error::AlreadyConnected);
        }
        if creds.email.is_empty() {
            return Err(Error::InvalidArgument("empty e-mail".into()));
        }
        let hash = Zeroizing::new(crate::protocol::login::password_hash(&creds.password));
        self.account = Some(Account { email: creds.email.clone(), hash });
        self.signed_on_once = false;
        self.reconnect_attempt = 0;
        self.mail_seen = 0;
        self.ports = plan;
        self.begin_attempt(now);
        Ok(())
    }

    fn begin_attempt(&mut self, _now: Instant) {
        self.phase = Phase::Connecting;
        self.reconnect_at = None;
        self.phase_deadline = None;
        self.attempt += 1;
        self.ports.restart();
        self.io.push_back(IoAction::Connect { attempt: self.attempt });
        let text = if self.reconnect_attempt == 0 {
            "Connecting".to_owned()
        } else {
            format!("Reconnecting (attempt {})", self.reconnect_attempt)
        };
        self.emit(Event::Progress { step: progress::CONNECTING, total: progress::TOTAL, text });
    }

    /// The TCP connection of `attempt` is open.
    pub fn connected(&mut self, attempt: u64, now: Instant) {
        if self.phase != Phase::Connecting || attempt != self.attempt {
            return;
        }
        // Anything the IO layer did not take before the old connection closed belongs to it.
        let stale = self.drain_transmits();
        if !stale.is_empty() {
            self.untransmitted(stale);
        }
        self.ports.succeeded();
        self.phase = Phase::AwaitingChallenge;
        self.reset_framing();
        self.phase_deadline = Some(now + self.cfg.login_timeout);
        self.emit(Event::Progress {
            step: progress::CHALLENGE,
            total: progress::TOTAL,
            text: "Waiting for the login challenge".into(),
        });
    }

    /// Connecting for `attempt` failed: the next fallback port (SPEC §25) is tried, if any.
    pub fn connect_failed(&mut self, attempt: u64, error: &str, now: Instant) {
        if self.phase == Phase::Connecting && attempt == self.attempt {
            let failed = self.ports.current();
            if let Some(next) = self.ports.advance() {
                self.attempt += 1;
                self.io.push_back(IoAction::Connect { attempt: self.attempt });
                let text = format!("port {failed}: {error}; trying port {next}");
                self.emit(Event::Progress { step: progress::CONNECTING, total: progress::TOTAL, text });
                return;
            }
            self.end_connection(Cause::Network, 0, format!("could not connect: {error}"), now);
        }
    }

    /// The server's name did not resolve for `attempt`: no other port would help.
    pub fn resolve_failed(&mut self, attempt: u64, error: &str, now: Instant) {
        if self.phase == Phase::Connecting && attempt == self.attempt {
            self.end_connection(Cause::Network, 0, format!("could not connect: {error}"), now);
        }
    }

    /// The socket reported end of stream (`None`) or an error.
    pub fn connection_lost(&mut self, error: Option<&str>, now: Instant) {
        if !self.phase.has_connection() {
            return;
        }
        match error {
            None => self.end_connection(Cause::ServerClosed, 0, "the server closed the connection".into(), now),
            Some(e) => self.end_connection(Cause::Network, 0, format!("lost connection: {e}"), now),
        }
    }

    /// The server's TCP stack stopped acknowledging for the dead-connection limit (the socket
    /// reported `ETIMEDOUT`, SPEC §24): the connection is dead, reported as a timeout.
    pub fn connection_dead(&mut self, now: Instant) {
        if self.phase.has_connection() {
            let text = match self.cfg.dead_connection_timeout {
                Some(d) => format!("the server stopped responding (no TCP acknowledgement for {} s)", d.as_secs()),
                None => "the server stopped responding".to_owned(),
            };
            self.end_connection(Cause::Timeout, 0, text, now);
        }
    }

    /// Received bytes, any chunking.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        if !self.phase.has_connection() {
            return;
        }
        self.framer.push(data);
        loop {
            // Framed and parsed in one pass into the machine's own message, whose buffers are
            // reused frame after frame.
            let mut msg = std::mem::take(&mut self.rx_msg);
            let parsed = match self.framer.next_message(&mut msg) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.rx_msg = msg;
                    break;
                }
                Err(e) => {
                    self.end_connection(Cause::Protocol, 0, e.to_string(), now);
                    return;
                }
            };
            self.largest_frame = self.largest_frame.max(msg.as_bytes().len());
            match parsed {
                Ok(()) => self.handle_message(&msg, now),
                Err(e) => {
                    if self.cfg.trace {
                        self.emit(Event::Trace { dir: super::events::Direction::In, text: trace::raw(msg.as_bytes()) });
                    }
                    // SPEC §24: a malformed message is reported and skipped.
                    self.emit(Event::Error { error: Error::Protocol(format!("malformed message skipped: {e}")) });
                }
            }
            self.rx_msg = msg;
            if !self.phase.has_connection() {
                return;
            }
        }
        if self.framer.pending() == 0 && self.largest_frame > FRAMER_SHRINK_ABOVE {
            self.reset_framing();
        }
    }

    /// Fresh (empty, small) framing state: for a new connection, or to give back the buffers a
    /// big frame grew.
    pub(crate) fn reset_framing(&mut self) {
        self.framer = Framer::new(self.cfg.max_frame);
        self.rx_msg = Message::default();
        self.largest_frame = 0;
    }

    /// One parsed message (also the entry point for tests that script a server).
    pub fn handle_message(&mut self, msg: &Message, now: Instant) {
        if !self.phase.has_connection() {
            return;
        }
        if self.cfg.trace {
            self.emit(Event::Trace { dir: super::events::Direction::In, text: trace::redact(msg) });
        }
        match ServerMessage::decode(msg) {
            Ok(m) => self.dispatch(m, msg, now),
            Err(crate::protocol::kinds::DecodeError::BadChallenge(e)) if self.phase == Phase::AwaitingChallenge => {
                self.end_connection(Cause::Protocol, 0, format!("bad login challenge: {e}"), now);
            }
            // A login reply we cannot read fails the login now, not at the login timeout.
            Err(e) if self.phase == Phase::LoggingIn && msg.get_raw("lc") == Some(b"2") => {
                self.end_connection(Cause::Protocol, 0, format!("bad login reply: {e}"), now);
            }
            Err(e) => self.emit(Event::Error { error: Error::Protocol(format!("message skipped: {e}")) }),
        }
    }

    fn dispatch(&mut self, m: ServerMessage, raw: &Message, now: Instant) {
        match m {
            ServerMessage::Challenge { nonce } => self.on_challenge(&nonce, now),
            ServerMessage::LoginOk { sesskey, userid, uniquenick, .. } => {
                let signed = raw.get_raw("sesskey").is_some_and(|v| v.starts_with(b"-"));
                self.on_login_ok(sesskey, signed, userid, uniquenick, now)
            }
            ServerMessage::Error { code, fatal, text } => self.on_error(code, fatal, text, now),
            ServerMessage::Persist(reply) => self.on_persist_piece(reply, raw, now),
            ServerMessage::Bm(bm) => self.on_bm(bm, raw, now),
            ServerMessage::KeepAlive => {}
            ServerMessage::Unknown(m) => self.emit(Event::Unhandled { text: trace::redact(&m) }),
        }
    }

    /// Timers: login and contact-list waits, request timeouts, mail, reconnect.
    pub fn tick(&mut self, now: Instant) {
        if let Some(d) = self.phase_deadline.filter(|d| *d <= now) {
            let _ = d;
            match self.phase {
                Phase::AwaitingChallenge => {
                    return self.end_connection(Cause::Timeout, 0, "no login challenge from the server".into(), now)
                }
                Phase::LoggingIn => return self.end_connection(Cause::Timeout, 0, "no reply to the login".into(), now),
                Phase::SigningOn => {
                    let secs = self.cfg.contact_list_timeout.as_secs_f32();
                    let text = format!("the contact list did not arrive within {secs} s; signed on with an empty list");
                    self.emit(Event::Error { error: Error::Timeout(text) });
                    self.list_fallback_warned = true;
                    self.sign_on(now);
                }
                _ => self.phase_deadline = None,
            }
        }
        for (rid, purpose) in self.requests.expire(now) {
            self.pieces.forget(rid);
            let text = format!("no reply to the {}", purpose.describe());
            self.fail_request(rid, purpose, Error::Timeout(text), false, now);
        }
        for rid in self.pieces.expire(now) {
            let text = "the rest of a reply in pieces did not come (SPEC §25)".to_owned();
            self.reply_failed(rid, Error::Timeout(text), now);
        }
        self.expire_held(now);
        if self.phase == Phase::SignedOn {
            if let (Some(at), Some(every)) = (self.next_mail_check, self.cfg.mail_check_interval) {
                if at <= now {
                    self.next_mail_check = Some(now + every);
                    let _ =
                        self.persist(1, DataItem::CheckMail, true, DictBuilder::new(), Some(Purpose::MailCheck), now);
                }
            }
        }
        if self.phase == Phase::WaitingToReconnect && self.reconnect_at.is_some_and(|at| at <= now) {
            self.begin_attempt(now);
        }
    }

    /// Ends the session: `\logout\` when logged in (SPEC §24), then `Disconnected(Requested)`.
    pub fn disconnect(&mut self, now: Instant) -> Result<()> {
        if self.phase == Phase::Idle {
            return Err(Error::NotConnected);
        }
        if self.phase.logged_in() {
            let _ = self.send(ClientMessage::Logout { sesskey: self.sesskey });
        }
        self.end_connection(Cause::Requested, 0, "disconnected".into(), now);
        Ok(())
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
