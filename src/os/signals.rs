//! Termination signals: SIGTERM, SIGINT and SIGHUP end QEMU cleanly, and
//! QEMU names who sent them:
//! `qemu-system-x86_64: terminating on signal 15 from pid 4917 (timeout)`.
//!
//! A signal handler records the signal number and the sender's pid into a
//! pipe (a self-pipe: the only work a handler may safely do); the pipe's
//! read end is a mio source for the main loop. SIGPIPE is ignored so that a
//! peer closing a socket is seen as an error, not a death.

use std::fmt;
use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// A termination request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationSignal {
    pub signal: i32,
    /// 0 when the kernel sent it (Ctrl-C at the terminal).
    pub sender_pid: i32,
    /// The sender's name, looked up when the signal was taken (the sender
    /// may be gone by the time the message is printed).
    pub sender_name: Option<String>,
}

impl fmt::Display for TerminationSignal {
    /// QEMU's message, without the `qemu-system-x86_64: ` prefix.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.sender_pid == 0 {
            return write!(f, "terminating on signal {}", self.signal);
        }
        write!(
            f,
            "terminating on signal {} from pid {} ({})",
            self.signal,
            self.sender_pid,
            self.sender_name.as_deref().unwrap_or("<unknown process>")
        )
    }
}

/// What QEMU calls a process: the first word of its command line (argv[0]
/// as it was given, not the short `comm` name).
fn process_name(pid: i32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let first = cmdline.split(|&b| b == 0).next()?;
    Some(String::from_utf8_lossy(first).into_owned())
}

/// The main loop's handle on termination signals.
pub struct TerminationSignals {
    read_fd: RawFd,
}

/// Installs the handlers (once per process) and ignores SIGPIPE.
pub fn install() -> io::Result<TerminationSignals> {
    if PIPE_READ.load(Ordering::SeqCst) < 0 {
        let mut fds = [0; 2];
        // SAFETY: a valid array for two fds.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        PIPE_WRITE.store(fds[1], Ordering::SeqCst);
        PIPE_READ.store(fds[0], Ordering::SeqCst);
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: sigaction is plain data; the handler only calls write().
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_termination_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        // SAFETY: setting a disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
    Ok(TerminationSignals {
        read_fd: PIPE_READ.load(Ordering::SeqCst),
    })
}

extern "C" fn on_termination_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo to SA_SIGINFO handlers.
    let pid = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_pid() }
    };
    let mut record = [0u8; 8];
    record[..4].copy_from_slice(&signal.to_ne_bytes());
    record[4..].copy_from_slice(&pid.to_ne_bytes());
    let saved_errno = io::Error::last_os_error().raw_os_error();
    // SAFETY: write() is async-signal-safe; 8 bytes are written atomically.
    unsafe {
        libc::write(
            PIPE_WRITE.load(Ordering::Relaxed),
            record.as_ptr().cast(),
            record.len(),
        );
    }
    if let Some(errno) = saved_errno {
        // SAFETY: restoring errno for the interrupted code.
        unsafe { *libc::__errno_location() = errno };
    }
}

/// The next termination signal received and not yet taken, if any.
pub fn take_pending() -> Option<TerminationSignal> {
    let fd = PIPE_READ.load(Ordering::SeqCst);
    if fd < 0 {
        return None;
    }
    let mut record = [0u8; 8];
    // SAFETY: reading into a valid buffer; the pipe is non-blocking.
    let n = unsafe { libc::read(fd, record.as_mut_ptr().cast(), record.len()) };
    if n != 8 {
        return None;
    }
    let mut signal = [0u8; 4];
    let mut pid = [0u8; 4];
    signal.copy_from_slice(&record[..4]);
    pid.copy_from_slice(&record[4..]);
    let sender_pid = i32::from_ne_bytes(pid);
    Some(TerminationSignal {
        signal: i32::from_ne_bytes(signal),
        sender_pid,
        sender_name: (sender_pid != 0)
            .then(|| process_name(sender_pid))
            .flatten(),
    })
}

/// Dies of `signal` as if no handler had been installed.
pub fn die_of(signal: i32) -> ! {
    // SAFETY: restoring the default action and raising the signal.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
        // Only reached if the signal is blocked in this thread.
        libc::_exit(128 + signal)
    }
}

impl TerminationSignals {
    /// The next signal received, if any; call until `None` after each
    /// readiness event.
    pub fn take(&mut self) -> Option<TerminationSignal> {
        take_pending()
    }
}

impl Source for TerminationSignals {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.read_fd).register(registry, token, interests)
    }
    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.read_fd).reregister(registry, token, interests)
    }
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.read_fd).deregister(registry)
    }
}
