//! The machine's run state, with QEMU's names (`query-status` reports them).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Built but not started yet (`-S`, or after a reset while stopped).
    Prelaunch,
    Running,
    /// Stopped from the monitor (`stop`).
    Paused,
    /// The guest shut down and `-no-shutdown` keeps the process alive.
    Shutdown,
    /// A vCPU hit an error KVM cannot emulate past.
    InternalError,
}

impl RunState {
    /// QEMU's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            RunState::Prelaunch => "prelaunch",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Shutdown => "shutdown",
            RunState::InternalError => "internal-error",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}
