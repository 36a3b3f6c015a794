//! PCI-to-PCI bridges with a type-1 header that own a secondary bus:
//! QEMU's `pci-bridge` (`hw/pci-bridge/pci_bridge_dev.c`) and the generic
//! `pcie-root-port` (`hw/pci-bridge/gen_pcie_root_port.c`,
//! `hw/pci/pcie_root_port.c`). Configuration cycles to bus numbers in a
//! bridge's secondary..subordinate range go to its secondary bus.

use super::bus::{PciBus, PCI_BRIDGE_CONTROL};
use super::config::{
    ranges_overlap, Bar, BarKind, PciConfig, PciIds, PCIE_CONFIG_SPACE_SIZE, PCI_CONFIG_SPACE_SIZE,
    PCI_HEADER_TYPE_BRIDGE, PCI_INTERRUPT_PIN, PCI_STATUS, PCI_STATUS_66MHZ, PCI_STATUS_FAST_BACK,
};
use super::device::PciDevice;

pub const PCI_VENDOR_ID_REDHAT: u16 = 0x1b36;
pub const PCI_DEVICE_ID_REDHAT_BRIDGE: u16 = 0x0001;
pub const PCI_DEVICE_ID_REDHAT_PCIE_RP: u16 = 0x000c;
pub const PCI_CLASS_BRIDGE_PCI: u32 = 0x060400;

pub const PCI_PRIMARY_BUS: usize = 0x18;
pub const PCI_IO_BASE: usize = 0x1c;
pub const PCI_SEC_STATUS: usize = 0x1e;
pub const PCI_MEMORY_BASE: usize = 0x20;
pub const PCI_PREF_MEMORY_BASE: usize = 0x24;
pub const PCI_PREF_BASE_UPPER32: usize = 0x28;

const PCI_CAP_ID_MSI: u8 = 0x05;
const PCI_CAP_ID_SLOTID: u8 = 0x04;
const PCI_CAP_ID_SHPC: u8 = 0x0c;
const PCI_CAP_ID_SSVID: u8 = 0x0d;
const PCI_CAP_ID_EXP: u8 = 0x10;
const PCI_CAP_ID_MSIX: u8 = 0x11;
const PCI_EXT_CAP_ID_ERR: u16 = 0x01;
const PCI_EXT_CAP_ID_ACS: u16 = 0x0d;
const PCI_MSI_FLAGS_ENABLE: u16 = 0x0001;
const PCI_MSI_FLAGS_64BIT: u16 = 0x0080;
const PCI_MSI_FLAGS_MASKBIT: u16 = 0x0100;
/// Slot identification: first in chassis.
const PCI_SID_ESR_FIC: u8 = 0x20;

/// One register of a model's configuration space: reset value, writable
/// bits and write-1-to-clear bits, 32 bits at a 4-byte aligned offset.
struct Register {
    offset: usize,
    value: u32,
    wmask: u32,
    w1cmask: u32,
}

const fn reg(offset: usize, value: u32, wmask: u32, w1cmask: u32) -> Register {
    Register {
        offset,
        value,
        wmask,
        w1cmask,
    }
}

fn apply(config: &mut PciConfig, registers: &[Register]) {
    for r in registers {
        config.set_long(r.offset, r.value);
        config.set_wmask_long(r.offset, r.wmask);
        config.set_w1cmask_long(r.offset, r.w1cmask);
    }
}

/// The bridge part of the type-1 header common to both bridges: bus numbers
/// writable, secondary status errors write-1-to-clear, the window registers
/// with their writable address bits (QEMU's `pci_init_wmask_bridge`).
fn init_bridge_header(config: &mut PciConfig, secondary_status: u16, bridge_control_wmask: u16) {
    config.set_wmask_long(PCI_PRIMARY_BUS, 0xffff_ffff);
    config.set_wmask_long(PCI_IO_BASE, 0x0000_f0f0);
    config.set_w1cmask_long(PCI_IO_BASE, 0xf900_0000);
    config.set_word(PCI_SEC_STATUS, secondary_status);
    config.set_wmask_long(PCI_MEMORY_BASE, 0xfff0_fff0);
    config.set_wmask_long(PCI_PREF_MEMORY_BASE, 0xfff0_fff0);
    // 64-bit prefetchable window: type 1 in both the base and the limit.
    config.set_long(PCI_PREF_MEMORY_BASE, 0x0001_0001);
    config.set_wmask_long(PCI_PREF_BASE_UPPER32, 0xffff_ffff);
    config.set_wmask_long(PCI_PREF_BASE_UPPER32 + 4, 0xffff_ffff);
    config.set_wmask_word(PCI_BRIDGE_CONTROL, bridge_control_wmask);
    // Discard timer status, write 1 to clear.
    config.set_w1cmask_word(PCI_BRIDGE_CONTROL, 0x0400);
    config.set_byte(PCI_INTERRUPT_PIN, 1);
}

