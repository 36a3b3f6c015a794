//! Requests a device makes of the whole machine.

/// What a device can ask of the machine. The main loop decides what follows
/// (`-no-reboot` turns a reset into a shutdown, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemRequest {
    /// The guest asked for a reset (i8042 pulse, port 0xcf9, triple fault).
    Reset,
    /// The guest powered the machine off.
    Shutdown,
    /// End the process at once with this exit status (isa-debug-exit).
    Exit(i32),
    /// A vCPU hit an error it cannot go on from (KVM internal error): the
    /// machine stops, as QEMU's `internal-error` run state.
    InternalError,
    /// The guest set the CMOS clock to `offset_secs` seconds away from the
    /// clock the RTC started from (the host's, moved by `-rtc base=`): the
    /// machine announces it with QMP's `RTC_CHANGE`.
    RtcChange { offset_secs: i64 },
}

/// Where devices send their requests.
///
/// Devices make requests while their own lock is held, so an implementation
/// records the request for the main loop (which then resets or stops the
/// machine) rather than acting on devices from inside `request`.
pub trait SystemControl: Send + Sync {
    fn request(&self, request: SystemRequest);
}
