//! Sans-IO protocol core: bytes ⇄ typed messages.
//!
//! Owns framing, escaping, dictionaries and lists, login crypto, markup ⇄ HTML, zaps and persist
//! codes. It must never touch sockets, threads, clocks or global state: every function is pure or a
//! small explicit state machine, so it can be fuzzed and tested byte for byte.

pub mod buddy;
pub mod dict;
pub mod escape;
pub mod frame;
pub mod kinds;
pub mod list;
pub mod login;
pub mod markup;
pub mod message;
mod pairs;
pub mod password;
pub mod persist;
mod scan;
pub mod status;
pub mod zap;

pub use dict::{Dict, DictBuilder};
pub use frame::{FrameError, Framer};
pub use message::{FieldError, Message, ParseError};