/// The part of QEMU's `pci_bridge_reset` both bridges share: bus numbers,
/// secondary latency and bridge control zeroed, window address bits cleared.
fn reset_bridge_header(config: &mut PciConfig) {
    config.set_long(PCI_PRIMARY_BUS, 0);
    let io = config.long(PCI_IO_BASE) & !0x0000_f0f0;
    config.set_long(PCI_IO_BASE, io);
    config.set_long(PCI_MEMORY_BASE, 0);
    config.set_long(PCI_PREF_MEMORY_BASE, 0x0001_0001);
    config.set_long(PCI_PREF_BASE_UPPER32, 0);
    config.set_long(PCI_PREF_BASE_UPPER32 + 4, 0);
    config.set_word(PCI_BRIDGE_CONTROL, 0);
}

/// QEMU's `pci-bridge`: a conventional PCI-to-PCI bridge with SHPC, MSI and
/// slot identification capabilities and a 256-byte 64-bit BAR for the SHPC
/// registers.
pub struct PciBridge {
    config: PciConfig,
    secondary: PciBus,
}

impl PciBridge {
    /// A bridge at `devfn` of `parent`, with the `chassis_nr` property.
    pub fn new(parent: &PciBus, devfn: u8, chassis_nr: u8) -> Self {
        let mut config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_BRIDGE,
            PciIds {
                vendor: PCI_VENDOR_ID_REDHAT,
                device: PCI_DEVICE_ID_REDHAT_BRIDGE,
                revision: 0,
                class: PCI_CLASS_BRIDGE_PCI,
                subsystem_vendor: 0,
                subsystem: 0,
            },
        );
        // A conventional bridge announces 66 MHz and fast back-to-back on
        // both of its sides.
        let fast = PCI_STATUS_66MHZ | PCI_STATUS_FAST_BACK;
        config.set_word(PCI_STATUS, fast);
        init_bridge_header(&mut config, fast, 0x0bff);
        config.register_bar(
            0,
            Bar {
                kind: BarKind::Memory64 {
                    prefetchable: false,
                },
                size: 0x100,
            },
        );
        // QEMU adds SHPC, slot identification, then MSI; each capability
        // goes to the head of the list.
        config.add_capability(PCI_CAP_ID_SHPC, 0x40, 8);
        // The DWORD select register picks which SHPC register the data
        // register shows.
        config.set_wmask_byte(SHPC_CAP_DWORD_SELECT, 0xff);
        config.add_capability(PCI_CAP_ID_SLOTID, 0x48, 4);
        // First in chassis, no expansion slots; the chassis number is writable.
        config.set_byte(0x4a, PCI_SID_ESR_FIC);
        config.set_byte(0x4b, chassis_nr);
        config.set_wmask_byte(0x4b, 0xff);
        config.add_capability(PCI_CAP_ID_MSI, 0x4c, 0x18);
        // One vector, 64-bit address, per-vector masking.
        config.set_word(0x4e, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
        config.set_wmask_word(0x4e, PCI_MSI_FLAGS_ENABLE);
        apply(
            &mut config,
            &[
                reg(0x50, 0, 0xffff_fffc, 0),
                reg(0x54, 0, 0xffff_ffff, 0),
                reg(0x58, 0, 0x0000_ffff, 0),
                reg(0x5c, 0, 0x0000_0001, 0),
            ],
        );
        Self {
            config,
            secondary: parent.new_secondary(devfn),
        }
    }
}

/// Offsets of the SHPC capability's DWORD select and data registers.
const SHPC_CAP_DWORD_SELECT: usize = 0x42;
const SHPC_CAP_DWORD_DATA: usize = 0x44;

/// The SHPC register at `dword`, as QEMU's `pci-bridge` shows it after
/// reset through the capability's data register: 31 slots at 33 MHz, all
/// empty and powered off. The controller itself (commands through BAR 0)
/// is not modelled, so these registers do not change.
fn shpc_register_at_reset(dword: u8) -> u32 {
    match dword {
        // Slots available: 31 at 33 MHz.
        1 => 0x0000_001f,
        // Slot configuration: 31 slots from device 1, physical slot 1 up.
        3 => 0xe001_011f,
        // Programming interface 1.
        4 => 0x0100_0000,
        // Controller SERR/interrupt masks, all set.
        8 => 0x0000_000f,
        // Per-slot registers: empty, power and attention indicators off.
        9..=0x27 => 0x7f00_0d0f,
        _ => 0,
    }
}

