//! `-daemonize`, as QEMU's `os-posix.c`: the command returns only once the
//! VM is set up, with status 0 if it started and 1 if it failed.
//!
//! `daemonize_start` (before any thread is spawned and before chardevs are
//! opened) forks; the original process waits on a pipe for one status byte.
//! The child becomes a session leader, forks again so it can never regain a
//! controlling terminal, and carries on. When initialisation is done (every
//! chardev listening, the pidfile written) it calls `DaemonChild::finish`,
//! which moves to `/`, points stdin/stdout/stderr at /dev/null and sends the
//! byte 0. If the child exits before that, the parent sees the pipe close
//! and exits with status 1; the child's error message has already gone to
//! the terminal.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

static DAEMONIZED: AtomicBool = AtomicBool::new(false);

/// Whether `-daemonize` is in effect (stdio cannot be used then).
pub fn is_daemonized() -> bool {
    DAEMONIZED.load(Ordering::SeqCst)
}

/// The daemon's end of the pipe to the waiting parent.
pub struct DaemonChild {
    to_parent: File,
}

/// Forks into the background. Returns in the daemon only; the calling
/// process exits when the daemon reports (see the module documentation).
/// Must be called while the process has a single thread.
pub fn daemonize_start() -> io::Result<DaemonChild> {
    let mut fds = [0; 2];
    // SAFETY: a valid array for the two pipe fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh fds that we now own.
    let (read_end, write_end) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };

    // SAFETY: single-threaded, as documented; the child continues normally.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        _ => {
            drop(write_end);
            wait_for_daemon(read_end);
        }
    }
    drop(read_end);
    // SAFETY: plain system calls in the (single-threaded) child.
    unsafe {
        libc::setsid();
        match libc::fork() {
            -1 => libc::_exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::umask(0o027);
        libc::signal(libc::SIGTSTP, libc::SIG_IGN);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
    DAEMONIZED.store(true, Ordering::SeqCst);
    Ok(DaemonChild {
        to_parent: write_end,
    })
}

/// The parent: exit 0 only on the daemon's "started" byte.
fn wait_for_daemon(mut from_child: File) -> ! {
    let mut status = [0u8; 1];
    let started = loop {
        match from_child.read(&mut status) {
            Ok(1) => break status[0] == 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            _ => break false,
        }
    };
    // _exit: nothing of the daemon's (exit actions) is the parent's to undo.
    // SAFETY: ends the process.
    unsafe { libc::_exit(if started { 0 } else { 1 }) }
}

impl DaemonChild {
    /// Initialisation is complete: detach from the terminal and release the
    /// waiting parent.
    pub fn finish(mut self) -> io::Result<()> {
        std::env::set_current_dir("/")?;
        let null: OwnedFd = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?
            .into();
        for target in [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            // SAFETY: dup2 onto the standard fds.
            if unsafe { libc::dup2(null.as_raw_fd(), target) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        self.to_parent.write_all(&[0])
    }
}
