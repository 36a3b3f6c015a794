//! Things undone whenever the process exits, however it exits through
//! `exit()` (end of `main`, `std::process::exit`, Ctrl-A x): socket files
//! and the pidfile removed, the terminal restored. QEMU does the same with
//! `atexit` handlers.

use std::os::unix::io::RawFd;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

enum ExitAction {
    RemoveFile(PathBuf),
    RestoreTerminal(RawFd, libc::termios),
}

// SAFETY: termios is plain data; the fd is a number.
unsafe impl Send for ExitAction {}

static ACTIONS: Mutex<Vec<ExitAction>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

fn push(action: ExitAction) {
    INSTALL.call_once(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(run_exit_actions) };
    });
    ACTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(action);
}

/// Removes `path` when the process exits.
pub fn remove_file_at_exit(path: PathBuf) {
    push(ExitAction::RemoveFile(path));
}

/// Puts terminal `fd` back to `settings` when the process exits.
pub fn restore_terminal_at_exit(fd: RawFd, settings: libc::termios) {
    push(ExitAction::RestoreTerminal(fd, settings));
}

extern "C" fn run_exit_actions() {
    let actions = match ACTIONS.try_lock() {
        Ok(mut actions) => std::mem::take(&mut *actions),
        // Exiting while another thread holds the list: skip rather than hang.
        Err(_) => return,
    };
    for action in actions.into_iter().rev() {
        match action {
            ExitAction::RemoveFile(path) => {
                let _ = std::fs::remove_file(path);
            }
            ExitAction::RestoreTerminal(fd, settings) => {
                // SAFETY: a valid termios saved from this fd.
                unsafe { libc::tcsetattr(fd, libc::TCSANOW, &settings) };
            }
        }
    }
}
