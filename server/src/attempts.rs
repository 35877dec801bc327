//! Limits on failed logins, per source address and per account, and the periodic summary that
//! replaces a log line per attempt (issue "Hostile peers, round two", online password guessing;
//! issue "Every MSIM client…", login attempt limits; SPEC §25: the official server blocked an
//! address after roughly 70 attempts).
//!
//! The rule slows guessing down and never locks an account:
//! * Each address has `free_failures` failed logins; after that, one more attempt is allowed only
//!   once a backoff has passed since its last failure (`backoff_base`, doubling per further
//!   failure, at most `backoff_max`). Attempts refused this way are not checked and do not count
//!   as failures, so a client's reconnect loop does not extend its own wait.
//! * Each account (keyed by the e-mail as typed, lower-cased, whether or not it exists: the limits
//!   must not tell which e-mails have accounts) has the same budget over all addresses. Past it,
//!   the account's backoff applies only to addresses that have themselves failed on that account:
//!   the owner typing the right password from a clean address always gets in, while a distributed
//!   guesser gets one guess per new address and then waits like everyone else.
//! * Failures are forgotten `forget_after` after the last one. A user who mistyped a few times is
//!   never held up.
//!
//! Memory is bounded: each table holds at most [`MAX_TRACKED`] keys; when one is full, forgotten
//! entries are dropped first, then the whole table (logged), failing open rather than growing.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys per table (addresses, accounts, address-account pairs): a few MiB at most.
pub const MAX_TRACKED: usize = 65_536;

/// Settings of the login attempt limits (`Config::login_limits`, CLI `--login-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed logins an address may have before it is slowed down; 0 = no per-address limit.
    pub per_address_free: u32,
    /// Failed logins an account may have (from all addresses) before addresses that failed on it
    /// are slowed down; 0 = no per-account limit.
    pub per_account_free: u32,
    /// Wait after the first failure past the free ones; doubles with each further failure.
    pub backoff_base: Duration,
    /// Longest wait.
    pub backoff_max: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget_after: Duration,
    /// How often the log summarises failed and refused logins (one line, only when there were
    /// any); 0 = a line per failed login instead.
    pub summary_interval: Duration,
}

impl Default for LoginLimits {
    fn default() -> LoginLimits {
        LoginLimits {
            // Ten mistakes in a row are far more than a user makes; after them, guessing from one
            // address runs at about a dozen attempts an hour (5 min apart).
            per_address_free: 10,
            per_account_free: 10,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            forget_after: Duration::from_secs(15 * 60),
            summary_interval: Duration::from_secs(60),
        }
    }
}

/// Why an attempt is refused without being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// How long until an attempt may be made again.
    pub wait: Duration,
    /// "address" or "account": whose failures caused it.
    pub by: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

impl Record {
    /// When the next attempt may be made, given `free` failures without a wait.
    fn next_allowed(&self, free: u32, l: &LoginLimits) -> Option<Instant> {
        if free == 0 || self.failures < free {
            return None;
        }
        let doublings = (self.failures - free).min(30);
        let wait = l.backoff_base.saturating_mul(1 << doublings).min(l.backoff_max);
        Some(self.last + wait)
    }
}

/// What happened since the last summary.
#[derive(Debug, Default)]
struct Summary {
    bad_password: u64,
    unknown_email: u64,
    refused: u64,
    full: u64,
    prelogin_cap: u64,
    addresses: HashSet<IpAddr>,
    /// (address, kind) already logged on its own line in this period.
    logged: HashSet<(IpAddr, &'static str)>,
}

#[derive(Default)]
struct Tables {
    by_address: HashMap<IpAddr, Record>,
    by_account: HashMap<String, Record>,
    /// Last failure of an address on an account.
    pair: HashMap<(String, IpAddr), Instant>,
    summary: Summary,
    summary_since: Option<Instant>,
}

/// The limiter and its log summary; one per server.
pub struct Attempts {
    limits: LoginLimits,
    tables: Mutex<Tables>,
    /// `Config::log`.
    log: bool,
}

/// Connections refused at accept, also counted in the summary.
pub const SERVER_FULL: &str = "server full (max_connections)";
pub const PRELOGIN_CAP: &str = "too many connections from one address not logged in";

/// The kinds of failure the summary counts.
pub const BAD_PASSWORD: &str = "bad password";
pub const UNKNOWN_EMAIL: &str = "unknown e-mail";
const REFUSED: &str = "refused by the attempt limits";

/// Makes room in a full table: forgotten entries first, then everything (true when it had to).
fn forget<K: Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    now: Instant,
    limits: &LoginLimits,
    last: impl Fn(&V) -> Instant,
) -> bool {
    if map.len() >= MAX_TRACKED {
        map.retain(|_, v| now.duration_since(last(v)) < limits.forget_after);
        if map.len() >= MAX_TRACKED {
            map.clear();
            return true;
        }
    }
    false
}

