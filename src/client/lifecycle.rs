//! Connection lifecycle of the [`Machine`]: the login handshake (SPEC §6), the post-login
//! sequence and sign-on (SPEC §6.6, §24), server errors (SPEC §16), and how a connection ends:
//! a reconnect, a terminal `LoginFailed`, or a `Disconnected`.

use std::time::Instant;

use crate::protocol::kinds::{ClientMessage, Login2};
use crate::protocol::persist::DataItem;
use crate::protocol::{login, DictBuilder};

use super::error::{Error, Result};
use super::events::{progress, DisconnectReason, Event, LoginFailure};
use super::machine::{Deferred, IoAction, Machine, Phase};
use super::names::is_numeric;
use super::reconnect::QueuedIm;
use super::requests::Purpose;

/// `login2` algorithm number (SPEC §6.4).
const LOGIN_ALGORITHM: u32 = 196_610;

/// Why a connection ended (internal; mapped to [`LoginFailure`] / [`DisconnectReason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Requested,
    ServerClosed,
    Network,
    Timeout,
    Protocol,
    ServerError,
    LoggedInElsewhere,
    BadPassword,
    UnknownAccount,
    SessionExpired,
    ClientTooOld,
}

impl Cause {
    /// May a reconnect fix this? Not for credentials, a kick by another login, or a request.
    fn retryable(self) -> bool {
        matches!(
            self,
            Cause::ServerClosed
                | Cause::Network
                | Cause::Timeout
                | Cause::Protocol
                | Cause::ServerError
                | Cause::SessionExpired
        )
    }

    fn login_failure(self) -> LoginFailure {
        match self {
            Cause::BadPassword => LoginFailure::BadPassword,
            Cause::UnknownAccount => LoginFailure::UnknownAccount,
            Cause::LoggedInElsewhere => LoginFailure::LoggedInElsewhere,
            Cause::Timeout => LoginFailure::Timeout,
            Cause::Protocol => LoginFailure::Protocol,
            Cause::ServerError | Cause::SessionExpired => LoginFailure::Server,
            Cause::ClientTooOld => LoginFailure::ClientTooOld,
            Cause::Requested | Cause::ServerClosed | Cause::Network => LoginFailure::Network,
        }
    }

    fn disconnect_reason(self) -> DisconnectReason {
        match self {
            Cause::Requested => DisconnectReason::Requested,
            Cause::ServerClosed => DisconnectReason::ServerClosed,
            Cause::Network => DisconnectReason::Network,
            Cause::Timeout => DisconnectReason::Timeout,
            Cause::Protocol => DisconnectReason::Protocol,
            Cause::LoggedInElsewhere => DisconnectReason::LoggedInElsewhere,
            Cause::SessionExpired => DisconnectReason::SessionExpired,
            Cause::ServerError | Cause::BadPassword | Cause::UnknownAccount | Cause::ClientTooOld => {
                DisconnectReason::ServerError
            }
        }
    }
}

impl Machine {
    pub(crate) fn on_challenge(&mut self, nonce: &[u8; login::NONCE_LEN], now: Instant) {
        if self.phase != Phase::AwaitingChallenge {
            self.emit(Event::Error { error: Error::Protocol("unexpected login challenge ignored".into()) });
            return;
        }
        let Some(account) = &self.account else { return };
        // Empty IP list, as Pidgin sends (SPEC §6.3, §24).
        let response = login::compute_response_from_hash(nonce, &account.email, &account.hash, &[]);
        let email = account.email.clone();
        let msg = ClientMessage::Login2(Login2 {
            algorithm: LOGIN_ALGORITHM,
            username: email,
            response,
            clientver: self.cfg.client_version,
            // SPEC §24: langid/imlang as Pidgin sends them.
            langid: Some(1033),
            imlang: Some("ENGLISH".into()),
            reconn: 0,
            status: 100,
        });
        if let Err(e) = self.send(msg) {
            self.end_connection(Cause::Protocol, 0, format!("cannot encode login: {e}"), now);
            return;
        }
        self.phase = Phase::LoggingIn;
        self.phase_deadline = Some(now + self.cfg.login_timeout);
        self.emit(Event::Progress { step: progress::LOGGING_IN, total: progress::TOTAL, text: "Logging in".into() });
    }

