//! `pty` backend: a new pseudo-terminal whose slave side (`/dev/pts/N`)
//! a user opens with `screen` or `minicom`.

use std::fs::File;
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};

use super::fd_io::{read_fd, set_nonblocking, write_now, OutputPacer};
use super::{Chardev, ChardevError, ChardevRead};

pub(crate) struct PtyChardev {
    master: File,
    /// The slave side's path, `/dev/pts/N`.
    slave_name: String,
    pacer: OutputPacer,
}

pub(crate) fn open(id: &str, announce: bool) -> Result<Box<dyn Chardev>, ChardevError> {
    let (master, slave_name) =
        open_raw_pty().map_err(|e| ChardevError::io("Failed to create PTY", &e))?;
    set_nonblocking(master.as_raw_fd(), true)
        .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
    if announce {
        // QEMU prints this on stdout, not stderr.
        println!("char device redirected to {slave_name} (label {id})");
    }
    Ok(Box::new(PtyChardev {
        master,
        slave_name,
        pacer: OutputPacer::default(),
    }))
}

/// Opens a pty pair, puts the slave in raw mode and closes it: the slave
/// stays available by name for whoever wants to attach.
fn open_raw_pty() -> std::io::Result<(File, String)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: valid out-pointers; the name buffer is larger than any pts path.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            name.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty returned two fresh fds that we now own.
    let (master, slave) = unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) };
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: fds we own; failure to set close-on-exec is harmless.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    let mut tty: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid tty fd and termios pointer.
    unsafe {
        if libc::tcgetattr(slave.as_raw_fd(), &mut tty) == 0 {
            libc::cfmakeraw(&mut tty);
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSAFLUSH, &tty);
        }
    }
    // SAFETY: openpty wrote a NUL-terminated path.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    drop(slave);
    Ok((master, name))
}

impl PtyChardev {
    /// Whether someone has the slave side open: the master sees a hang-up
    /// while nobody does.
    fn slave_attached(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
        rc >= 0 && pfd.revents & libc::POLLHUP == 0
    }
}

impl Chardev for PtyChardev {
    fn input_fd(&self) -> Option<RawFd> {
        Some(self.master.as_raw_fd())
    }
    fn read_input(&mut self, buf: &mut [u8]) -> ChardevRead {
        match read_fd(self.master.as_raw_fd(), buf) {
            // EIO: nobody has the slave open. The pty stays usable: the
            // next edge comes when someone opens it and types.
            ChardevRead::Disconnected => ChardevRead::WouldBlock,
            other => other,
        }
    }
    fn filename(&self) -> String {
        format!("pty:{}", self.slave_name)
    }
    fn write(&mut self, data: &[u8]) {
        // Output with nobody attached is dropped, as QEMU does, instead of
        // piling up for whoever attaches later.
        if self.slave_attached() {
            self.pacer.write(self.master.as_raw_fd(), data);
        }
    }

    fn write_now(&mut self, data: &[u8]) -> usize {
        if self.slave_attached() {
            write_now(self.master.as_raw_fd(), data)
        } else {
            data.len()
        }
    }
}
