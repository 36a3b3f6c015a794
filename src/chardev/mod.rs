//! Character device backends (QEMU's `chardev/`): where a serial port's or a
//! monitor's bytes go and come from.
//!
//! `open` turns one `-chardev` description into a `Chardev`: a small object
//! with at most one fd to poll for input. `ChardevSet` owns every open
//! chardev, plugs their fds into the mio main loop and connects them to the
//! devices (`hw::core::chardev::CharFrontend`), including QEMU's multiplexer
//! (`mux=on`, the Ctrl-A escapes of `mon:stdio`).

mod fd_io;
mod file;
mod hash_order;
mod mux;
mod pipe;
mod props;
mod pty;
mod ringbuf;
mod set;
mod socket;
mod stdio;

use std::os::fd::OwnedFd;
use std::os::unix::io::RawFd;
use std::time::Instant;

use crate::vl::description::ChardevOptions;

#[cfg(test)]
pub use ringbuf::Ringbuf;
pub use set::{ChardevSet, ConnectError};
pub use socket::is_socket;

/// What one `read_input` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChardevRead {
    /// `n` bytes of input were read into the buffer.
    Data(usize),
    /// A listening socket accepted a client: `input_fd` changed.
    Connected,
    /// The peer went away (or stdin reached its end): `input_fd` changed.
    Disconnected,
    /// A client's connection attempt failed: `input_fd` changed, and
    /// the client is no more connected than before.
    NotConnected,
    /// Nothing to read now.
    WouldBlock,
}

/// One open character device backend.
pub trait Chardev: Send {
    /// The fd to poll for readability now (stdin, pty master, listening
    /// socket, connected peer), if any. Changes only across `read_input`.
    fn input_fd(&self) -> Option<RawFd>;
    /// Called when `input_fd` is readable: accept a connection or read up to
    /// `buf.len()` bytes.
    fn read_input(&mut self, buf: &mut [u8]) -> ChardevRead;
    /// Whether a peer is connected now: false only for a socket server
    /// waiting for its client.
    fn is_open(&self) -> bool {
        true
    }
    /// When `run_timer` has something to do next, if ever: a reconnecting
    /// socket client's next connection attempt.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// Does what was due by `now` (see `deadline`); may change `input_fd`.
    fn run_timer(&mut self, _now: Instant) {}
    /// What the chardev is connected to, as QEMU's `query-chardev` shows it
    /// (`null`, `pty:/dev/pts/3`, `disconnected:unix:/path,server=on`).
    fn filename(&self) -> String;
    /// The file descriptors that came (SCM_RIGHTS) with the input the last
    /// `read_input` returned; taken once.
    fn take_received_fds(&mut self) -> Vec<OwnedFd> {
        Vec::new()
    }
    /// Guest output. Never blocks the caller for long; output with no peer
    /// (unconnected socket, pty nobody opened) is dropped, as QEMU does.
    fn write(&mut self, data: &[u8]);
    /// Writes what the peer takes now of `data` without waiting; returns
    /// how much went (all of it when there is no peer to wait for, the
    /// output then being lost as with `write`). Backends that never hold
    /// output back keep this default.
    fn write_now(&mut self, data: &[u8]) -> usize {
        self.write(data);
        data.len()
    }
    /// The ring buffer behind a `ringbuf` chardev, for QMP's `ringbuf-read`.
    #[cfg(test)]
    fn ringbuf(&mut self) -> Option<&mut Ringbuf> {
        None
    }
}

/// A chardev that could not be opened, in QEMU's words (without the
/// `qemu-system-x86_64: -chardev ...: ` prefix, which the caller adds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChardevError {
    message: String,
}

impl ChardevError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ChardevError {
            message: message.into(),
        }
    }

    /// `"<what>: <strerror>"`, as QEMU's `error_setg_errno`.
    pub(crate) fn io(what: impl std::fmt::Display, err: &std::io::Error) -> Self {
        ChardevError::new(format!("{what}: {}", fd_io::strerror(err)))
    }
}

/// Opens the chardev `opts` describes.
///
/// `location` is the command-line option it came from (`-chardev
/// socket,id=...`), used as QEMU does for the `info:` line a waiting server
/// prints; `None` for chardevs added at run time over QMP. `mux=on` is not acted on
/// here: `ChardevSet::add` makes the chardev a multiplexer.
pub fn open(
    opts: &ChardevOptions,
    location: Option<&str>,
) -> Result<Box<dyn Chardev>, ChardevError> {
    let props = props::Props::new(&opts.properties);
    match opts.backend.as_str() {
        // No graphical console exists to show a text console (`vc`, QEMU's
        // default for its ports when it has a display): its output goes
        // nowhere, as QEMU's does with `-display none`.
        "null" | "vc" => Ok(Box::new(file::Null)),
        "file" => file::open(&props),
        "pipe" => pipe::open(&props),
        "stdio" => stdio::open(&props),
        "ringbuf" => ringbuf::open(&props, "ringbuf"),
        "memory" => ringbuf::open(&props, "memory"),
        // QEMU announces a pty on stdout, except one a QMP command creates:
        // that message goes to the monitor, which has no place for it.
        "pty" => pty::open(&opts.id, location.is_some()),
        "socket" => socket::open(&opts.id, &props, location),
        // QEMU's other backends: real names, not provided here.
        "udp" | "serial" | "tty" | "parallel" | "parport" | "msmouse" | "wctablet" | "braille"
        | "testdev" | "spicevmc" | "spiceport" | "qemu-vdagent" | "dbus" => Err(ChardevError::new(
            format!("chardev backend '{}' is not supported", opts.backend),
        )),
        other => Err(ChardevError::new(format!(
            "'{other}' is not a valid char driver name"
        ))),
    }
}

#[cfg(test)]
mod tests;
