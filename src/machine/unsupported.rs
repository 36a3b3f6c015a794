//! What the command line may ask for that this machine cannot build yet.
//!
//! The description keeps every option as given; here each backend or
//! device we do not implement is refused in QEMU's words for a driver,
//! type or device model it lacks, so nothing is ignored silently. Defaults
//! QEMU adds on its own (a text console, a parallel port, a NIC) are left
//! out instead: see compat/DIFFERENCES.md.

use serde_json::Value;

use super::MachineError;
use crate::vl::description::{Dict, LocatedDict, MachineDescription};
use crate::vl::qdict::is_on;

fn text<'a>(dict: &'a Dict, key: &str) -> &'a str {
    match dict.get(key) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

fn refuse(entry: &LocatedDict, key: &str) -> MachineError {
    MachineError::at(
        &entry.location,
        format!(
            "Parameter '{key}' does not accept value '{}'",
            text(&entry.properties, key)
        ),
    )
}

/// QEMU's name of a `-vga` type, for its "X not available" error.
fn vga_name(vga: &str) -> &str {
    match vga {
        "std" => "standard VGA",
        "cirrus" => "Cirrus VGA",
        "vmware" => "VMWare SVGA",
        "qxl" => "QXL VGA",
        "virtio" => "Virtio VGA",
        "tcx" => "TCX framebuffer",
        "cg3" => "CG3 framebuffer",
        "xenfb" => "Xen paravirtualized framebuffer",
        other => other,
    }
}

/// Refuse the first thing in `desc` this machine cannot provide.
pub fn check(desc: &MachineDescription) -> Result<(), MachineError> {
    if let Some(vga) = desc
        .display
        .vga
        .as_deref()
        .filter(|_| !desc.display.default_vga)
    {
        return Err(MachineError::plain(format!(
            "{} not available",
            vga_name(vga)
        )));
    }
    if let Some(b) = desc.blockdevs.first() {
        return Err(refuse(b, "driver"));
    }
    if let Some(d) = desc.drives.first() {
        let interface = match text(&d.properties, "if") {
            "virtio" => "virtio-blk-pci",
            "floppy" => "floppy",
            "scsi" => "scsi-hd",
            "none" => return Err(refuse(d, "format")),
            _ => "ide-hd",
        };
        return Err(MachineError::at(
            &d.location,
            format!("'{interface}' is not a valid device model name"),
        ));
    }
    if let Some(n) = desc.netdevs.first() {
        return Err(refuse(n, "type"));
    }
    // A NIC QEMU adds by default has no location; an explicit -nic does.
    if let Some(n) = desc.nics.iter().find(|n| !n.location.is_empty()) {
        return Err(refuse(n, "type"));
    }
    if let Some(a) = desc
        .audiodevs
        .iter()
        .find(|a| text(&a.properties, "driver") != "none")
    {
        return Err(refuse(a, "driver"));
    }
    if let Some(id) = desc.parallels.iter().find(|id| {
        desc.chardevs
            .iter()
            .any(|c| &c.id == *id && !c.location.is_empty())
    }) {
        let location = desc
            .chardevs
            .iter()
            .find(|c| &c.id == id)
            .map_or("-parallel", |c| c.location.as_str());
        return Err(MachineError::at(
            location,
            "'isa-parallel' is not a valid device model name",
        ));
    }
    for (option, dict) in &desc.other {
        let refused = match option.as_str() {
            "sandbox" if is_on(dict, "enable") => Some("seccomp support is disabled"),
            "msg" if is_on(dict, "timestamp") => {
                Some("message timestamps are not available in this build")
            }
            "overcommit" if is_on(dict, "cpu-pm") => Some("cpu-pm is not available in this build"),
            _ => None,
        };
        if let Some(message) = refused {
            return Err(MachineError::plain(format!("-{option}: {message}")));
        }
    }
    Ok(())
}
