//! `info qtree`: the device tree from the main system bus down, printed as
//! QEMU 7.2's qdev_print does: each bus with its type and devices (newest
//! first, as qdev keeps them), each device with its GPIO lines, qdev
//! properties, what its bus adds (for PCI functions their class, address,
//! ids and BARs) and its own buses.

use std::fmt::Write;

use hw::core::bus::lock;
use hw::core::qom::{ObjectId, ObjectTree};
use hw::pci::bus::{PciBus, PCI_SECONDARY_BUS};
use hw::pci::config::{
    PciConfig, PCI_CLASS_DEVICE, PCI_DEVICE_ID, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID,
    PCI_VENDOR_ID,
};
use hw::pci::device::{devfn_function, devfn_slot};
use hw::pci::info::{class_description, PCI_BAR_UNMAPPED};
use serde_json::Value;

/// The qdev name of the bus every machine's tree starts at.
const MAIN_SYSTEM_BUS: &str = "main-system-bus";

/// The whole `info qtree` text; `pci_root` is bus 0, for the PCI lines.
pub fn info_qtree(tree: &ObjectTree, pci_root: Option<&PciBus>) -> String {
    let printer = Printer { tree, pci_root };
    let mut out = String::new();
    if let Some(bus) = tree
        .objects()
        .find(|&o| tree.bus_name(o) == Some(MAIN_SYSTEM_BUS))
    {
        printer.bus(&mut out, bus, 0);
    }
    out
}

struct Printer<'a> {
    tree: &'a ObjectTree,
    pci_root: Option<&'a PciBus>,
}

impl Printer<'_> {
    fn bus(&self, out: &mut String, bus: ObjectId, indent: usize) {
        let tree = self.tree;
        let _ = writeln!(
            out,
            "{:indent$}bus: {}",
            "",
            tree.bus_name(bus).unwrap_or("")
        );
        let _ = writeln!(out, "{:1$}type {2}", "", indent + 2, tree.type_name(bus));
        let devices: Vec<ObjectId> = tree
            .objects()
            .filter(|&o| tree.is_device(o) && tree.link(o, "parent_bus") == Some(bus))
            .collect();
        for device in devices.into_iter().rev() {
            self.device(out, device, indent + 2);
        }
    }

    fn device(&self, out: &mut String, device: ObjectId, indent: usize) {
        let tree = self.tree;
        let _ = writeln!(
            out,
            "{:indent$}dev: {}, id \"{}\"",
            "",
            tree.type_name(device),
            tree.device_id(device).unwrap_or("")
        );
        let indent = indent + 2;
        for gpio in tree.gpios(device).iter().rev() {
            if gpio.inputs > 0 {
                let _ = writeln!(
                    out,
                    "{:indent$}gpio-in \"{}\" {}",
                    "", gpio.name, gpio.inputs
                );
            }
            if gpio.outputs > 0 {
                let _ = writeln!(
                    out,
                    "{:indent$}gpio-out \"{}\" {}",
                    "", gpio.name, gpio.outputs
                );
            }
        }
        let on_pci = self.pci_config_path(device).is_some();
        for (name, type_name, value) in tree.qdev_properties(device) {
            let text = if on_pci && name == "addr" {
                devfn_text(value)
            } else {
                property_text(type_name, value)
            };
            let _ = writeln!(out, "{:indent$}{name} = {text}", "");
        }
        if let Some(path) = self.pci_config_path(device) {
            self.pci_lines(out, &path, indent);
        }
        let buses: Vec<ObjectId> = tree
            .children(device)
            .map(|(_, child)| child)
            .filter(|&child| tree.bus_name(child).is_some())
            .collect();
        for bus in buses.into_iter().rev() {
            self.bus(out, bus, indent);
        }
    }

    /// The devfns from bus 0 down to a PCI function: the bridges it sits
    /// behind, then its own. `None` for a device not on a PCI bus.
    fn pci_config_path(&self, device: ObjectId) -> Option<Vec<u8>> {
        let tree = self.tree;
        let bus = tree.link(device, "parent_bus")?;
        if !matches!(tree.type_name(bus), "PCI" | "PCIE") {
            return None;
        }
        let devfn = tree.get(device, "addr").ok()?.as_u64()?;
        let mut path = match parent_device(tree, bus) {
            // Behind a bridge, itself a PCI function.
            Some(bridge)
                if tree
                    .link(bridge, "parent_bus")
                    .is_some_and(|b| matches!(tree.type_name(b), "PCI" | "PCIE")) =>
            {
                self.pci_config_path(bridge)?
            }
            _ => Vec::new(),
        };
        path.push(u8::try_from(devfn).ok()?);
        Some(path)
    }

    /// QEMU's pcibus_dev_print: class, address and ids, then each BAR.
    fn pci_lines(&self, out: &mut String, path: &[u8], indent: usize) {
        let Some(root) = self.pci_root else {
            return;
        };
        with_function(root, 0, path, &mut |number, devfn, config| {
            let class = config.word(PCI_CLASS_DEVICE);
            let _ = writeln!(
                out,
                "{:indent$}class {}, addr {number:02x}:{:02x}.{:x}, pci id {:04x}:{:04x} (sub {:04x}:{:04x})",
                "",
                class_description(class).unwrap_or("(null)"),
                devfn_slot(devfn),
                devfn_function(devfn),
                config.word(PCI_VENDOR_ID),
                config.word(PCI_DEVICE_ID),
                config.word(PCI_SUBSYSTEM_VENDOR_ID),
                config.word(PCI_SUBSYSTEM_ID),
            );
            for (index, bar) in config.bars() {
                let address = config.bar_mapping(index).unwrap_or(PCI_BAR_UNMAPPED);
                let kind = match bar.kind {
                    hw::pci::config::BarKind::Io => "i/o",
                    _ => "mem",
                };
                let end = address.wrapping_add(bar.size).wrapping_sub(1);
                let _ = writeln!(
                    out,
                    "{:indent$}bar {index}: {kind} at {address:#x} [{end:#x}]",
                    ""
                );
            }
        });
    }
}

