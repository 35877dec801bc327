//! An eventfd that one thread raises and another waits on in `poll`, next to its socket: how
//! host threads wake the IO thread (new work queued, close) and cancel a connect in progress.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A level-triggered wake-up: readable from [`Signal::raise`] until [`Signal::clear`].
pub(crate) struct Signal {
    fd: OwnedFd,
}

impl Signal {
    pub(crate) fn new() -> io::Result<Signal> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(Signal { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Makes the descriptor readable (it stays so until cleared). Never blocks.
    pub(crate) fn raise(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a u64 to our eventfd. EAGAIN (counter saturated) means it
        // is readable already, which is all a raise needs.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Makes the descriptor not readable until the next raise.
    pub(crate) fn clear(&self) {
        let mut v: u64 = 0;
        // SAFETY: reading 8 bytes into a u64 from our non-blocking eventfd (EAGAIN when clear).
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }

    pub(crate) fn is_raised(&self) -> bool {
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) > 0 }
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_until_cleared_and_raising_twice_is_one_wake() {
        let s = Signal::new().unwrap();
        assert!(!s.is_raised());
        s.raise();
        s.raise();
        assert!(s.is_raised());
        s.clear();
        assert!(!s.is_raised());
    }
}
