//! Machine types and accelerators the command line knows, with the
//! properties QEMU 7.2 gives them.

use serde_json::Value;

use super::description::Dict;
use super::qdict::{expects_on_off, parse_bool, parse_size};

/// A machine type: canonical name, alias, description for `-machine help`.
pub struct MachineType {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub description: &'static str,
    pub is_default: bool,
    pub max_cpus: u64,
    /// Whether QEMU gives it serial, parallel and VGA by default.
    pub has_default_devices: bool,
}

/// In QEMU's `-machine help` order.
pub const MACHINE_TYPES: &[MachineType] = &[
    MachineType {
        name: "pc-i440fx-7.2",
        alias: Some("pc"),
        description: "Standard PC (i440FX + PIIX, 1996)",
        is_default: true,
        max_cpus: 255,
        has_default_devices: true,
    },
    MachineType {
        name: "pc-q35-7.2",
        alias: Some("q35"),
        description: "Standard PC (Q35 + ICH9, 2009)",
        is_default: false,
        max_cpus: 288,
        has_default_devices: true,
    },
    MachineType {
        name: "none",
        alias: None,
        description: "empty machine",
        is_default: false,
        max_cpus: 1,
        has_default_devices: false,
    },
];

/// The machine type called `name` or aliased so.
pub fn find_machine_type(name: &str) -> Option<&'static MachineType> {
    MACHINE_TYPES
        .iter()
        .find(|m| m.name == name || m.alias == Some(name))
}

pub fn default_machine_type() -> &'static MachineType {
    &MACHINE_TYPES[0]
}

/// `-machine help`, in QEMU's format.
pub fn machine_help() -> String {
    let mut out = String::from("Supported machines are:\n");
    for machine in MACHINE_TYPES {
        if let Some(alias) = machine.alias {
            out.push_str(&format!(
                "{alias:<20} {} (alias of {})\n",
                machine.description, machine.name
            ));
        }
        let default = if machine.is_default { " (default)" } else { "" };
        out.push_str(&format!(
            "{:<20} {}{default}\n",
            machine.name, machine.description
        ));
    }
    out
}

#[derive(Clone, Copy)]
enum PropertyKind {
    Bool,
    OnOffAuto,
    Size,
    Text,
    /// Structured (`memory`, `smp`, `boot`): QEMU takes dotted keys.
    Structured,
}

/// Properties of every machine (`none-machine` has these only).
const COMMON_PROPERTIES: &[(&str, PropertyKind)] = &[
    ("append", PropertyKind::Text),
    ("boot", PropertyKind::Structured),
    ("confidential-guest-support", PropertyKind::Text),
    ("dt-compatible", PropertyKind::Text),
    ("dtb", PropertyKind::Text),
    ("dump-guest-core", PropertyKind::Bool),
    ("dumpdtb", PropertyKind::Text),
    ("firmware", PropertyKind::Text),
    ("graphics", PropertyKind::Bool),
    ("initrd", PropertyKind::Text),
    ("kernel", PropertyKind::Text),
    ("mem-merge", PropertyKind::Bool),
    ("memory-backend", PropertyKind::Text),
    ("memory-encryption", PropertyKind::Text),
    ("memory", PropertyKind::Structured),
    ("phandle-start", PropertyKind::Text),
    ("smp", PropertyKind::Structured),
    ("suppress-vmdesc", PropertyKind::Bool),
    ("usb", PropertyKind::Bool),
];

/// The PC machines' own properties (same for i440FX and Q35 in 7.2).
const PC_PROPERTIES: &[(&str, PropertyKind)] = &[
    ("acpi", PropertyKind::OnOffAuto),
    ("bus-lock-ratelimit", PropertyKind::Text),
    ("default-bus-bypass-iommu", PropertyKind::Bool),
    ("hpet", PropertyKind::Bool),
    ("i8042", PropertyKind::Bool),
    ("max-fw-size", PropertyKind::Size),
    ("max-ram-below-4g", PropertyKind::Size),
    ("pic", PropertyKind::OnOffAuto),
    ("pit", PropertyKind::OnOffAuto),
    ("sata", PropertyKind::Bool),
    ("sgx-epc", PropertyKind::Structured),
    ("smbios-entry-point-type", PropertyKind::Text),
    ("smbus", PropertyKind::Bool),
    ("smm", PropertyKind::OnOffAuto),
    ("vmport", PropertyKind::OnOffAuto),
    ("x-oem-id", PropertyKind::Text),
    ("x-oem-table-id", PropertyKind::Text),
];