    /// `lc=2`; `signed`: the key came as a negative decimal (SPEC §6.5).
    pub(crate) fn on_login_ok(&mut self, sesskey: u32, signed: bool, uid: u32, uniquenick: String, now: Instant) {
        if self.phase != Phase::LoggingIn {
            self.emit(Event::Error { error: Error::Protocol("unexpected login reply ignored".into()) });
            return;
        }
        if uid == 0 {
            // SPEC §7.3: uid 0 only marks server-originated data; no account has it.
            return self.end_connection(Cause::Protocol, 0, "bad login reply: userid 0".into(), now);
        }
        self.sesskey = sesskey;
        self.sesskey_signed = signed;
        self.uid = uid;
        // SPEC §6.5: uniquenick equal to the uid means no username has been chosen.
        self.username = (!is_numeric(&uniquenick) && !uniquenick.is_empty()).then_some(uniquenick);
        if let Some(name) = self.username.clone() {
            self.names.remember(uid, &name);
        }
        if self.username.is_none() && self.cfg.choose_username {
            self.phase = Phase::ChoosingUsername;
            self.phase_deadline = None;
            self.emit(Event::UsernameRequired { uid });
        } else {
            self.post_login(now);
        }
    }

    /// SPEC §6.6: own info, IM settings, status, mail, contact list; sign-on waits for the list.
    pub(crate) fn post_login(&mut self, now: Instant) {
        self.phase = Phase::SigningOn;
        self.phase_deadline = Some(now + self.cfg.contact_list_timeout);
        self.list_fallback_warned = false;
        self.emit(Event::Progress {
            step: progress::CONTACT_LIST,
            total: progress::TOTAL,
            text: "Loading the contact list".into(),
        });
        let own = DictBuilder::new().int("UserID", u64::from(self.uid));
        let _ = self.persist(1, DataItem::OwnMySpaceInfo, true, own, Some(Purpose::OwnInfo), now);
        let _ = self.persist(1, DataItem::OwnImInfo, true, DictBuilder::new(), Some(Purpose::ImInfo), now);
        let _ = self.send_status();
        if self.cfg.mail_check_interval.is_some() {
            let _ = self.persist(1, DataItem::CheckMail, true, DictBuilder::new(), Some(Purpose::MailCheck), now);
        }
        let _ = self.persist(
            1,
            DataItem::ListAllContacts,
            true,
            DictBuilder::new(),
            Some(Purpose::ContactList { import: false }),
            now,
        );
    }

    /// `m` with its `sesskey` in the form the server sent it (SPEC §6.5): a server that printed
    /// the key as a signed 32-bit number reads it back that way, so it gets the negative decimal
    /// back (Pidgin echoes every key ≥ 2^31 so); one that sent it unsigned gets it unsigned.
    pub(crate) fn sesskey_as_received(&self, m: crate::protocol::Message) -> crate::protocol::Message {
        if !self.sesskey_signed || !m.has("sesskey") {
            return m;
        }
        let signed = (self.sesskey as i32).to_string();
        let mut b = crate::protocol::message::MessageBuilder::new();
        for (k, v) in m.iter() {
            let key = std::str::from_utf8(k).unwrap_or_default();
            b = if k == b"sesskey" { b.raw(key, signed.as_bytes()) } else { b.raw(key, v) };
        }
        // Rebuilding fields that were valid once cannot fail; keep the original if it somehow does.
        b.finish().unwrap_or(m)
    }

    pub(crate) fn send_status(&mut self) -> Result<()> {
        let msg = ClientMessage::Status {
            sesskey: self.sesskey,
            code: self.status.code(),
            statstring: self.status_text.clone(),
            locstring: String::new(),
        };
        self.send(msg)
    }

    /// The contact list arrived (or its wait timed out): signed on; queued IMs go out.
    pub(crate) fn sign_on(&mut self, now: Instant) {
        self.phase = Phase::SignedOn;
        self.phase_deadline = None;
        self.signed_on_once = true;
        self.reconnect_attempt = 0;
        self.next_mail_check = self.cfg.mail_check_interval.map(|i| now + i);
        self.emit(Event::SignedOn { uid: self.uid, username: self.username.clone() });
        self.release_held_at_sign_on(now);
        for im in self.outbox.take_all() {
            let op = Deferred::Im { id: im.id, markup: im.markup };
            if let Err(e) = self.with_target(&im.who, op, now) {
                self.emit(Event::ImFailed { id: im.id, error: e });
            }
        }
    }

