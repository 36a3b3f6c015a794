//! One function's configuration space, as QEMU keeps it: the bytes, which
//! bits software may write (`wmask`), which bits a written 1 clears
//! (`w1cmask`), and the BARs declared on it.

use super::bus::IntxPin;

/// Size of a conventional PCI function's configuration space.
pub const PCI_CONFIG_SPACE_SIZE: usize = 0x100;
/// Size of a PCI Express function's configuration space.
pub const PCIE_CONFIG_SPACE_SIZE: usize = 0x1000;

pub const PCI_VENDOR_ID: usize = 0x00;
pub const PCI_DEVICE_ID: usize = 0x02;
pub const PCI_COMMAND: usize = 0x04;
pub const PCI_STATUS: usize = 0x06;
pub const PCI_REVISION_ID: usize = 0x08;
pub const PCI_CLASS_PROG: usize = 0x09;
pub const PCI_CLASS_DEVICE: usize = 0x0a;
pub const PCI_CACHE_LINE_SIZE: usize = 0x0c;
pub const PCI_LATENCY_TIMER: usize = 0x0d;
pub const PCI_HEADER_TYPE: usize = 0x0e;
pub const PCI_BASE_ADDRESS_0: usize = 0x10;
pub const PCI_SUBSYSTEM_VENDOR_ID: usize = 0x2c;
pub const PCI_SUBSYSTEM_ID: usize = 0x2e;
pub const PCI_ROM_ADDRESS: usize = 0x30;
pub const PCI_CAPABILITY_LIST: usize = 0x34;
pub const PCI_INTERRUPT_LINE: usize = 0x3c;
pub const PCI_INTERRUPT_PIN: usize = 0x3d;

pub const PCI_COMMAND_IO: u16 = 0x1;
pub const PCI_COMMAND_MEMORY: u16 = 0x2;
pub const PCI_COMMAND_MASTER: u16 = 0x4;
pub const PCI_COMMAND_SERR: u16 = 0x100;
pub const PCI_COMMAND_INTX_DISABLE: u16 = 0x400;

pub const PCI_STATUS_INTERRUPT: u16 = 0x08;
pub const PCI_STATUS_CAP_LIST: u16 = 0x10;
pub const PCI_STATUS_66MHZ: u16 = 0x20;
pub const PCI_STATUS_FAST_BACK: u16 = 0x80;
pub const PCI_STATUS_DEVSEL_MEDIUM: u16 = 0x200;
/// The error bits of the status register, cleared by writing 1 to them.
pub const PCI_STATUS_W1C: u16 = 0xf900;

pub const PCI_HEADER_TYPE_NORMAL: u8 = 0;
pub const PCI_HEADER_TYPE_BRIDGE: u8 = 1;
pub const PCI_HEADER_TYPE_MULTI_FUNCTION: u8 = 0x80;

/// QEMU's default subsystem ids (Red Hat, QEMU) for devices without their own.
pub const PCI_SUBVENDOR_ID_REDHAT_QUMRANET: u16 = 0x1af4;
pub const PCI_SUBDEVICE_ID_QEMU: u16 = 0x1100;

/// Regions of a function: six BARs in a type-0 header (a type-1 header has
/// the first two), then the expansion ROM.
pub const PCI_NUM_REGIONS: usize = 7;
/// The region index of the expansion ROM.
pub const PCI_ROM_SLOT: usize = 6;
/// The expansion ROM register of a type-1 header.
pub const PCI_ROM_ADDRESS1: usize = 0x38;
/// Bit 0 of the expansion ROM register turns its decoding on.
pub const PCI_ROM_ADDRESS_ENABLE: u32 = 1;

/// Whether the `len` bytes at `offset` touch the `size` bytes at `start`.
pub fn ranges_overlap(offset: usize, len: usize, start: usize, size: usize) -> bool {
    offset < start + size && start < offset + len
}

/// The kind of address space a BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    Io,
    Memory32 { prefetchable: bool },
    Memory64 { prefetchable: bool },
}

impl BarKind {
    /// The read-only low bits of the BAR register that announce its kind.
    fn type_bits(self) -> u32 {
        match self {
            BarKind::Io => 0x1,
            BarKind::Memory32 { prefetchable } => u32::from(prefetchable) << 3,
            BarKind::Memory64 { prefetchable } => 0x4 | u32::from(prefetchable) << 3,
        }
    }
}

