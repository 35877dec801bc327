//! Blocking-IO session on top of [`crate::protocol`]: a socket, a reader thread, the login state
//! machine, request/reply matching, keepalive and events.
//!
//! - [`machine`]: the sans-IO state machine (all protocol decisions; testable without sockets).
//! - [`session`]: the IO wrapper (socket, IO thread, writer lock, timers) that drives it.
//! - [`events`], [`error`], [`config`]: what the host sees and sets.
//!
//! It must never know about C: the FFI layer adapts [`session::Session`] to callbacks.

pub mod commands;
pub mod config;
pub mod error;
pub mod events;
pub mod gate;
pub mod incoming;
pub mod lifecycle;
pub mod machine;
pub mod names;
pub mod reconnect;
pub mod requests;
pub mod session;
pub mod trace;

pub use config::{Config, DEFAULT_HOST, DEFAULT_PORT};
pub use error::Error;
pub use events::{Contact, DisconnectReason, Event, Group, LoginFailure, MessageId, OwnStatus, RequestId, UserInfo, UsernameOutcome};
pub use machine::{Credentials, IoAction, Machine, Phase};
pub use reconnect::ReconnectPolicy;
pub use session::Session;