    pub(crate) fn on_error(&mut self, code: u32, fatal: bool, text: String, now: Instant) {
        // SPEC §16.2, §25.
        let cause = match code {
            260 => Some(Cause::BadPassword),
            259 if !self.phase.logged_in() => Some(Cause::UnknownAccount),
            6 => Some(Cause::LoggedInElsewhere),
            // Digsby ends the session on both, fatal flag or not: nothing sent with this key
            // will be accepted any more.
            2 | 3 => Some(Cause::SessionExpired),
            267 => Some(Cause::ClientTooOld),
            270 if self.phase == Phase::SigningOn => {
                // The contact list will not come: sign on now, with the usual fallback warning.
                self.emit(Event::Error { error: Error::Server { code, text } });
                return self.sign_on(now);
            }
            _ if fatal => Some(Cause::ServerError),
            _ => None,
        };
        match cause {
            Some(c) => self.end_connection(c, code, text, now),
            None => self.emit(Event::Error { error: Error::Server { code, text } }),
        }
    }

    /// Ends the current connection (or connect attempt) and decides what follows: a reconnect, a
    /// terminal `LoginFailed`, or a `Disconnected`.
    pub(crate) fn end_connection(&mut self, cause: Cause, code: u32, text: String, now: Instant) {
        let was_signed_on = self.phase == Phase::SignedOn;
        if self.phase.has_connection() || self.phase == Phase::Connecting {
            self.io.push_back(IoAction::Close);
        }
        self.sesskey = 0;
        self.sesskey_signed = false;
        self.phase_deadline = None;
        self.next_mail_check = None;
        self.reset_framing();
        let retry_delay = if cause.retryable() && self.signed_on_once {
            self.cfg.reconnect.delay(self.reconnect_attempt + 1)
        } else {
            None
        };
        let retrying = retry_delay.is_some();
        self.phase = if retrying { Phase::WaitingToReconnect } else { Phase::Idle };
        // Outstanding requests die with the connection; IMs waiting on a lookup go back to the
        // outbox when a reconnect will follow.
        let err = match cause {
            Cause::Requested => Error::Closed,
            _ => Error::Network(text.clone()),
        };
        self.pieces.clear();
        for (rid, purpose) in self.requests.clear() {
            self.fail_request(rid, purpose, err.clone(), retrying, now);
        }
        self.info_pending.clear();
        self.held_connection_ended(retrying);
        if !retrying {
            for im in self.outbox.take_all() {
                self.emit(Event::ImFailed { id: im.id, error: err.clone() });
            }
        }
        if let Some(delay) = retry_delay {
            self.reconnect_attempt += 1;
            self.reconnect_at = Some(now + delay);
            if was_signed_on {
                self.emit(Event::Disconnected { reason: cause.disconnect_reason(), code, text, reconnecting: true });
            }
            let secs = delay.as_secs_f32();
            self.emit(Event::Progress {
                step: progress::CONNECTING,
                total: progress::TOTAL,
                text: format!("Reconnecting in {secs:.1} s"),
            });
        } else if was_signed_on || cause == Cause::Requested {
            self.emit(Event::Disconnected { reason: cause.disconnect_reason(), code, text, reconnecting: false });
        } else if self.signed_on_once && cause.retryable() {
            // A reconnect attempt failed and the policy gives up.
            self.emit(Event::Disconnected {
                reason: DisconnectReason::ReconnectFailed,
                code,
                text,
                reconnecting: false,
            });
        } else {
            self.emit(Event::LoginFailed { reason: cause.login_failure(), code, text });
        }
        if !retrying {
            self.account = None;
            self.reconnect_attempt = 0;
            self.reconnect_at = None;
        }
    }

    /// Moves an IM waiting on a lookup back to the outbox (reconnecting) or fails it.
    pub(crate) fn requeue_or_fail(&mut self, who: &str, op: Deferred, err: &Error, retrying: bool) {
        if let Deferred::Im { id, markup, .. } = op {
            let back = QueuedIm { id, who: who.to_owned(), markup };
            if !(retrying && self.outbox.push(back)) {
                self.emit(Event::ImFailed { id, error: err.clone() });
            }
        }
    }
}
