//! Blocking-IO session on top of [`crate::protocol`]: a socket, a reader thread, the login state
//! machine, request/reply matching, keepalive and events.
