//! State shared by every thread of one running server: configuration, database, the table of
//! connections and the table of logged-in sessions by uid.
//!
//! The uid table holds at most one connection per account (SPEC §24: a new login replaces the
//! older session). Locks here are held only for map operations, never across IO.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use crate::attempts::Attempts;
use crate::conn::Conn;
use crate::db::Db;
use crate::rules::MAX_ECHOED_INT;
use crate::Config;

/// First server-chosen rid for unsolicited persist replies; the capture's were 8-digit numbers
/// (SPEC §7.3), well away from the small client counters they must not collide with.
const FIRST_SERVER_RID: u32 = 10_000_000;

/// The `n`-th server-chosen rid (n counts from 0).
fn server_rid_at(n: u64) -> u32 {
    let span = u64::from(MAX_ECHOED_INT - FIRST_SERVER_RID) + 1;
    FIRST_SERVER_RID + (n % span) as u32
}

pub struct Shared {
    pub config: Config,
    pub db: Db,
    /// Failed-login limits and their log summary.
    pub attempts: Attempts,
    online: RwLock<HashMap<u32, Arc<Conn>>>,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_conn_id: AtomicU64,
    next_rid: AtomicU64,
    stopping: AtomicBool,
    live_sessions: Mutex<usize>,
    /// Connections not logged in yet, per source address (`Config::max_prelogin_per_address`).
    prelogin: Mutex<HashMap<IpAddr, usize>>,
    sessions_done: Condvar,
    /// Wakes the keepalive thread early when the server stops.
    pub ka_wake: (Mutex<()>, Condvar),
}

impl Shared {
    pub fn new(config: Config, db: Db) -> Shared {
        Shared {
            attempts: Attempts::new(config.login_limits, config.log),
            config,
            db,
            online: RwLock::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            next_conn_id: AtomicU64::new(1),
            next_rid: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            live_sessions: Mutex::new(0),
            prelogin: Mutex::new(HashMap::new()),
            sessions_done: Condvar::new(),
            ka_wake: (Mutex::new(()), Condvar::new()),
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A rid for a server-initiated persist reply (server info, web challenge): counts up from
    /// [`FIRST_SERVER_RID`] and starts over there before reaching 2^31 (SPEC §6.5: Pidgin echoes
    /// larger values as negative).
    pub fn server_rid(&self) -> u32 {
        server_rid_at(self.next_rid.fetch_add(1, Ordering::Relaxed))
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Tracks a new connection (for keepalive and stop) and counts its session.
    pub fn add_conn(&self, conn: Arc<Conn>) {
        *self.live_sessions.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(conn.id, conn);
    }

    /// Counts a new connection from `ip` as not logged in yet; false (nothing counted) when that
    /// address already has `max_prelogin_per_address` such connections. The slot is given back by
    /// [`Shared::release_prelogin_slot`] at login or when the connection ends.
    pub fn take_prelogin_slot(&self, ip: IpAddr) -> bool {
        let cap = self.config.max_prelogin_per_address;
        let mut map = self.prelogin.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if cap != 0 && *n >= cap {
            return false;
        }
        *n += 1;
        true
    }

    pub fn release_prelogin_slot(&self, ip: IpAddr) {
        let mut map = self.prelogin.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }

    /// Connections with a live session.
    pub fn conn_count(&self) -> usize {
        *self.live_sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a connection whose session is ending.
    pub fn remove_conn(&self, id: u64) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        let mut n = self.live_sessions.lock().unwrap_or_else(|p| p.into_inner());
        *n -= 1;
        if *n == 0 {
            self.sessions_done.notify_all();
        }
    }

    /// Waits until every session has finished, at most `limit`.
    pub fn wait_sessions_done(&self, limit: Duration) -> bool {
        let n = self.live_sessions.lock().unwrap_or_else(|p| p.into_inner());
        let (n, _) = self.sessions_done.wait_timeout_while(n, limit, |n| *n > 0).unwrap_or_else(|p| p.into_inner());
        *n == 0
    }

    pub fn all_conns(&self) -> Vec<Arc<Conn>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// The logged-in session of `uid`, if any.
    pub fn online(&self, uid: u32) -> Option<Arc<Conn>> {
        self.online.read().unwrap_or_else(|p| p.into_inner()).get(&uid).cloned()
    }

    /// The logged-in sessions among `uids`, under one lock of the table (presence fan-out).
    pub fn online_among(&self, uids: &[u32]) -> Vec<Arc<Conn>> {
        let map = self.online.read().unwrap_or_else(|p| p.into_inner());
        uids.iter().filter_map(|u| map.get(u).cloned()).collect()
    }

    pub fn online_count(&self) -> usize {
        self.online.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Makes `conn` the session of its uid; returns the older session it replaced.
    pub fn register(&self, uid: u32, conn: Arc<Conn>) -> Option<Arc<Conn>> {
        self.online.write().unwrap_or_else(|p| p.into_inner()).insert(uid, conn)
    }

    /// Removes `conn` from the uid table only if it is still the registered session (a replaced
    /// session must not unregister its successor). True when it was removed.
    pub fn unregister(&self, uid: u32, conn_id: u64) -> bool {
        let mut map = self.online.write().unwrap_or_else(|p| p.into_inner());
        if map.get(&uid).is_some_and(|c| c.id == conn_id) {
            map.remove(&uid);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_rids_stay_below_2_pow_31_and_start_over() {
        assert_eq!(server_rid_at(0), FIRST_SERVER_RID);
        let last = u64::from(MAX_ECHOED_INT - FIRST_SERVER_RID);
        assert_eq!(server_rid_at(last), MAX_ECHOED_INT);
        assert_eq!(server_rid_at(last + 1), FIRST_SERVER_RID);
        assert_eq!(server_rid_at(u64::MAX), server_rid_at(u64::MAX % (last + 1)));
    }
}
