//! File descriptors passed to the monitor: `getfd`/`closefd` (named, per
//! monitor) and `add-fd`/`remove-fd`/`query-fdsets` (the process's fd
//! sets), with QEMU 7.2's errors.

use qapi::types::{AddfdInfo, FdsetFdInfo, FdsetInfo, RunState};
use qapi::QmpError;

use crate::machine::Machine;
use crate::monitor::fds::{FdSets, MonitorFds};

const NO_FD_PASSED: &str = "No file descriptor supplied via SCM_RIGHTS";

pub fn getfd(fds: &mut MonitorFds, fdname: String) -> Result<(), QmpError> {
    let fd = fds
        .take_received()
        .ok_or_else(|| QmpError::generic(NO_FD_PASSED))?;
    // Names that look like numbers would be taken for fd numbers where a
    // name or number is accepted. The descriptor is closed.
    if fdname.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(QmpError::generic(
            "Parameter 'fdname' expects a name not starting with a digit",
        ));
    }
    fds.keep(fdname, fd);
    Ok(())
}

pub fn closefd(fds: &mut MonitorFds, fdname: &str) -> Result<(), QmpError> {
    match fds.take(fdname) {
        Some(_closed) => Ok(()),
        None => Err(QmpError::generic(format!(
            "File descriptor named '{fdname}' not found"
        ))),
    }
}

pub fn add_fd(
    fds: &mut MonitorFds,
    fdsets: &mut FdSets,
    fdset_id: Option<i64>,
    opaque: Option<String>,
) -> Result<AddfdInfo, QmpError> {
    let fd = fds
        .take_received()
        .ok_or_else(|| QmpError::generic(NO_FD_PASSED))?;
    let (fdset_id, fd) = fdsets
        .add(fd, fdset_id, opaque)
        .map_err(|e| QmpError::generic(e.to_string()))?;
    Ok(AddfdInfo { fdset_id, fd })
}

pub fn remove_fd(
    fdsets: &mut FdSets,
    machine: &Machine,
    fdset_id: i64,
    fd: Option<i64>,
) -> Result<(), QmpError> {
    let running = machine.run_state() == RunState::Running;
    fdsets
        .remove(fdset_id, fd, running)
        .map_err(|e| QmpError::generic(e.to_string()))
}

pub fn query_fdsets(fdsets: &FdSets) -> Vec<FdsetInfo> {
    fdsets
        .list()
        .into_iter()
        .map(|(fdset_id, members)| FdsetInfo {
            fdset_id,
            fds: members
                .into_iter()
                .map(|(fd, opaque)| FdsetFdInfo { fd, opaque })
                .collect(),
        })
        .collect()
}
