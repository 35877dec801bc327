//! A cache of "has `owner` blocked `other`?" answers, because every routed IM asks it and the
//! SQL (four EXISTS subqueries) cost about as much as the rest of routing together.
//!
//! Invalidation cannot miss a write: an answer is kept together with the database's *version*,
//! `sqlite3_total_changes` (every row this connection inserted, updated or deleted) and
//! `PRAGMA data_version` (changes committed by other connections, e.g. `msim-server account`
//! run against the same file). Any write anywhere changes the version and empties the cache, so
//! it only pays off between writes — which is where a busy chat spends its time. Both values are
//! read under the connection's lock, so no write can slip between the check and the answer.
//!
//! A private database (`:memory:`, the embedded default) has no other connection, so only its own
//! counter is read: the `PRAGMA` is a statement with a read transaction — about 2 µs, the largest
//! single cost of routing an IM (E2E latency 1.22–1.30× → 1.18–1.20× the relay).

use std::collections::HashMap;

use rusqlite::Connection;

/// At most this many answers are kept (16 bytes each); on overflow the cache starts over.
pub const MAX_ENTRIES: usize = 65_536;

#[derive(Default)]
pub struct BlockCache {
    version: Option<(i32, i64)>,
    answers: HashMap<(u32, u32), bool>,
    /// No other connection can write this database (see the module docs).
    private: bool,
}

impl BlockCache {
    /// A cache for the database opened from `path`: `:memory:` and `""` (a temporary file) are
    /// private to their connection; anything else may be shared.
    pub fn for_path(path: &str) -> BlockCache {
        BlockCache { private: path.is_empty() || path == ":memory:", ..BlockCache::default() }
    }

    /// The cached answer for (owner, other), after dropping everything if the database changed.
    pub fn get(&mut self, conn: &Connection, owner: u32, other: u32) -> rusqlite::Result<Option<bool>> {
        let version = version(conn, self.private)?;
        if self.version != Some(version) {
            self.answers.clear();
            self.version = Some(version);
        }
        Ok(self.answers.get(&(owner, other)).copied())
    }

    /// Remembers an answer computed at the version the last `get` saw.
    pub fn put(&mut self, owner: u32, other: u32, blocked: bool) {
        if self.answers.len() >= MAX_ENTRIES {
            self.answers.clear();
        }
        self.answers.insert((owner, other), blocked);
    }
}

fn version(conn: &Connection, private: bool) -> rusqlite::Result<(i32, i64)> {
    // SAFETY: the handle is valid while `conn` is borrowed; the call only reads a counter.
    let own = unsafe { rusqlite::ffi::sqlite3_total_changes(conn.handle()) };
    if private {
        return Ok((own, 0));
    }
    let others: i64 = conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
    Ok((own, others))
}
