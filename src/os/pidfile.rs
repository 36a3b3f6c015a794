//! `-pidfile PATH`, as QEMU's `qemu_write_pidfile`: the file is created
//! (mode 0600), write-locked with `fcntl` for as long as the process runs,
//! holds the pid and a newline, and is removed at exit. A second QEMU given
//! the same path fails because it cannot take the lock.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::strerror;

/// A pidfile this process holds, locked while this value lives. As with
/// every fcntl lock, the process loses it if it opens and closes the file
/// through any other fd.
pub struct Pidfile {
    _file: File,
}

/// Why the pidfile could not be written. Displays as QEMU's message after
/// `qemu-system-x86_64: `.
#[derive(Debug, thiserror::Error)]
#[error("cannot create PID file: {reason}")]
pub struct PidfileError {
    reason: String,
}

fn failed(what: impl std::fmt::Display, err: &io::Error) -> PidfileError {
    PidfileError {
        reason: format!("{what}: {}", strerror(err)),
    }
}

impl Pidfile {
    pub fn create(path: &Path) -> Result<Pidfile, PidfileError> {
        let file = loop {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                // Not truncated before it is locked: it may be another's.
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| failed(format!("Could not create '{}'", path.display()), &e))?;
            let ours = file
                .metadata()
                .map_err(|e| failed("Cannot stat file", &e))?;
            lock(&file).map_err(|e| failed("Cannot lock pid file", &e))?;
            // Another process may have removed or replaced the file between
            // our open and our lock: then the lock is on a dead file; retry.
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => break file,
                _ => continue,
            }
        };
        let mut file = file;
        file.set_len(0)
            .map_err(|e| failed("Failed to truncate pid file", &e))?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(|_| PidfileError {
                reason: "Failed to write pid file".into(),
            })?;
        crate::os::exit_actions::remove_file_at_exit(PathBuf::from(path));
        Ok(Pidfile { _file: file })
    }
}

fn lock(file: &File) -> io::Result<()> {
    // SAFETY: flock is plain data; zero is a valid start.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: fcntl with a valid flock on our fd.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
