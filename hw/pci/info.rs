//! What `query-pci` and HMP `info pci` report, from the bus tree (QEMU's
//! `qmp_query_pci` in `hw/pci/pci.c` and `hmp_info_pci`).

use std::fmt::Write;

use crate::core::bus::lock;

use super::bridge::{
    PCI_IO_BASE, PCI_MEMORY_BASE, PCI_PREF_BASE_UPPER32, PCI_PREF_MEMORY_BASE, PCI_PRIMARY_BUS,
};
use super::bus::{secondary_bus_in_range, PciBus, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS};
use super::config::{
    BarKind, PciConfig, PCI_CLASS_DEVICE, PCI_DEVICE_ID, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE,
    PCI_HEADER_TYPE_NORMAL, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_SUBSYSTEM_ID,
    PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID,
};
use super::device::{devfn_function, devfn_slot};

/// Address QEMU reports for a BAR that does not decode (`PCI_BAR_UNMAPPED`).
pub const PCI_BAR_UNMAPPED: u64 = u64::MAX;

/// One root bus and its functions (QAPI `PciInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciInfo {
    pub bus: u8,
    pub devices: Vec<PciDeviceInfo>,
}

/// QAPI `PciDeviceInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDeviceInfo {
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
    pub class_info: PciDeviceClass,
    pub id: PciDeviceId,
    /// The interrupt line register, for functions with an interrupt pin.
    pub irq: Option<u8>,
    pub irq_pin: u8,
    /// The `id=` the device was created with, empty without one.
    pub qdev_id: String,
    pub pci_bridge: Option<PciBridgeInfo>,
    pub regions: Vec<PciMemoryRegion>,
}

/// QAPI `PciDeviceClass`: base class and subclass, and QEMU's name for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDeviceClass {
    pub desc: Option<&'static str>,
    pub class: u16,
}

/// QAPI `PciDeviceId`; subsystem ids only for type-0 headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDeviceId {
    pub device: u16,
    pub vendor: u16,
    pub subsystem: Option<u16>,
    pub subsystem_vendor: Option<u16>,
}

/// QAPI `PciMemoryRegion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciMemoryRegion {
    pub bar: u8,
    /// `"io"` or `"memory"`.
    pub region_type: &'static str,
    /// Where it decodes, `PCI_BAR_UNMAPPED` when it does not.
    pub address: u64,
    pub size: u64,
    /// Memory BARs only.
    pub prefetch: Option<bool>,
    pub mem_type_64: Option<bool>,
}

/// QAPI `PciBridgeInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciBridgeInfo {
    pub bus: PciBusInfo,
    /// The functions behind it, when its secondary bus is numbered.
    pub devices: Option<Vec<PciDeviceInfo>>,
}

/// QAPI `PciBusInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciBusInfo {
    pub number: u8,
    pub secondary: u8,
    pub subordinate: u8,
    pub io_range: PciMemoryRange,
    pub memory_range: PciMemoryRange,
    pub prefetchable_range: PciMemoryRange,
}

/// QAPI `PciMemoryRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciMemoryRange {
    pub base: u64,
    pub limit: u64,
}

/// QEMU's names of PCI classes (`pci_class_descriptions`).
const CLASS_DESCRIPTIONS: &[(u16, &str)] = &[
    (0x0001, "VGA controller"),
    (0x0100, "SCSI controller"),
    (0x0101, "IDE controller"),
    (0x0102, "Floppy controller"),
    (0x0103, "IPI controller"),
    (0x0104, "RAID controller"),
    (0x0106, "SATA controller"),
    (0x0107, "SAS controller"),
    (0x0180, "Storage controller"),
    (0x0200, "Ethernet controller"),
    (0x0201, "Token Ring controller"),
    (0x0202, "FDDI controller"),
    (0x0203, "ATM controller"),
    (0x0280, "Network controller"),
    (0x0300, "VGA controller"),
    (0x0301, "XGA controller"),
    (0x0302, "3D controller"),
    (0x0380, "Display controller"),
    (0x0400, "Video controller"),
    (0x0401, "Audio controller"),
    (0x0402, "Phone"),
    (0x0403, "Audio controller"),
    (0x0480, "Multimedia controller"),
    (0x0500, "RAM controller"),
    (0x0501, "Flash controller"),
    (0x0580, "Memory controller"),
    (0x0600, "Host bridge"),
    (0x0601, "ISA bridge"),
    (0x0602, "EISA bridge"),
    (0x0603, "MC bridge"),
    (0x0604, "PCI bridge"),
    (0x0605, "PCMCIA bridge"),
    (0x0606, "NUBUS bridge"),
    (0x0607, "CARDBUS bridge"),
    (0x0608, "RACEWAY bridge"),
    (0x0680, "Bridge"),
    (0x0700, "Serial port"),
    (0x0701, "Parallel port"),
    (0x0800, "Interrupt controller"),
    (0x0801, "DMA controller"),
    (0x0802, "Timer"),
    (0x0803, "RTC"),
    (0x0900, "Keyboard"),
    (0x0901, "Pen"),
    (0x0902, "Mouse"),
    (0x0a00, "Dock station"),
    (0x0b00, "i386 cpu"),
    (0x0c00, "Firewire controller"),
    (0x0c01, "Access bus controller"),
    (0x0c02, "SSA controller"),
    (0x0c03, "USB controller"),
    (0x0c04, "Fibre channel controller"),
    (0x0c05, "SMBus"),
];