/// A BAR as declared by the device model: its kind and size, a power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub kind: BarKind,
    pub size: u64,
}

/// Where a BAR decodes now; `None` when decoding is off or the address is
/// not usable (QEMU's `PCI_BAR_UNMAPPED`).
pub type BarMapping = Option<u64>;

/// A change of where a BAR decodes, for the machine to move its mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarChange {
    pub bar: usize,
    pub bar_info: Bar,
    pub old: BarMapping,
    pub new: BarMapping,
}

/// The configuration space of one PCI function.
pub struct PciConfig {
    bytes: Vec<u8>,
    wmask: Vec<u8>,
    w1cmask: Vec<u8>,
    bars: [Option<Bar>; PCI_NUM_REGIONS],
    mapped: [BarMapping; PCI_NUM_REGIONS],
    changes: Vec<BarChange>,
    /// Where the function's INTx pin goes once plugged, and its level.
    intx: Option<IntxPin>,
    intx_level: bool,
}

/// The identity of a function: what a device model writes into its header.
#[derive(Debug, Clone, Copy)]
pub struct PciIds {
    pub vendor: u16,
    pub device: u16,
    pub revision: u8,
    /// Base class, subclass and programming interface, as 0xBBSSPP.
    pub class: u32,
    pub subsystem_vendor: u16,
    pub subsystem: u16,
}

