//! The `none` machine: no RAM, no CPUs, no buses. It exists for probing, so
//! what needs a bus or a CPU is refused as QEMU refuses it.

use super::MachineError;
use crate::vl::description::MachineDescription;
use crate::vl::validate_device;

pub fn check(desc: &MachineDescription) -> Result<(), MachineError> {
    if desc.boot.kernel.is_some() {
        return Err(MachineError::plain(
            "The -kernel parameter is not supported (use the generic 'loader' device instead).",
        ));
    }
    if let Some(device) = desc.devices.first() {
        // An unknown device model is reported before the missing bus.
        validate_device(device).map_err(|e| MachineError(e.to_string()))?;
        return Err(MachineError::at(
            &device.location,
            format!("No 'ISA' bus found for device '{}'", device.driver),
        ));
    }
    Ok(())
}
