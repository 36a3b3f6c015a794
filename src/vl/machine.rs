//! Machine types and accelerators the command line knows, with the
//! properties QEMU 7.2 gives them.

use serde_json::Value;

use super::description::Dict;
use super::qdict::{expects_on_off, parse_bool, parse_i64, parse_size};

/// A machine type: canonical name, alias, description for `-machine help`.
pub struct MachineType {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub description: &'static str,
    pub is_default: bool,
    pub max_cpus: u64,
    /// Whether QEMU gives it serial, parallel and VGA by default.
    pub has_default_devices: bool,
    /// The CPU model `-cpu` defaults to, by QOM type name (none: no CPUs).
    pub default_cpu_type: Option<&'static str>,
    /// The id of the main RAM's memory backend.
    pub default_ram_id: &'static str,
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
        default_cpu_type: Some("qemu64-x86_64-cpu"),
        default_ram_id: "pc.ram",
    },
    MachineType {
        name: "pc-q35-7.2",
        alias: Some("q35"),
        description: "Standard PC (Q35 + ICH9, 2009)",
        is_default: false,
        max_cpus: 288,
        has_default_devices: true,
        default_cpu_type: Some("qemu64-x86_64-cpu"),
        default_ram_id: "pc.ram",
    },
    MachineType {
        name: "none",
        alias: None,
        description: "empty machine",
        is_default: false,
        max_cpus: 1,
        has_default_devices: false,
        default_cpu_type: None,
        default_ram_id: "ram",
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

/// A machine property as `-machine TYPE,help` lists it.
pub struct MachineProperty {
    pub name: &'static str,
    /// QEMU's type name (`bool`, `OnOffAuto`, `size`, `string`, ...).
    pub type_name: &'static str,
    pub description: Option<&'static str>,
    /// Whether `none` has it too, or only the PC machines.
    pub every_machine: bool,
}

const fn property(
    name: &'static str,
    type_name: &'static str,
    description: Option<&'static str>,
) -> MachineProperty {
    MachineProperty {
        name,
        type_name,
        description,
        every_machine: true,
    }
}

const fn pc_property(
    name: &'static str,
    type_name: &'static str,
    description: Option<&'static str>,
) -> MachineProperty {
    MachineProperty {
        every_machine: false,
        ..property(name, type_name, description)
    }
}

/// The properties of QEMU 7.2's PC machines (the same for i440FX and
/// Q35), in `-machine TYPE,help` order; `none` has those marked so.
const MACHINE_PROPERTIES: &[MachineProperty] = &[
    pc_property("acpi", "OnOffAuto", Some("Enable ACPI")),
    property("append", "string", Some("Linux kernel command line")),
    property("boot", "BootConfiguration", Some("Boot configuration")),
    pc_property("bus-lock-ratelimit", "uint64_t", Some("Set the ratelimit for the bus locks acquired in VMs")),
    property("confidential-guest-support", "link<confidential-guest-support>", Some("Set confidential guest scheme to support")),
    pc_property("default-bus-bypass-iommu", "bool", None),
    property("dt-compatible", "string", Some("Overrides the \"compatible\" property of the dt root node")),
    property("dtb", "string", Some("Linux kernel device tree file")),
    property("dump-guest-core", "bool", Some("Include guest memory in a core dump")),
    property("dumpdtb", "string", Some("Dump current dtb to a file and quit")),
    property("firmware", "string", Some("Firmware image")),
    property("graphics", "bool", Some("Set on/off to enable/disable graphics emulation")),
    pc_property("hpet", "bool", Some("Enable/disable high precision event timer emulation")),
    pc_property("i8042", "bool", None),
    property("initrd", "string", Some("Linux initial ramdisk file")),
    property("kernel", "string", Some("Linux kernel image file")),
    pc_property("max-fw-size", "size", Some("Maximum combined firmware size")),
    pc_property("max-ram-below-4g", "size", Some("Maximum ram below the 4G boundary (32bit boundary)")),
    property("mem-merge", "bool", Some("Enable/disable memory merge support")),
    property("memory-backend", "link<memory-backend>", Some("Set RAM backendValid value is ID of hostmem based backend")),
    property("memory-encryption", "string", Some("Set memory encryption object to use")),
    property("memory", "MemorySizeConfiguration", Some("Memory size configuration")),
    property("phandle-start", "int", Some("The first phandle ID we may generate dynamically")),
    pc_property("pic", "OnOffAuto", Some("Enable i8259 PIC")),
    pc_property("pit", "OnOffAuto", Some("Enable i8254 PIT")),
    pc_property("sata", "bool", Some("Enable/disable Serial ATA bus")),
    pc_property("sgx-epc", "SgxEPC", Some("SGX EPC device")),
    pc_property("smbios-entry-point-type", "str", Some("SMBIOS Entry Point type [32, 64]")),
    pc_property("smbus", "bool", Some("Enable/disable system management bus")),
    pc_property("smm", "OnOffAuto", Some("Enable SMM")),
    property("smp", "SMPConfiguration", Some("CPU topology")),
    property("suppress-vmdesc", "bool", Some("Set on to disable self-describing migration")),
    property("usb", "bool", Some("Set on/off to enable/disable usb")),
    pc_property("vmport", "OnOffAuto", Some("Enable vmport (pc & q35)")),
    pc_property("x-oem-id", "string", Some("Override the default value of field OEMID in ACPI table header.The string may be up to 6 bytes in size")),
    pc_property("x-oem-table-id", "string", Some("Override the default value of field OEM Table ID in ACPI table header.The string may be up to 8 bytes in size")),
];

/// The properties `-machine TYPE` takes.
pub fn properties_of(machine: &MachineType) -> impl Iterator<Item = &'static MachineProperty> {
    let pc = machine.name != "none";
    MACHINE_PROPERTIES
        .iter()
        .filter(move |p| pc || p.every_machine)
}