/// The device whose bus `bus` is.
fn parent_device(tree: &ObjectTree, bus: ObjectId) -> Option<ObjectId> {
    tree.objects()
        .find(|&o| tree.is_device(o) && tree.children(o).any(|(_, child)| child == bus))
}

/// Runs `print` on the function at the end of `path` below `bus` (numbered
/// `number`), with its bus number and devfn.
fn with_function(bus: &PciBus, number: u8, path: &[u8], print: &mut dyn FnMut(u8, u8, &PciConfig)) {
    let Some((&devfn, rest)) = path.split_first() else {
        return;
    };
    let Some(entry) = bus.device(devfn) else {
        return;
    };
    let device = lock(&entry.device);
    if rest.is_empty() {
        print(number, devfn, device.config());
    } else if let Some(secondary) = device.secondary_bus() {
        let secondary_number = device.config().byte(PCI_SECONDARY_BUS);
        with_function(secondary, secondary_number, rest, print);
    }
}

/// A PCI device's `addr` as QEMU's legacy printer shows it: `01.3`, or
/// `<unset>`.
fn devfn_text(value: &Value) -> String {
    match value.as_u64().and_then(|v| u8::try_from(v).ok()) {
        Some(devfn) => format!("{:02x}.{:x}", devfn_slot(devfn), devfn_function(devfn)),
        None => "<unset>".to_owned(),
    }
}

/// A property value as QEMU's human-readable string output visitor
/// prints it: integers with their hexadecimal form, sizes with a unit,
/// strings and enumerations quoted.
fn property_text(type_name: &str, value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::String(s) => format!("\"{s}\""),
        Value::Number(n) if type_name == "size" => {
            let bytes = n.as_u64().unwrap_or_default();
            format!("{bytes} ({})", size_text(bytes))
        }
        // A uint64 prints as a signed number (the visitor's int64 path);
        // the narrower unsigned types fit in it unchanged.
        Value::Number(n) => match n.as_i64().or_else(|| n.as_u64().map(|v| v as i64)) {
            Some(v) => format!("{v} ({:#x})", v as u64),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// QEMU's size_to_str: three significant digits and a binary unit, the
/// next unit from 1000 of the previous up.
fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    // The exponent of bytes * 1024 / 1000, in tens of bits.
    let scaled = bytes as f64 / (1000.0 / 1024.0);
    let exponent = if scaled < 1.0 {
        0
    } else {
        (scaled.log2().floor() as usize) / 10
    };
    let exponent = exponent.min(UNITS.len() - 1);
    let value = bytes as f64 / (1u64 << (exponent * 10)) as f64;
    format!("{} {}", three_digits(value), UNITS[exponent])
}

/// printf's `%0.3g` for values from 0.1 to 1000.
fn three_digits(value: f64) -> String {
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else if value >= 1.0 || value == 0.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Values as QEMU 7.2's `info qtree` printed them.
    #[test]
    fn values_print_as_qemu() {
        assert_eq!(property_text("uint32", &json!(45312)), "45312 (0xb100)");
        assert_eq!(property_text("uint32", &json!(0)), "0 (0x0)");
        assert_eq!(
            property_text("uint64", &json!(u64::MAX)),
            "-1 (0xffffffffffffffff)"
        );
        assert_eq!(
            property_text("int32", &json!(-1)),
            "-1 (0xffffffffffffffff)"
        );
        assert_eq!(property_text("bool", &json!(true)), "true");
        assert_eq!(property_text("str", &json!("")), "\"\"");
        assert_eq!(
            property_text("LostTickPolicy", &json!("discard")),
            "\"discard\""
        );
        assert_eq!(
            property_text("size", &json!(2147483648u64)),
            "2147483648 (2 GiB)"
        );
        assert_eq!(
            property_text("size", &json!(34359738368u64)),
            "34359738368 (32 GiB)"
        );
        assert_eq!(
            property_text("size", &json!(134217728)),
            "134217728 (128 MiB)"
        );
        assert_eq!(property_text("size", &json!(0)), "0 (0 B)");
        assert_eq!(
            property_text("size", &json!(u64::MAX)),
            "18446744073709551615 (16 EiB)"
        );
        assert_eq!(devfn_text(&json!(11)), "01.3");
        assert_eq!(devfn_text(&json!(0xfa)), "1f.2");
        assert_eq!(devfn_text(&json!(-1)), "<unset>");
    }

    #[test]
    fn sizes_switch_unit_at_1000() {
        assert_eq!(size_text(1000), "0.977 KiB");
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(1536 << 20), "1.5 GiB");
    }
}