impl PciDevice for PciBridge {
    fn type_name(&self) -> &'static str {
        "pci-bridge"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, SHPC_CAP_DWORD_SELECT, 1) {
            let dword = self.config.byte(SHPC_CAP_DWORD_SELECT);
            self.config
                .set_long(SHPC_CAP_DWORD_DATA, shpc_register_at_reset(dword));
        }
    }
    fn reset(&mut self) {
        self.config.reset();
        reset_bridge_header(&mut self.config);
        // QEMU's `msi_reset`: MSI off, its address, data and mask cleared.
        let msi_control = self.config.word(0x4e) & !PCI_MSI_FLAGS_ENABLE;
        self.config.set_word(0x4e, msi_control);
        for offset in (0x50..0x64).step_by(4) {
            self.config.set_long(offset, 0);
        }
        self.config.set_byte(SHPC_CAP_DWORD_SELECT, 0);
        self.config
            .set_long(SHPC_CAP_DWORD_DATA, shpc_register_at_reset(0));
    }
    fn secondary_bus(&self) -> Option<&PciBus> {
        Some(&self.secondary)
    }
    fn secondary_bus_mut(&mut self) -> Option<&mut PciBus> {
        Some(&mut self.secondary)
    }
}

/// Offset of the PCI Express capability of `pcie-root-port`.
const RP_EXP_CAP: usize = 0x54;
const PCI_EXP_SLTCTL: usize = RP_EXP_CAP + 0x18;
const PCI_EXP_SLTSTA: usize = RP_EXP_CAP + 0x1a;
const PCI_EXP_SLTCAP_HPS: u32 = 0x0020;
const PCI_EXP_SLTCAP_HPC: u32 = 0x0040;
const PCI_EXP_SLTCTL_AIC_OFF: u16 = 0x00c0;
const PCI_EXP_SLTCTL_PIC_ON: u16 = 0x0100;
const PCI_EXP_SLTCTL_PIC_OFF: u16 = 0x0300;
const PCI_EXP_SLTCTL_PCC: u16 = 0x0400;
const PCI_EXP_SLTCTL_EIC: u16 = 0x0800;
const PCI_EXP_SLTSTA_CC: u16 = 0x0010;
const PCI_EXP_SLTSTA_EIS: u16 = 0x0080;

/// QEMU's generic `pcie-root-port`: a PCI Express root port (device/port
/// type 4) with a hot-plug capable slot, MSI-X in a 4 KiB BAR, AER and ACS.
pub struct PcieRootPort {
    config: PciConfig,
    secondary: PciBus,
    props: RootPortProperties,
}

/// Properties of `pcie-root-port` that show in its configuration space.
#[derive(Debug, Clone, Copy)]
pub struct RootPortProperties {
    /// `port`: the port number in the link capabilities.
    pub port: u8,
    /// `chassis`: the chassis of the slot.
    pub chassis: u8,
    /// `slot`: the physical slot number in the slot capabilities.
    pub slot: u16,
    /// `hotplug`: whether the slot announces hot-plug (QEMU's default: on).
    pub hotplug: bool,
}

