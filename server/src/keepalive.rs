//! The timer thread: every `ka_interval`, `\ka\` to each logged-in session (SPEC §17; Pidgin
//! accepts and ignores it, msim clients count it as traffic for their dead-connection check), and
//! every `login_limits.summary_interval` the failed-login summary line (`attempts.rs`). Dead
//! sessions are detected by their own socket (`liveness.rs`), not here.

use std::sync::Arc;
use std::time::Instant;

use msim::protocol::kinds::ServerMessage;

use crate::log_if;
use crate::state::Shared;

pub fn run(shared: Arc<Shared>) {
    let ka = shared.config.ka_interval;
    let summary = shared.config.login_limits.summary_interval;
    let (lock, cv) = &shared.ka_wake;
    let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let start = Instant::now();
    let mut next_ka = (!ka.is_zero()).then(|| start + ka);
    let mut next_summary = (!summary.is_zero()).then(|| start + summary);
    shared.attempts.summary(start, false); // starts the first period
    loop {
        if shared.is_stopping() {
            break;
        }
        let next = [next_ka, next_summary].into_iter().flatten().min();
        guard = match next {
            // Disabled: just wait for stop.
            None => cv.wait(guard).unwrap_or_else(|p| p.into_inner()),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                cv.wait_timeout(guard, left).unwrap_or_else(|p| p.into_inner()).0
            }
        };
        if shared.is_stopping() {
            break;
        }
        let now = Instant::now();
        drop(guard);
        if next_ka.is_some_and(|at| now >= at) {
            next_ka = Some(now + ka);
            for conn in shared.all_conns() {
                if conn.login().is_some() {
                    conn.try_send(&ServerMessage::KeepAlive);
                }
            }
        }
        if next_summary.is_some_and(|at| now >= at) {
            next_summary = Some(now + summary);
            if let Some(line) = shared.attempts.summary(now, false) {
                log_if(&shared, format_args!("{line}"));
            }
        }
        guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    }
    drop(guard);
    // What the last period counted is not lost when the server stops.
    if let Some(line) = shared.attempts.summary(Instant::now(), true) {
        log_if(&shared, format_args!("{line}"));
    }
}
