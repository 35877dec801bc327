//! Typed messages: every client→server and server→client kind of SPEC §5–§18, each with decode
//! (from a [`Message`]) and encode (to a [`Message`]). Anything unrecognised survives as
//! `Unknown(Message)`, so nothing is dropped silently (SPEC §24). Client→server kinds are in
//! `client.rs`, server→client kinds in `server.rs`.

use super::message::{FieldError, Message};

mod client;
mod server;

pub use client::*;
pub use server::*;

/// Why a message of a known kind could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{kind} message: {source}")]
    Field { kind: &'static str, source: FieldError },
    #[error("challenge nonce: {0}")]
    BadChallenge(String),
    #[error("blocklist token `{0}` is not understood")]
    BadBlockToken(String),
}

pub(super) fn field(kind: &'static str) -> impl Fn(FieldError) -> DecodeError {
    move |source| DecodeError::Field { kind, source }
}

/// Pidgin's `clientver` (SPEC §6.4); msim's default.
pub const DEFAULT_CLIENT_VERSION: u32 = 697;

/// Reads an optional field: absent → `None`, present → the getter's result.
pub(super) fn opt<T>(
    m: &Message,
    key: &str,
    get: impl Fn(&Message, &str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    if m.has(key) {
        get(m, key).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