/// QEMU's name of a class (base class and subclass), if it has one.
pub fn class_description(class: u16) -> Option<&'static str> {
    CLASS_DESCRIPTIONS
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, desc)| *desc)
}

/// `query-pci` of the root bus `root` (bus 0).
pub fn query_pci(root: &PciBus) -> Vec<PciInfo> {
    vec![PciInfo {
        bus: 0,
        devices: query_bus(root, 0, None),
    }]
}

/// The functions of `bus`, numbered `number`; `parent_bridge` is the
/// configuration of the bridge in front of it (none for the root bus).
fn query_bus(bus: &PciBus, number: u8, parent_bridge: Option<&PciConfig>) -> Vec<PciDeviceInfo> {
    bus.devices()
        .map(|(devfn, entry)| {
            let device = lock(&entry.device);
            let config = device.config();
            let header = config.byte(PCI_HEADER_TYPE) & 0x7f;
            let pci_bridge = (header == PCI_HEADER_TYPE_BRIDGE).then(|| {
                let secondary = config.byte(PCI_SECONDARY_BUS);
                // QEMU finds the secondary bus by number from this bus: a bus
                // behind a bridge only sees numbers in that bridge's range.
                let reachable = secondary != 0
                    && parent_bridge.is_none_or(|p| secondary_bus_in_range(p, secondary));
                let devices = device
                    .secondary_bus()
                    .filter(|_| reachable)
                    .map(|child| query_bus(child, secondary, Some(config)));
                PciBridgeInfo {
                    bus: bridge_bus_info(config),
                    devices,
                }
            });
            let normal = header == PCI_HEADER_TYPE_NORMAL;
            let pin = config.byte(PCI_INTERRUPT_PIN);
            PciDeviceInfo {
                bus: number,
                slot: devfn_slot(devfn),
                function: devfn_function(devfn),
                class_info: PciDeviceClass {
                    desc: class_description(config.word(PCI_CLASS_DEVICE)),
                    class: config.word(PCI_CLASS_DEVICE),
                },
                id: PciDeviceId {
                    device: config.word(PCI_DEVICE_ID),
                    vendor: config.word(PCI_VENDOR_ID),
                    subsystem: normal.then(|| config.word(PCI_SUBSYSTEM_ID)),
                    subsystem_vendor: normal.then(|| config.word(PCI_SUBSYSTEM_VENDOR_ID)),
                },
                irq: (pin != 0).then(|| config.byte(PCI_INTERRUPT_LINE)),
                irq_pin: pin,
                qdev_id: entry.qdev_id.clone().unwrap_or_default(),
                pci_bridge,
                regions: regions(config),
            }
        })
        .collect()
}

fn regions(config: &PciConfig) -> Vec<PciMemoryRegion> {
    config
        .bars()
        .map(|(index, bar)| {
            let (region_type, prefetch, mem_type_64) = match bar.kind {
                BarKind::Io => ("io", None, None),
                BarKind::Memory32 { prefetchable } => ("memory", Some(prefetchable), Some(false)),
                BarKind::Memory64 { prefetchable } => ("memory", Some(prefetchable), Some(true)),
            };
            PciMemoryRegion {
                bar: index as u8,
                region_type,
                address: config.bar_mapping(index).unwrap_or(PCI_BAR_UNMAPPED),
                size: bar.size,
                prefetch,
                mem_type_64,
            }
        })
        .collect()
}