impl PciConfig {
    /// A configuration space of `size` bytes with QEMU's default writable
    /// bits (`pci_init_wmask`, and the header-type-1 ones for bridges).
    pub fn new(size: usize, header_type: u8, ids: PciIds) -> Self {
        let mut c = Self {
            bytes: vec![0; size],
            wmask: vec![0; size],
            w1cmask: vec![0; size],
            bars: [None; PCI_NUM_REGIONS],
            mapped: [None; PCI_NUM_REGIONS],
            changes: Vec::new(),
            intx: None,
            intx_level: false,
        };
        c.set_word(PCI_VENDOR_ID, ids.vendor);
        c.set_word(PCI_DEVICE_ID, ids.device);
        c.set_byte(PCI_REVISION_ID, ids.revision);
        c.set_byte(PCI_CLASS_PROG, ids.class as u8);
        c.set_word(PCI_CLASS_DEVICE, (ids.class >> 8) as u16);
        c.set_byte(PCI_HEADER_TYPE, header_type);
        c.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
        c.wmask[PCI_INTERRUPT_LINE] = 0xff;
        c.set_wmask_word(
            PCI_COMMAND,
            PCI_COMMAND_IO
                | PCI_COMMAND_MEMORY
                | PCI_COMMAND_MASTER
                | PCI_COMMAND_SERR
                | PCI_COMMAND_INTX_DISABLE,
        );
        c.set_w1cmask_word(PCI_STATUS, PCI_STATUS_W1C);
        c.wmask[0x40..].fill(0xff);
        if header_type & 0x7f == PCI_HEADER_TYPE_NORMAL {
            c.set_word(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystem_vendor);
            c.set_word(PCI_SUBSYSTEM_ID, ids.subsystem);
        }
        c
    }

    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    pub fn byte(&self, offset: usize) -> u8 {
        self.bytes[offset]
    }
    pub fn word(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.bytes[offset], self.bytes[offset + 1]])
    }
    pub fn long(&self, offset: usize) -> u32 {
        let b = &self.bytes[offset..offset + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn set_byte(&mut self, offset: usize, value: u8) {
        self.bytes[offset] = value;
    }
    pub fn set_word(&mut self, offset: usize, value: u16) {
        self.bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
    }
    pub fn set_long(&mut self, offset: usize, value: u32) {
        self.bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
    pub fn wmask_byte(&self, offset: usize) -> u8 {
        self.wmask[offset]
    }
    pub fn set_wmask_byte(&mut self, offset: usize, mask: u8) {
        self.wmask[offset] = mask;
    }
    pub fn set_wmask_word(&mut self, offset: usize, mask: u16) {
        self.wmask[offset..offset + 2].copy_from_slice(&mask.to_le_bytes());
    }
    pub fn set_wmask_long(&mut self, offset: usize, mask: u32) {
        self.wmask[offset..offset + 4].copy_from_slice(&mask.to_le_bytes());
    }
    pub fn set_w1cmask_word(&mut self, offset: usize, mask: u16) {
        self.w1cmask[offset..offset + 2].copy_from_slice(&mask.to_le_bytes());
    }
    pub fn set_w1cmask_long(&mut self, offset: usize, mask: u32) {
        self.w1cmask[offset..offset + 4].copy_from_slice(&mask.to_le_bytes());
    }

    /// Make `len` bytes at `offset` read-only (and not write-1-to-clear).
    pub fn set_read_only(&mut self, offset: usize, len: usize) {
        self.wmask[offset..offset + len].fill(0);
        self.w1cmask[offset..offset + len].fill(0);
    }

    /// Read `len` (1, 2 or 4) bytes at `offset`, little endian; bytes past the
    /// end of the space read as all ones, as QEMU's `pci_host_config_read_common`.
    pub fn read(&self, offset: usize, len: usize) -> u32 {
        let mut value = 0u32;
        for i in (0..len.min(4)).rev() {
            let byte = self.bytes.get(offset + i).copied().unwrap_or(0xff);
            value = value << 8 | u32::from(byte);
        }
        value
    }

    /// Write `len` bytes of `value` at `offset` through the masks, as
    /// `pci_default_write_config`, then recompute where the BARs decode and
    /// apply a change of the INTx disable bit.
    pub fn write(&mut self, offset: usize, value: u32, len: usize) {
        let intx_was_disabled = self.intx_disabled();
        for i in 0..len.min(4) {
            let addr = offset + i;
            if addr >= self.bytes.len() {
                break;
            }
            let val = (value >> (8 * i)) as u8;
            let wmask = self.wmask[addr];
            let w1c = self.w1cmask[addr];
            self.bytes[addr] = (self.bytes[addr] & !wmask) | (val & wmask);
            self.bytes[addr] &= !(val & w1c);
        }
        self.update_mappings();
        if self.intx_level && self.intx_disabled() != intx_was_disabled {
            self.route_intx(if intx_was_disabled { 1 } else { -1 });
        }
    }

    fn intx_disabled(&self) -> bool {
        self.word(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE != 0
    }

    fn route_intx(&self, change: i32) {
        if let Some(intx) = &self.intx {
            intx.change(change);
        }
    }

    /// Connect the INTx pin to the bus (done when the function is plugged).
    pub fn connect_intx(&mut self, intx: IntxPin) {
        self.intx = Some(intx);
    }

    /// Drive the function's INTx pin, as QEMU's `pci_set_irq`: the status
    /// register shows the level, and the bus sees it unless the command
    /// register disables INTx.
    pub fn set_intx_level(&mut self, level: bool) {
        if level == self.intx_level {
            return;
        }
        self.intx_level = level;
        let status = self.word(PCI_STATUS);
        let status = if level {
            status | PCI_STATUS_INTERRUPT
        } else {
            status & !PCI_STATUS_INTERRUPT
        };
        self.set_word(PCI_STATUS, status);
        if !self.intx_disabled() {
            self.route_intx(if level { 1 } else { -1 });
        }
    }

    /// The register of region `index`: a BAR, or the expansion ROM.
    fn region_offset(&self, index: usize) -> usize {
        if index != PCI_ROM_SLOT {
            PCI_BASE_ADDRESS_0 + 4 * index
        } else if self.byte(PCI_HEADER_TYPE) & 0x7f == PCI_HEADER_TYPE_BRIDGE {
            PCI_ROM_ADDRESS1
        } else {
            PCI_ROM_ADDRESS
        }
    }

    /// Declare region `index` (QEMU's `pci_register_bar`): its type bits
    /// become read-only and only the address bits above its size are
    /// writable, so writing all ones reads back the size mask. The
    /// expansion ROM (`PCI_ROM_SLOT`, a 32-bit memory region) also has its
    /// enable bit writable.
    pub fn register_bar(&mut self, index: usize, bar: Bar) {
        let offset = self.region_offset(index);
        let mut address_mask = !(bar.size - 1);
        if index == PCI_ROM_SLOT {
            address_mask |= u64::from(PCI_ROM_ADDRESS_ENABLE);
        }
        let type_bits = bar.kind.type_bits();
        self.set_long(offset, type_bits);
        if let BarKind::Memory64 { .. } = bar.kind {
            self.set_wmask_long(offset, address_mask as u32);
            self.set_wmask_long(offset + 4, (address_mask >> 32) as u32);
        } else {
            self.set_wmask_long(offset, address_mask as u32);
        }
        self.bars[index] = Some(bar);
    }

    /// The BARs declared, by index.
    pub fn bars(&self) -> impl Iterator<Item = (usize, Bar)> + '_ {
        self.bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.map(|b| (i, b)))
    }

    /// Where BAR `index` decodes now.
    pub fn bar_mapping(&self, index: usize) -> BarMapping {
        self.mapped.get(index).copied().flatten()
    }

    /// Where a BAR would decode with the current command and BAR registers,
    /// QEMU's `pci_bar_address`.
    fn bar_address(&self, index: usize, bar: Bar) -> BarMapping {
        let offset = self.region_offset(index);
        let command = self.word(PCI_COMMAND);
        let size = bar.size;
        match bar.kind {
            BarKind::Io => {
                if command & PCI_COMMAND_IO == 0 {
                    return None;
                }
                let base = u64::from(self.long(offset)) & !(size - 1);
                let last = base + size - 1;
                // QEMU refuses an I/O BAR that reaches the top of 32 bits.
                (last > base && last < u64::from(u32::MAX)).then_some(base)
            }
            BarKind::Memory32 { .. } | BarKind::Memory64 { .. } => {
                if command & PCI_COMMAND_MEMORY == 0 {
                    return None;
                }
                let mut raw = u64::from(self.long(offset));
                if let BarKind::Memory64 { .. } = bar.kind {
                    raw |= u64::from(self.long(offset + 4)) << 32;
                }
                if index == PCI_ROM_SLOT && raw & u64::from(PCI_ROM_ADDRESS_ENABLE) == 0 {
                    return None;
                }
                let base = raw & !(size - 1);
                let last = base.checked_add(size - 1)?;
                if last <= base || last == u64::MAX {
                    return None;
                }
                if matches!(bar.kind, BarKind::Memory32 { .. }) && last >= u64::from(u32::MAX) {
                    return None;
                }
                Some(base)
            }
        }
    }

    fn update_mappings(&mut self) {
        for index in 0..PCI_NUM_REGIONS {
            let Some(bar) = self.bars[index] else {
                continue;
            };
            let new = self.bar_address(index, bar);
            let old = self.mapped[index];
            if new != old {
                self.mapped[index] = new;
                self.changes.push(BarChange {
                    bar: index,
                    bar_info: bar,
                    old,
                    new,
                });
            }
        }
    }

    /// Take the BAR moves recorded since the last call.
    pub fn take_bar_changes(&mut self) -> Vec<BarChange> {
        std::mem::take(&mut self.changes)
    }

    /// The reset QEMU's PCI core applies to every function
    /// (`pci_do_device_reset`): INTx lowered, writable command bits cleared, status error
    /// bits cleared, cache line size and interrupt line zeroed, BARs back to
    /// their type bits, and every mapping dropped.
    pub fn reset(&mut self) {
        self.set_intx_level(false);
        let command = self.word(PCI_COMMAND);
        let clear = u16::from_le_bytes([self.wmask[PCI_COMMAND], self.wmask[PCI_COMMAND + 1]])
            | u16::from_le_bytes([self.w1cmask[PCI_COMMAND], self.w1cmask[PCI_COMMAND + 1]]);
        self.set_word(PCI_COMMAND, command & !clear);
        let status = self.word(PCI_STATUS);
        let clear = u16::from_le_bytes([self.wmask[PCI_STATUS], self.wmask[PCI_STATUS + 1]])
            | u16::from_le_bytes([self.w1cmask[PCI_STATUS], self.w1cmask[PCI_STATUS + 1]]);
        self.set_word(PCI_STATUS, status & !clear);
        self.set_byte(PCI_CACHE_LINE_SIZE, 0);
        self.set_byte(PCI_INTERRUPT_LINE, 0);
        for index in 0..PCI_NUM_REGIONS {
            if let Some(bar) = self.bars[index] {
                let offset = self.region_offset(index);
                self.set_long(offset, bar.kind.type_bits());
                if let BarKind::Memory64 { .. } = bar.kind {
                    self.set_long(offset + 4, 0);
                }
            }
        }
        self.update_mappings();
    }

    /// Add a capability of `size` bytes at `offset` (QEMU's
    /// `pci_add_capability`): link it at the head of the list, mark the
    /// status bit, and make its bytes read-only; the caller then opens the
    /// bits software may write.
    pub fn add_capability(&mut self, id: u8, offset: usize, size: usize) {
        self.set_byte(offset, id);
        self.set_byte(offset + 1, self.byte(PCI_CAPABILITY_LIST));
        self.set_byte(PCI_CAPABILITY_LIST, offset as u8);
        let status = self.word(PCI_STATUS) | PCI_STATUS_CAP_LIST;
        self.set_word(PCI_STATUS, status);
        self.set_read_only(offset, size);
    }

    /// Add a PCI Express extended capability at `offset` (>= 0x100) and link
    /// the previous one to it, as QEMU's `pcie_add_capability`.
    pub fn add_extended_capability(&mut self, id: u16, version: u8, offset: usize, size: usize) {
        let header = u32::from(id) | u32::from(version & 0xf) << 16;
        if offset != 0x100 {
            // Link the last extended capability of the chain to this one.
            let mut prev = 0x100;
            loop {
                let next = (self.long(prev) >> 20) as usize;
                if next == 0 {
                    break;
                }
                prev = next;
            }
            let linked = self.long(prev) | (offset as u32) << 20;
            self.set_long(prev, linked);
        }
        self.set_long(offset, header);
        self.set_read_only(offset, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> PciIds {
        PciIds {
            vendor: 0x1234,
            device: 0x5678,
            revision: 1,
            class: 0x020000,
            subsystem_vendor: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
            subsystem: PCI_SUBDEVICE_ID_QEMU,
        }
    }

    #[test]
    fn bar_probing_returns_the_size_mask_and_type_bits() {
        let mut c = PciConfig::new(PCI_CONFIG_SPACE_SIZE, 0, ids());
        c.register_bar(
            0,
            Bar {
                kind: BarKind::Io,
                size: 0x20,
            },
        );
        c.register_bar(
            1,
            Bar {
                kind: BarKind::Memory32 {
                    prefetchable: false,
                },
                size: 0x1000,
            },
        );
        c.register_bar(
            2,
            Bar {
                kind: BarKind::Memory64 { prefetchable: true },
                size: 0x1_0000_0000,
            },
        );
        for bar in 0..4 {
            c.write(0x10 + 4 * bar, 0xffff_ffff, 4);
        }
        assert_eq!(c.read(0x10, 4), 0xffff_ffe1);
        assert_eq!(c.read(0x14, 4), 0xffff_f000);
        assert_eq!(c.read(0x18, 4), 0x0000_000c);
        assert_eq!(c.read(0x1c, 4), 0xffff_ffff);
    }

    #[test]
    fn bar_moves_are_reported_when_decoding_turns_on_and_off() {
        let mut c = PciConfig::new(PCI_CONFIG_SPACE_SIZE, 0, ids());
        let bar = Bar {
            kind: BarKind::Memory32 {
                prefetchable: false,
            },
            size: 0x1000,
        };
        c.register_bar(0, bar);
        c.write(0x10, 0xfebf_1000, 4);
        assert!(c.take_bar_changes().is_empty());
        c.write(PCI_COMMAND, u32::from(PCI_COMMAND_MEMORY), 2);
        assert_eq!(
            c.take_bar_changes(),
            vec![BarChange {
                bar: 0,
                bar_info: bar,
                old: None,
                new: Some(0xfebf_1000)
            }]
        );
        c.write(0x10, 0xfebf_2000, 4);
        c.write(PCI_COMMAND, 0, 2);
        assert_eq!(
            c.take_bar_changes(),
            vec![
                BarChange {
                    bar: 0,
                    bar_info: bar,
                    old: Some(0xfebf_1000),
                    new: Some(0xfebf_2000)
                },
                BarChange {
                    bar: 0,
                    bar_info: bar,
                    old: Some(0xfebf_2000),
                    new: None
                },
            ]
        );
    }

    #[test]
    fn status_error_bits_are_write_one_to_clear() {
        let mut c = PciConfig::new(PCI_CONFIG_SPACE_SIZE, 0, ids());
        c.set_word(PCI_STATUS, 0xf900 | PCI_STATUS_CAP_LIST);
        c.write(PCI_STATUS, 0x8000 | 0x0010, 2);
        assert_eq!(c.word(PCI_STATUS), 0x7900 | PCI_STATUS_CAP_LIST);
    }
}
