//! msim — the MySpaceIM (MSIM) instant-messaging protocol.
//!
//! Layers, each depending only on the ones above it (see `../shared/STYLE.md`):
//! - [`protocol`]: sans-IO bytes ⇄ typed messages (framing, escaping, dictionaries, login crypto,
//!   markup, zaps, persist codes). No sockets, threads or globals.
//! - [`client`]: the blocking-IO session (socket, reader thread, login state machine, events).
//! - `ffi`: the C ABI declared in `include/msim.h`.

pub mod client;
pub mod ffi;
pub mod protocol;
