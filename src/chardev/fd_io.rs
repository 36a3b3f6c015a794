//! Small helpers for reading and writing raw fds the way chardevs need.

use std::io;
use std::os::unix::io::RawFd;
use std::time::{Duration, Instant};

use super::ChardevRead;
pub(crate) use crate::os::strerror;

/// How long guest output may wait for a slow reader before the rest is
/// dropped: long enough for a terminal or socket peer to catch up, short
/// enough not to stall a vCPU.
pub(crate) const WRITE_PATIENCE: Duration = Duration::from_millis(100);

pub(crate) fn set_nonblocking(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    // SAFETY: fcntl on an fd we were given; failure is reported.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One read: end of file and errors other than "try again" mean the input
/// is gone.
pub(crate) fn read_fd(fd: RawFd, buf: &mut [u8]) -> ChardevRead {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return ChardevRead::Data(n as usize);
        }
        if n == 0 {
            return ChardevRead::Disconnected;
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return ChardevRead::WouldBlock,
            _ => return ChardevRead::Disconnected,
        }
    }
}

/// Writes guest output to a non-blocking fd without stalling the vCPU on a
/// reader that stopped reading: it waits up to `WRITE_PATIENCE` for room,
/// and once that ran out it waits no more (dropping what does not fit at
/// once) until a write goes through whole again.
#[derive(Debug, Default)]
pub(crate) struct OutputPacer {
    stalled: bool,
}

impl OutputPacer {
    /// Writes what it can of `data`. Returns false on an error other than
    /// "full" (the peer is gone).
    pub(crate) fn write(&mut self, fd: RawFd, mut data: &[u8]) -> bool {
        let deadline = Instant::now()
            + if self.stalled {
                Duration::ZERO
            } else {
                WRITE_PATIENCE
            };
        while !data.is_empty() {
            // SAFETY: data is valid for reads of data.len() bytes. SIGPIPE
            // is ignored process-wide, so a closed peer gives EPIPE.
            let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
            if n >= 0 {
                data = &data[n as usize..];
                continue;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !wait_writable(fd, left) {
                        self.stalled = true;
                        return true;
                    }
                }
                _ => return false,
            }
        }
        self.stalled = false;
        true
    }
}

/// Writes what `fd` takes now of `data`; returns how much that was. A
/// peer that is gone (an error other than "full") takes everything: the
/// output is lost.
pub(crate) fn write_now(fd: RawFd, data: &[u8]) -> usize {
    let mut done = 0;
    while done < data.len() {
        let rest = &data[done..];
        // SAFETY: rest is valid for reads of rest.len() bytes. SIGPIPE is
        // ignored process-wide, so a closed peer gives EPIPE.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n >= 0 {
            done += n as usize;
            continue;
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return done,
            _ => return data.len(),
        }
    }
    done
}

fn wait_writable(fd: RawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    rc > 0 && pfd.revents & libc::POLLOUT != 0
}
