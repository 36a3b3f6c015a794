//! What the machine is and whether it runs: `query-status`, `query-name`,
//! `query-uuid`, `query-kvm`, `query-target`.

use qapi::types::{KvmInfo, NameInfo, RunState, StatusInfo, SysEmuTarget, TargetInfo, UuidInfo};

use crate::machine::Machine;

pub fn query_status(machine: &Machine) -> StatusInfo {
    let status = machine.run_state();
    StatusInfo {
        running: status == RunState::Running,
        // Single-stepping is a TCG feature.
        singlestep: false,
        status,
    }
}

pub fn query_name(machine: &Machine) -> NameInfo {
    NameInfo {
        name: machine.name().map(str::to_string),
    }
}

/// `-uuid` in lower case, or QEMU's all-zero UUID without one.
pub fn query_uuid(machine: &Machine) -> UuidInfo {
    UuidInfo {
        uuid: machine.uuid().map_or(
            "00000000-0000-0000-0000-000000000000".to_string(),
            str::to_lowercase,
        ),
    }
}

/// KVM is the only accelerator, so it is always there and in use.
pub fn query_kvm() -> KvmInfo {
    KvmInfo {
        enabled: true,
        present: true,
    }
}

pub fn query_target() -> TargetInfo {
    TargetInfo {
        arch: SysEmuTarget::X86_64,
    }
}