/// A bridge's bus numbers and forwarding windows (QEMU's
/// `pci_bridge_get_base`/`pci_bridge_get_limit`): each limit register holds
/// the last 4 KiB (I/O) or 1 MiB (memory) block the window covers; the low
/// nibble of a base says whether the upper 16 (I/O) or 32 (prefetchable)
/// address bits are in use.
fn bridge_bus_info(config: &PciConfig) -> PciBusInfo {
    const PCI_IO_LIMIT: usize = PCI_IO_BASE + 1;
    const PCI_IO_BASE_UPPER16: usize = 0x30;
    const PCI_IO_LIMIT_UPPER16: usize = 0x32;
    const PCI_MEMORY_LIMIT: usize = PCI_MEMORY_BASE + 2;
    const PCI_PREF_MEMORY_LIMIT: usize = PCI_PREF_MEMORY_BASE + 2;
    const PCI_PREF_LIMIT_UPPER32: usize = PCI_PREF_BASE_UPPER32 + 4;
    let io = |offset: usize, upper: usize| {
        let reg = config.byte(offset);
        let mut value = u64::from(reg & 0xf0) << 8;
        if reg & 0x0f == 0x01 {
            value |= u64::from(config.word(upper)) << 16;
        }
        value
    };
    let memory = |offset: usize| u64::from(config.word(offset) & 0xfff0) << 16;
    let prefetchable = |offset: usize, upper: usize| {
        let reg = config.word(offset);
        let mut value = u64::from(reg & 0xfff0) << 16;
        if reg & 0x000f == 0x0001 {
            value |= u64::from(config.long(upper)) << 32;
        }
        value
    };
    PciBusInfo {
        number: config.byte(PCI_PRIMARY_BUS),
        secondary: config.byte(PCI_SECONDARY_BUS),
        subordinate: config.byte(PCI_SUBORDINATE_BUS),
        io_range: PciMemoryRange {
            base: io(PCI_IO_BASE, PCI_IO_BASE_UPPER16),
            limit: io(PCI_IO_LIMIT, PCI_IO_LIMIT_UPPER16) | 0xfff,
        },
        memory_range: PciMemoryRange {
            base: memory(PCI_MEMORY_BASE),
            limit: memory(PCI_MEMORY_LIMIT) | 0xf_ffff,
        },
        prefetchable_range: PciMemoryRange {
            base: prefetchable(PCI_PREF_MEMORY_BASE, PCI_PREF_BASE_UPPER32),
            limit: prefetchable(PCI_PREF_MEMORY_LIMIT, PCI_PREF_LIMIT_UPPER32) | 0xf_ffff,
        },
    }
}

/// HMP `info pci`, as QEMU prints it.
pub fn hmp_info_pci(info: &[PciInfo]) -> String {
    let mut out = String::new();
    for bus in info {
        for device in &bus.devices {
            print_device(&mut out, device);
        }
    }
    out
}

fn print_device(out: &mut String, dev: &PciDeviceInfo) {
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "  Bus {:2}, device {:3}, function {}:",
        dev.bus, dev.slot, dev.function
    );
    out.push_str("    ");
    match dev.class_info.desc {
        Some(desc) => out.push_str(desc),
        None => {
            let _ = write!(out, "Class {:04}", dev.class_info.class);
        }
    }
    let _ = writeln!(
        out,
        ": PCI device {:04x}:{:04x}",
        dev.id.vendor, dev.id.device
    );
    if let (Some(vendor), Some(device)) = (dev.id.subsystem_vendor, dev.id.subsystem) {
        let _ = writeln!(out, "      PCI subsystem {vendor:04x}:{device:04x}");
    }
    if let Some(irq) = dev.irq {
        let pin = char::from(b'A'.wrapping_add(dev.irq_pin).wrapping_sub(1));
        let _ = writeln!(out, "      IRQ {irq}, pin {pin}");
    }
    if let Some(bridge) = &dev.pci_bridge {
        let b = &bridge.bus;
        let _ = writeln!(out, "      BUS {}.", b.number);
        let _ = writeln!(out, "      secondary bus {}.", b.secondary);
        let _ = writeln!(out, "      subordinate bus {}.", b.subordinate);
        let _ = writeln!(
            out,
            "      IO range [0x{:04x}, 0x{:04x}]",
            b.io_range.base, b.io_range.limit
        );
        let _ = writeln!(
            out,
            "      memory range [0x{:08x}, 0x{:08x}]",
            b.memory_range.base, b.memory_range.limit
        );
        let _ = writeln!(
            out,
            "      prefetchable memory range [0x{:08x}, 0x{:08x}]",
            b.prefetchable_range.base, b.prefetchable_range.limit
        );
    }
    for region in &dev.regions {
        let end = region.address.wrapping_add(region.size).wrapping_sub(1);
        let _ = write!(out, "      BAR{}: ", region.bar);
        if region.region_type == "io" {
            let _ = writeln!(out, "I/O at 0x{:04x} [0x{:04x}].", region.address, end);
        } else {
            let bits = if region.mem_type_64 == Some(true) {
                64
            } else {
                32
            };
            let prefetch = if region.prefetch == Some(true) {
                " prefetchable"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{bits} bit{prefetch} memory at 0x{:08x} [0x{:08x}].",
                region.address, end
            );
        }
    }
    let _ = writeln!(out, "      id \"{}\"", dev.qdev_id);
    if let Some(devices) = bridge_devices(dev) {
        for child in devices {
            print_device(out, child);
        }
    }
}

fn bridge_devices(dev: &PciDeviceInfo) -> Option<&Vec<PciDeviceInfo>> {
    dev.pci_bridge.as_ref()?.devices.as_ref()
}
