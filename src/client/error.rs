//! Errors of the client layer: why an operation was refused, why a request or an IM failed.
//!
//! One enum for everything the client reports; the FFI maps it to `msim_result` in one place.

/// Why a client operation, request or IM failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An argument is unusable (empty name, zap number out of range, text that cannot be encoded).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The session has no connection and is not trying to get one.
    #[error("not connected")]
    NotConnected,
    /// The operation needs a signed-on session.
    #[error("not signed on")]
    NotSignedOn,
    /// `connect` on a session that is already connecting or connected.
    #[error("already connected")]
    AlreadyConnected,
    /// The operation does not fit the session's state (e.g. setting a username while not asked).
    #[error("wrong state: {0}")]
    WrongState(&'static str),
    /// A bounded queue is full (see the cap constants in `client::machine`).
    #[error("queue full")]
    QueueFull,
    /// The server knows no user by that id, username or e-mail.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// No reply arrived in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The connection failed or was lost.
    #[error("network error: {0}")]
    Network(String),
    /// The server sent something we cannot understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered with an error (persist error reply, `\error\`).
    #[error("server error {code}: {text}")]
    Server { code: u32, text: String },
    /// The session was closed (disconnect or free) before the operation completed.
    #[error("session closed")]
    Closed,
    /// Received text contains a NUL byte, which a C string cannot carry: the message was not
    /// delivered (removing the NUL could turn data into a control string, e.g. `%typ\0ing%`).
    #[error("received text contains a NUL byte: {0}")]
    EmbeddedNul(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