/// `-machine TYPE,help`, in QEMU's format.
pub fn machine_properties_help(machine: &MachineType) -> String {
    let mut out = format!("{}-machine options:\n", machine.name);
    for property in properties_of(machine) {
        let mut line = format!("  {}=<{}>", property.name, property.type_name);
        if let Some(description) = property.description {
            while line.len() < 24 {
                line.push(' ');
            }
            line.push_str(" - ");
            line.push_str(description);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Checks one `-machine` property the way QEMU sets it on the machine
/// object.
pub fn check_machine_property(
    machine: &MachineType,
    name: &str,
    value: &Value,
) -> Result<(), String> {
    let Some(property) = properties_of(machine).find(|p| p.name == name) else {
        return Err(format!(
            "Property '{}-machine.{name}' not found",
            machine.name
        ));
    };
    let text = value.as_str();
    let expects = |what: &str| format!("Parameter '{name}' expects {what}");
    let not_accepted = || {
        format!(
            "Parameter '{name}' does not accept value '{}'",
            text.unwrap_or_default()
        )
    };
    match property.type_name {
        "bool" if text.and_then(parse_bool).is_none() => Err(expects_on_off(name)),
        "OnOffAuto" if !matches!(text, Some("on" | "off" | "auto")) => Err(not_accepted()),
        // The SMBIOS entry point type: an enumeration.
        "str" if !matches!(text, Some("32" | "64")) => Err(not_accepted()),
        "size" if text.map(|t| parse_size(t, 1)).is_none_or(|r| r.is_err()) => Err(expects("size")),
        "uint64_t" | "int" if text.and_then(parse_i64).is_none() => Err(expects("integer")),
        "BootConfiguration" | "MemorySizeConfiguration" | "SMPConfiguration" | "SgxEPC"
            if !value.is_object() =>
        {
            Err(format!(
                "Invalid parameter type for '{name}', expected: object"
            ))
        }
        t if (t == "string" || t.starts_with("link<")) && !value.is_string() => {
            Err(format!("Parameters '{name}.*' used inconsistently"))
        }
        _ => Ok(()),
    }
}

/// The accelerators implemented, for `-accel help` and `-accel NAME`.
pub const ACCELERATORS: &[&str] = &["kvm", "qtest"];

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

/// Checks `-accel qtest,...` properties: the qtest accelerator has none.
pub fn check_qtest_properties(properties: &Dict) -> Result<(), String> {
    match properties.keys().next() {
        Some(name) => Err(format!("Property 'qtest-accel.{name}' not found")),
        None => Ok(()),
    }
}

pub fn accel_help() -> String {
    let mut out = String::from("Accelerators supported in QEMU binary:\n");
    // As QEMU, the list leaves out qtest, which is for tests only.
    for name in ACCELERATORS.iter().filter(|name| **name != "qtest") {
        out.push_str(name);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-machine TYPE,help` as QEMU 7.2 prints it.
    #[test]
    fn machine_properties_help_is_qemus() {
        let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/reference/qemu-7.2/help/machine-q35-help.txt"))
            .find_map(|path| std::fs::read_to_string(path).ok())
            .expect("QEMU 7.2 reference outputs");
        let q35 = find_machine_type("q35").unwrap();
        assert_eq!(
            machine_properties_help(q35),
            reference.trim_end_matches("rc=0\n")
        );
    }

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
