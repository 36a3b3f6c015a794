//! Process lifecycle on POSIX hosts (QEMU's `os-posix.c` and friends):
//! `-daemonize`, `-pidfile`, termination signals, and what to undo when the
//! process exits.

pub mod daemon;
pub mod exit_actions;
pub mod pidfile;
pub mod signals;

/// The C library's text for an error (as QEMU prints it after a colon),
/// without Rust's " (os error N)".
pub fn strerror(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let mut buf = [0u8; 256];
            // SAFETY: the buffer is valid for its length; strerror_r (XSI)
            // writes a NUL-terminated string into it.
            let rc = unsafe { libc::strerror_r(code, buf.as_mut_ptr().cast(), buf.len()) };
            let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if rc == 0 {
                String::from_utf8_lossy(&buf[..len]).into_owned()
            } else {
                format!("Unknown error {code}")
            }
        }
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests;
