//! Blocking-IO session on top of [`crate::protocol`]: a socket, a reader thread, the login state
//! machine, request/reply matching, keepalive and events.
//!
//! - [`machine`]: the sans-IO state machine (all protocol decisions; testable without sockets).
//! - [`session`]: the IO wrapper (socket, IO thread, writer lock, timers) that drives it.
//! - [`events`], [`error`], [`config`]: what the host sees and sets.
//!
//! It must never know about C: the FFI layer adapts [`session::Session`] to callbacks.
//!
//! ```no_run
//! use msim::client::{Config, Credentials, Event, Session};
//!
//! let (tx, rx) = std::sync::mpsc::channel();
//! let session = Session::new(Config::default(), move |e| { let _ = tx.send(e); });
//! session.connect("127.0.0.1", 1863, Credentials { email: "me@example.com".into(), password: "pw".into() })?;
//! for event in rx {
//!     match event {
//!         Event::SignedOn { .. } => { session.send_im("tom", "<b>hi</b> Tom")?; }
//!         Event::ImReceived { username, plain, .. } => println!("{username:?}: {plain}"),
//!         Event::LoginFailed { text, .. } | Event::Disconnected { text, reconnecting: false, .. } => {
//!             eprintln!("{text}");
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok::<(), msim::client::Error>(())
//! ```

pub mod commands;
pub mod config;
mod connect;
pub mod error;
pub mod events;
pub mod gate;
mod groups;
pub mod held;
pub mod incoming;
mod io;
pub mod lifecycle;
mod liveness;
pub mod machine;
pub mod names;
mod pieces;
pub mod ports;
pub mod proxy;
pub mod reconnect;
pub mod requests;
pub mod session;
mod signal;
pub mod trace;
pub mod transmit;

pub use commands::ProfileUpdate;
pub use config::{Config, DEFAULT_HOST, DEFAULT_PORT};
pub use error::Error;
pub use events::{
    Contact, DisconnectReason, Event, Group, GroupChatKind, LoginFailure, MessageId, NoticeKind, OwnStatus, Privacy,
    RequestId, UserInfo, UsernameOutcome, WebChallenge,
};
pub use machine::{Credentials, IoAction, Machine, Phase};
pub use proxy::{Proxy, ProxyKind};
pub use reconnect::ReconnectPolicy;
pub use session::Session;