fn property_kind(machine: &MachineType, name: &str) -> Option<PropertyKind> {
    let pc = machine.name != "none";
    COMMON_PROPERTIES
        .iter()
        .chain(PC_PROPERTIES.iter().filter(|_| pc))
        .find(|(known, _)| *known == name)
        .map(|(_, kind)| *kind)
}

/// Checks `-machine` properties (everything but `type` and `accel`) the
/// way QEMU applies them to the machine object.
pub fn check_machine_properties(machine: &MachineType, properties: &Dict) -> Result<(), String> {
    for (name, value) in properties {
        let Some(kind) = property_kind(machine, name) else {
            return Err(format!(
                "Property '{}-machine.{name}' not found",
                machine.name
            ));
        };
        let text = value.as_str();
        match kind {
            PropertyKind::Bool => {
                if text.and_then(parse_bool).is_none() {
                    return Err(expects_on_off(name));
                }
            }
            PropertyKind::OnOffAuto => {
                if !matches!(text, Some("on" | "off" | "auto")) {
                    return Err(format!(
                        "Parameter '{name}' does not accept value '{}'",
                        text.unwrap_or_default()
                    ));
                }
            }
            PropertyKind::Size => {
                if text.map(|t| parse_size(t, 1)).is_none_or(|r| r.is_err()) {
                    return Err(format!("Parameter '{name}' expects size"));
                }
            }
            PropertyKind::Text => {
                if !matches!(value, Value::String(_)) {
                    return Err(format!("Parameters '{name}.*' used inconsistently"));
                }
            }
            PropertyKind::Structured => {}
        }
    }
    Ok(())
}

/// The accelerators implemented, for `-accel help` and `-accel NAME`.
pub const ACCELERATORS: &[&str] = &["kvm"];

/// Properties of the `kvm` accelerator in QEMU 7.2.
pub const KVM_PROPERTIES: &[&str] = &[
    "kernel-irqchip",
    "kvm-shadow-mem",
    "dirty-ring-size",
    "notify-vmexit",
    "notify-window",
    "x-use-canonical-path-for-ramblock-id",
];

/// Checks `-accel kvm,...` properties as QEMU sets them on `kvm-accel`.
pub fn check_kvm_properties(properties: &Dict) -> Result<(), String> {
    for (name, value) in properties {
        if !KVM_PROPERTIES.contains(&name.as_str()) {
            return Err(format!("Property 'kvm-accel.{name}' not found"));
        }
        let text = value.as_str().unwrap_or_default();
        let allowed: &[&str] = match name.as_str() {
            "kernel-irqchip" => &["on", "off", "split"],
            "notify-vmexit" => &["run", "internal-error", "disable"],
            _ => continue,
        };
        if !allowed.contains(&text) {
            return Err(format!("Parameter '{name}' does not accept value '{text}'"));
        }
    }
    Ok(())
}

pub fn accel_help() -> String {
    let mut out = String::from("Accelerators supported in QEMU binary:\n");
    for name in ACCELERATORS {
        out.push_str(name);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our lines of `-machine help` appear in QEMU 7.2's output verbatim.
    #[test]
    fn machine_help_lines_are_qemus() {
        // The reference files live in `shared/` beside the checkout.
        let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/reference/qemu-7.2/help/machine-help.txt"))
            .find_map(|path| std::fs::read_to_string(path).ok())
            .expect("QEMU 7.2 reference outputs");
        let ours = machine_help();
        for line in ours.lines() {
            assert!(
                reference.lines().any(|r| r == line),
                "{line:?} not in QEMU's output"
            );
        }
        assert_eq!(ours.lines().next(), reference.lines().next());
    }
}