impl Attempts {
    pub fn new(limits: LoginLimits, log: bool) -> Attempts {
        Attempts { limits, tables: Mutex::new(Tables::default()), log }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May a login for `email` from `addr` be checked now? A refused attempt is counted for the
    /// summary.
    pub fn check(&self, addr: IpAddr, email: &str, now: Instant) -> Result<(), Refused> {
        let l = &self.limits;
        let account = email.to_lowercase();
        let mut t = self.lock();
        let fresh = |r: &Record| now.duration_since(r.last) < l.forget_after;
        let mut until: Option<(Instant, &'static str)> = None;
        if let Some(r) = t.by_address.get(&addr).filter(|r| fresh(r)) {
            until = r.next_allowed(l.per_address_free, l).map(|at| (at, "address"));
        }
        let failed_here =
            t.pair.get(&(account.clone(), addr)).is_some_and(|&at| now.duration_since(at) < l.forget_after);
        if failed_here {
            if let Some(at) =
                t.by_account.get(&account).filter(|r| fresh(r)).and_then(|r| r.next_allowed(l.per_account_free, l))
            {
                if until.is_none_or(|(u, _)| at > u) {
                    until = Some((at, "account"));
                }
            }
        }
        match until {
            Some((at, by)) if at > now => {
                t.summary.refused += 1;
                t.summary.addresses.insert(addr);
                Err(Refused { wait: at - now, by })
            }
            _ => Ok(()),
        }
    }

    /// Records a failed login (`kind`: [`BAD_PASSWORD`] or [`UNKNOWN_EMAIL`]). True when this
    /// failure should get a log line of its own: the first of its kind from its address in this
    /// summary period (or every one, without summaries).
    pub fn failed(&self, addr: IpAddr, email: &str, kind: &'static str, now: Instant) -> bool {
        let l = &self.limits;
        let account = email.to_lowercase();
        let mut guard = self.lock();
        let t = &mut *guard;
        let bump = |r: &mut Record| {
            if now.duration_since(r.last) >= l.forget_after {
                r.failures = 0;
            }
            r.failures = r.failures.saturating_add(1);
            r.last = now;
        };
        let mut cleared = forget(&mut t.by_address, now, l, |r| r.last);
        bump(t.by_address.entry(addr).or_insert(Record { failures: 0, last: now }));
        cleared |= forget(&mut t.by_account, now, l, |r| r.last);
        bump(t.by_account.entry(account.clone()).or_insert(Record { failures: 0, last: now }));
        cleared |= forget(&mut t.pair, now, l, |&at| at);
        t.pair.insert((account, addr), now);
        if cleared && self.log {
            crate::log(format_args!("login attempt limits: {MAX_TRACKED} keys tracked, starting over"));
        }
        if kind == UNKNOWN_EMAIL {
            t.summary.unknown_email += 1;
        } else {
            t.summary.bad_password += 1;
        }
        if t.summary.addresses.len() < MAX_TRACKED {
            t.summary.addresses.insert(addr);
        }
        l.summary_interval.is_zero() || t.summary.logged.insert((addr, kind))
    }

    /// Records a connection refused at accept (`why`: [`SERVER_FULL`] or [`PRELOGIN_CAP`]). True
    /// when it should be logged on its own line (the first per address and kind in a period).
    pub fn connection_refused(&self, addr: IpAddr, why: &'static str) -> bool {
        let mut t = self.lock();
        if why == SERVER_FULL {
            t.summary.full += 1;
        } else {
            t.summary.prelogin_cap += 1;
        }
        self.limits.summary_interval.is_zero() || t.summary.logged.insert((addr, why))
    }

    /// Records a successful login: the address is no longer one that failed on this account, and
    /// the account's failures are forgotten (the owner got in). The address's own failures stay:
    /// logging into one's own account must not reset a guesser's budget for others.
    pub fn succeeded(&self, addr: IpAddr, email: &str) {
        let account = email.to_lowercase();
        let mut t = self.lock();
        t.pair.remove(&(account.clone(), addr));
        t.by_account.remove(&account);
    }

    /// The summary line for the period that ended, if it is time (or `force`, at stop) and
    /// anything happened; starts the next period. Called by the timer thread (`keepalive.rs`).
    pub fn summary(&self, now: Instant, force: bool) -> Option<String> {
        let interval = self.limits.summary_interval;
        let mut t = self.lock();
        let since = *t.summary_since.get_or_insert(now);
        if interval.is_zero() || (!force && now.duration_since(since) < interval) {
            return None;
        }
        t.summary_since = Some(now);
        let s = std::mem::take(&mut t.summary);
        let secs = now.duration_since(since).as_secs();
        let mut lines = Vec::new();
        if s.bad_password + s.unknown_email + s.refused > 0 {
            lines.push(format!(
                "failed logins in the last {secs} s: {} {BAD_PASSWORD}, {} {UNKNOWN_EMAIL}, {} {REFUSED}, from {} address(es)",
                s.bad_password,
                s.unknown_email,
                s.refused,
                s.addresses.len()
            ));
        }
        if s.full + s.prelogin_cap > 0 {
            lines.push(format!(
                "connections refused in the last {secs} s: {} {SERVER_FULL}, {} {PRELOGIN_CAP}",
                s.full, s.prelogin_cap
            ));
        }
        (!lines.is_empty()).then(|| lines.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn limits() -> LoginLimits {
        LoginLimits {
            per_address_free: 3,
            per_account_free: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
            summary_interval: Duration::from_secs(10),
        }
    }

    #[test]
    fn an_address_gets_its_free_failures_then_a_doubling_wait_then_is_forgotten() {
        let a = Attempts::new(limits(), false);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(a.check(ip(1), "x@y", t0), Ok(()), "failure {i} is free");
            a.failed(ip(1), "x@y", BAD_PASSWORD, t0);
        }
        assert_eq!(a.check(ip(1), "x@y", t0), Err(Refused { wait: Duration::from_secs(1), by: "address" }));
        // Another account from the same address is refused too: the address is guessing.
        assert!(a.check(ip(1), "other@y", t0).is_err());
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(a.check(ip(1), "x@y", t1), Ok(()));
        a.failed(ip(1), "x@y", BAD_PASSWORD, t1);
        assert_eq!(a.check(ip(1), "x@y", t1).unwrap_err().wait, Duration::from_secs(2));
        // The wait stops growing at backoff_max.
        let mut t = t1;
        for _ in 0..10 {
            t += Duration::from_secs(8);
            a.failed(ip(1), "x@y", BAD_PASSWORD, t);
        }
        assert_eq!(a.check(ip(1), "x@y", t).unwrap_err().wait, Duration::from_secs(8));
        // Forgotten a minute after the last failure.
        assert_eq!(a.check(ip(1), "x@y", t + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn an_account_under_attack_slows_the_failing_addresses_but_never_a_clean_one() {
        let a = Attempts::new(limits(), false);
        let t0 = Instant::now();
        // Five addresses fail once each on alice: her free failures are used.
        for i in 1..=5 {
            a.failed(ip(i), "Alice@x", BAD_PASSWORD, t0);
        }
        // Each failing address now waits for alice (but not for other accounts) ...
        assert_eq!(a.check(ip(1), "alice@X", t0), Err(Refused { wait: Duration::from_secs(1), by: "account" }));
        assert_eq!(a.check(ip(1), "bob@x", t0), Ok(()));
        // ... while the owner, from an address that never failed on her account, gets in.
        assert_eq!(a.check(ip(9), "alice@x", t0), Ok(()));
        a.succeeded(ip(9), "alice@x");
        assert_eq!(a.check(ip(1), "alice@x", t0), Ok(()), "the owner's success ends the account's wait");
    }

    #[test]
    fn a_user_who_mistypes_twice_is_never_held_up() {
        let a = Attempts::new(LoginLimits::default(), false);
        let t0 = Instant::now();
        a.failed(ip(1), "me@x", BAD_PASSWORD, t0);
        a.failed(ip(1), "me@x", BAD_PASSWORD, t0);
        assert_eq!(a.check(ip(1), "me@x", t0), Ok(()));
    }

    #[test]
    fn the_log_gets_one_line_per_address_and_kind_then_a_summary() {
        let a = Attempts::new(limits(), false);
        let t0 = Instant::now();
        assert_eq!(a.summary(t0, false), None);
        let own_lines: usize = (0..100).map(|_| usize::from(a.failed(ip(1), "x@y", BAD_PASSWORD, t0))).sum();
        assert_eq!(own_lines, 1);
        assert!(a.failed(ip(1), "nobody@y", UNKNOWN_EMAIL, t0));
        assert!(a.check(ip(1), "x@y", t0).is_err());
        assert_eq!(a.summary(t0 + Duration::from_secs(5), false), None, "not yet");
        let line = a.summary(t0 + Duration::from_secs(10), false).unwrap();
        assert_eq!(
            line,
            "failed logins in the last 10 s: 100 bad password, 1 unknown e-mail, 1 refused by the attempt limits, from 1 address(es)"
        );
        assert_eq!(a.summary(t0 + Duration::from_secs(20), true), None, "nothing happened since");
        assert!(a.failed(ip(1), "x@y", BAD_PASSWORD, t0 + Duration::from_secs(21)), "a new period logs again");
    }
}
