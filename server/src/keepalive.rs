//! The keepalive sweep: every `ka_interval`, `\ka\` to each logged-in session (SPEC §17; Pidgin
//! accepts and ignores it, msim clients count it as traffic for their dead-connection check).
//! Dead sessions are detected by their own socket (`liveness.rs`), not here.

use std::sync::Arc;

use msim::protocol::kinds::ServerMessage;

use crate::state::Shared;

pub fn run(shared: Arc<Shared>) {
    let interval = shared.config.ka_interval;
    let (lock, cv) = &shared.ka_wake;
    let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if shared.is_stopping() {
            return;
        }
        if interval.is_zero() {
            // Disabled: just wait for stop.
            guard = cv.wait(guard).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        let (g, timeout) = cv.wait_timeout(guard, interval).unwrap_or_else(|p| p.into_inner());
        guard = g;
        if shared.is_stopping() {
            return;
        }
        if !timeout.timed_out() {
            continue;
        }
        drop(guard);
        for conn in shared.all_conns() {
            if conn.login().is_some() {
                conn.try_send(&ServerMessage::KeepAlive);
            }
        }
        guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    }
}
