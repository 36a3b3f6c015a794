//! The device side of character devices (QEMU's CharBackend).
//!
//! A device such as a UART writes its output to a `CharBackend`; the main
//! loop delivers input to the device through `CharFrontend`.

/// A character backend, as a device sees it.
///
/// Devices call these methods while their own lock is held (from a vCPU's
/// I/O exit), so an implementation must not call back into the device: it
/// queues, writes to a file descriptor, or wakes the main loop.
pub trait CharBackend: Send + Sync {
    /// Send bytes the guest wrote. Never blocks the vCPU: a backend that
    /// cannot take them now drops them, as QEMU's non-blocking chardevs do.
    fn write(&self, data: &[u8]);
    /// Send all of `data`, after everything sent before: what the peer
    /// cannot take now is kept and sent as it reads. For a monitor's
    /// replies, which must never be lost (QEMU's monitor output buffer).
    /// Backends that never hold output back keep this default.
    fn write_all(&self, data: &[u8]) {
        self.write(data);
    }
    /// Tell the backend the frontend can take input again after it answered
    /// `can_receive() == 0`, so that pending input gets delivered.
    fn accept_input(&self);
}

/// A change of a character backend's connection (QEMU's CHR_EVENT_OPENED
/// and CHR_EVENT_CLOSED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharEvent {
    /// A peer is there: a socket client connected, or the backend is
    /// connected from the start (stdio, a pty, an inherited socket).
    Opened,
    /// The peer went away (a socket client disconnected, stdin ended).
    Closed,
}

/// A device that takes input from a character backend.
pub trait CharFrontend: Send {
    /// How many bytes the device can take now.
    fn can_receive(&self) -> usize;
    /// Take bytes; never more than `can_receive()` said.
    fn receive(&mut self, data: &[u8]);
    /// The backend's connection changed. Devices that do not care about
    /// who is connected keep this default.
    fn event(&mut self, _event: CharEvent) {}
    /// File descriptors a socket peer passed (SCM_RIGHTS) with the bytes
    /// that `receive` gets next. Devices have no use for them: the default
    /// closes them.
    fn receive_fds(&mut self, _fds: Vec<std::os::fd::OwnedFd>) {}
}
