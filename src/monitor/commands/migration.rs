//! Migration, which the machine cannot do yet: `query-migrate` reports
//! that none happened and no capability is offered, so clients (libvirt)
//! set none.

use qapi::types::{MigrationCapabilityStatus, MigrationInfo};
use qapi::QmpError;

/// No migration has happened: every member left out, as QEMU's answer
/// before the first one.
pub fn query_migrate() -> MigrationInfo {
    MigrationInfo::default()
}

/// The capabilities that work: none yet.
pub fn query_migrate_capabilities() -> Vec<MigrationCapabilityStatus> {
    Vec::new()
}

/// Turning a capability off is what it already is; turning one on is
/// refused, as it would not work.
pub fn migrate_set_capabilities(
    capabilities: &[MigrationCapabilityStatus],
) -> Result<(), QmpError> {
    match capabilities.iter().find(|c| c.state) {
        Some(c) => Err(QmpError::generic(format!(
            "Migration capability '{}' is not supported by this build",
            c.capability.as_str()
        ))),
        None => Ok(()),
    }
}