impl PcieRootPort {
    /// A root port at `devfn` of `parent`.
    pub fn new(parent: &PciBus, devfn: u8, props: RootPortProperties) -> Self {
        let mut config = PciConfig::new(
            PCIE_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_BRIDGE,
            PciIds {
                vendor: PCI_VENDOR_ID_REDHAT,
                device: PCI_DEVICE_ID_REDHAT_PCIE_RP,
                revision: 0,
                class: PCI_CLASS_BRIDGE_PCI,
                subsystem_vendor: 0,
                subsystem: 0,
            },
        );
        init_bridge_header(&mut config, 0, 0x005f);
        config.register_bar(
            0,
            Bar {
                kind: BarKind::Memory32 {
                    prefetchable: false,
                },
                size: 0x1000,
            },
        );
        // QEMU adds the bridge subsystem ids, MSI-X, then PCI Express; each
        // capability goes to the head of the list.
        config.add_capability(PCI_CAP_ID_SSVID, 0x40, 8);
        config.set_word(0x44, PCI_VENDOR_ID_REDHAT);
        // MSI-X: one vector, table at BAR 0 offset 0, PBA at offset 0x800;
        // enable and function mask writable.
        config.add_capability(PCI_CAP_ID_MSIX, 0x48, 12);
        config.set_wmask_word(0x4a, 0xc000);
        config.set_long(0x50, 0x800);
        config.add_capability(PCI_CAP_ID_EXP, RP_EXP_CAP, 0x3c);
        // Version 2, root port, slot implemented.
        config.set_word(RP_EXP_CAP + 2, 0x0142);
        // Attention button, power controller, indicators, electromechanical
        // interlock; hot-plug surprise and capable when `hotplug` is on.
        let mut slot_capabilities = 0x0002_001b | u32::from(props.slot) << 19;
        if props.hotplug {
            slot_capabilities |= PCI_EXP_SLTCAP_HPS | PCI_EXP_SLTCAP_HPC;
        }
        // The rest of the PCI Express capability, then AER and ACS, as
        // QEMU 7.2 initializes them: offset, value, writable, write-1-to-clear.
        let registers = [
            reg(0x58, 0x0000_8000, 0, 0),
            reg(0x5c, 0, 0x0000_000f, 0x000f_0000),
            reg(0x60, 0x0030_0604 | u32::from(props.port) << 24, 0, 0),
            reg(0x64, 0x0204_0000, 0, 0),
            reg(0x68, slot_capabilities, 0, 0),
            reg(0x6c, 0, 0x0000_07f9, 0x011f_0000),
            reg(0x70, 0, 0x0000_0007, 0),
            reg(0x74, 0, 0, 0x0001_0000),
            reg(0x78, 0x0030_0020, 0, 0),
            reg(0x7c, 0, 0x0000_8020, 0),
            reg(0x80, 0x0000_001e, 0, 0),
            reg(0x84, 0x0000_0004, 0, 0),
            reg(0x104, 0, 0, 0x03ff_f030),
            reg(0x10c, 0x0046_2030, 0x03ff_f030, 0),
            reg(0x110, 0, 0, 0x0000_f1c1),
            reg(0x114, 0x0000_e000, 0x0000_f1c1, 0),
            reg(0x118, 0x0000_02a0, 0x0000_0540, 0),
            reg(0x12c, 0, 0x0000_0007, 0),
            reg(0x130, 0, 0, 0x0000_007f),
            reg(0x14c, 0x0000_005f, 0x005f_0000, 0),
        ];
        config.add_extended_capability(PCI_EXT_CAP_ID_ERR, 2, 0x100, 0x48);
        config.add_extended_capability(PCI_EXT_CAP_ID_ACS, 1, 0x148, 8);
        apply(&mut config, &registers);
        let mut port = Self {
            config,
            secondary: parent.new_secondary(devfn),
            props,
        };
        port.reset();
        port
    }

    pub fn properties(&self) -> RootPortProperties {
        self.props
    }
}

impl PciDevice for PcieRootPort {
    fn type_name(&self) -> &'static str {
        "pcie-root-port"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, PCI_EXP_SLTCTL, 2) {
            // QEMU's `pcie_cap_slot_write_config`: writing EIC toggles the
            // electromechanical interlock, and every slot control write is
            // a command that completes at once.
            let shift = 8 * (PCI_EXP_SLTCTL as isize - offset as isize);
            let written = if shift >= 0 {
                value << shift
            } else {
                value >> -shift
            } as u16;
            let mut status = self.config.word(PCI_EXP_SLTSTA);
            if written & PCI_EXP_SLTCTL_EIC != 0 {
                status ^= PCI_EXP_SLTSTA_EIS;
            }
            self.config
                .set_word(PCI_EXP_SLTSTA, status | PCI_EXP_SLTSTA_CC);
        }
    }
    fn reset(&mut self) {
        self.config.reset();
        reset_bridge_header(&mut self.config);
        // QEMU's root port reset disables forwarding: base above limit.
        let io = self.config.long(PCI_IO_BASE) & 0xffff_0000;
        self.config.set_long(PCI_IO_BASE, io | 0x00f0);
        self.config.set_long(PCI_MEMORY_BASE, 0x0000_fff0);
        self.config.set_long(PCI_PREF_MEMORY_BASE, 0x0001_fff1);
        // QEMU's `pcie_cap_slot_reset`: an occupied slot comes out of reset
        // powered with its power indicator on, an empty one powered off.
        let occupied = self.secondary.device(0).is_some();
        let slot_control = if occupied {
            PCI_EXP_SLTCTL_PIC_ON | PCI_EXP_SLTCTL_AIC_OFF
        } else {
            PCI_EXP_SLTCTL_PIC_OFF | PCI_EXP_SLTCTL_AIC_OFF | PCI_EXP_SLTCTL_PCC
        };
        self.config.set_word(PCI_EXP_SLTCTL, slot_control);
        self.config.set_word(PCI_EXP_SLTSTA, 0);
        let msix_control = self.config.word(0x4a) & !0xc000;
        self.config.set_word(0x4a, msix_control);
    }
    fn secondary_bus(&self) -> Option<&PciBus> {
        Some(&self.secondary)
    }
    fn secondary_bus_mut(&mut self) -> Option<&mut PciBus> {
        Some(&mut self.secondary)
    }
}
