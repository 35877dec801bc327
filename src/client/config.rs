//! Session settings: server address, timeouts, reconnect policy, client version.

use std::time::Duration;

use crate::protocol::frame::DEFAULT_MAX_FRAME;
use crate::protocol::kinds::DEFAULT_CLIENT_VERSION;

use super::events::OwnStatus;
use super::reconnect::ReconnectPolicy;

/// The service's DNS name (SPEC §1).
pub const DEFAULT_HOST: &str = "im.myspace.akadns.net";
/// The service's port (SPEC §1).
pub const DEFAULT_PORT: u16 = 1863;

/// Default IO thread stack: 128 KiB (DNS resolution through glibc needs a few tens of KiB; only
/// touched pages count towards memory).
pub const DEFAULT_IO_STACK: usize = 128 * 1024;

/// Everything a session can be tuned with. `Config::default()` is what a normal client wants.
#[derive(Debug, Clone)]
pub struct Config {
    /// `clientver` in `login2` and `cv` in buddy messages (SPEC §6.4, §24: default 697).
    pub client_version: u32,
    /// TCP connect timeout, per resolved address.
    pub connect_timeout: Duration,
    /// How long to wait for the challenge, and then for the login reply.
    pub login_timeout: Duration,
    /// Persist requests without a reply for this long complete with a timeout (SPEC §24: 60 s).
    pub request_timeout: Duration,
    /// Sign on with an empty list and a warning when the contact list has not arrived after this
    /// long (SPEC §24: 10 s).
    pub contact_list_timeout: Duration,
    /// The server's TCP stack stopped acknowledging (our data or keepalive probes) for this long
    /// → the connection is dead (SPEC §24: 180 s). Silence alone never counts: revival servers
    /// send nothing for hours. `None` switches detection off (the OS's own limits remain).
    pub dead_connection_timeout: Option<Duration>,
    /// When the host connects to the service's port 1863 and that fails, try SPEC §25's
    /// fallback ports in order (see `ports.rs`).
    pub alternate_ports: bool,
    /// Connect through this proxy (SOCKS5 or HTTP CONNECT); `None` = directly.
    pub proxy: Option<super::proxy::Proxy>,
    /// A port that worked before (`Session::port`, persisted by the host): tried first.
    pub preferred_port: Option<u16>,
    /// Cap in bytes of what waits to be written or for a connection; past it operations fail
    /// with `QueueFull` at once (see `transmit.rs`).
    pub max_send_queue: usize,
    /// How long a message from a sender whose username is unknown is held while the client looks
    /// the uid up (SPEC §9.1, §24); after this it is delivered with the uid alone.
    pub name_lookup_timeout: Duration,
    /// Mail/inbox check period (SPEC §13, Pidgin: 60 s); `None` disables mail checks.
    pub mail_check_interval: Option<Duration>,
    /// Automatic reconnect after a lost connection.
    pub reconnect: ReconnectPolicy,
    /// The presence sent at sign-on (SPEC §6.6 step 3) until `set_status` changes it.
    pub initial_status: OwnStatus,
    /// When the account has no username yet (SPEC §6.7): `true` stops in the "choosing username"
    /// state and emits `UsernameRequired`; `false` signs on without one.
    pub choose_username: bool,
    /// Emit `Event::Trace` for every frame in and out.
    pub trace: bool,
    /// Frame size cap (SPEC §24).
    pub max_frame: usize,
    /// Cap on one persist reply sent in `mtf` pieces (SPEC §25), once put together; all replies
    /// being put together hold at most twice this (see `pieces.rs`). Past it the request fails
    /// with a protocol error.
    pub max_reply_bytes: usize,
    /// Stack of the session's IO thread. Small, so 10 000 sessions fit in one process; the
    /// thread only parses frames and runs the host's callbacks (which should not recurse deeply).
    pub io_stack_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_version: DEFAULT_CLIENT_VERSION,
            connect_timeout: Duration::from_secs(30),
            login_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            contact_list_timeout: Duration::from_secs(10),
            dead_connection_timeout: Some(Duration::from_secs(180)),
            max_send_queue: super::transmit::DEFAULT_MAX_SEND_QUEUE,
            alternate_ports: true,
            preferred_port: None,
            proxy: None,
            // A lookup answers in one round trip; a server that answers no lookups (SPEC §24) should
            // not keep messages back for long.
            name_lookup_timeout: Duration::from_secs(5),
            mail_check_interval: Some(Duration::from_secs(60)),
            reconnect: ReconnectPolicy::default(),
            initial_status: OwnStatus::Available,
            choose_username: true,
            trace: false,
            max_frame: DEFAULT_MAX_FRAME,
            max_reply_bytes: super::pieces::DEFAULT_MAX_REPLY_BYTES,
            io_stack_size: DEFAULT_IO_STACK,
        }
    }
}
