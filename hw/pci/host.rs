//! How the CPU reaches configuration space: configuration mechanism #1 on
//! ports 0xcf8-0xcff (QEMU's `pci_host.c`) and PCI Express ECAM in memory
//! (QEMU's `pcie_host.c`).
//!
//! Lock order: the root bus, then the functions on the path to the one
//! addressed (a bridge before the functions behind it), then the INTx
//! router. A function never locks its bus.

use std::sync::{Arc, Mutex};

use crate::core::bus::{lock, BusDevice, SharedDevice};

use super::bus::PciBus;
use super::config::PCI_CONFIG_SPACE_SIZE;

/// The root bus, shared by the ways of reaching it.
pub type SharedPciBus = Arc<Mutex<PciBus>>;

/// First port of configuration mechanism #1: the address register.
pub const PCI_HOST_CONFIG_ADDRESS_PORT: u16 = 0xcf8;
/// Ports of mechanism #1 the host decodes: address at 0xcf8, data at 0xcfc.
pub const PCI_HOST_CONFIG_PORTS_LEN: u64 = 8;

const CONFIG_ENABLE: u32 = 1 << 31;

/// All ones of an access of `len` bytes: what nothing answering reads as.
fn all_ones(len: usize) -> u32 {
    if len >= 4 {
        u32::MAX
    } else {
        (1u32 << (8 * len)) - 1
    }
}

/// The little-endian value of up to 4 bytes.
fn to_u32(data: &[u8]) -> u32 {
    data.iter()
        .take(4)
        .rev()
        .fold(0, |v, &b| v << 8 | u32::from(b))
}

/// Fill `data` with `value`, little endian; bytes past the fourth read as
/// all ones, as nothing answers there.
fn fill(data: &mut [u8], value: u32) {
    let bytes = value.to_le_bytes();
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = bytes.get(i).copied().unwrap_or(0xff);
    }
}

/// Read `len` bytes at `offset` of the function at `bus`/`devfn`, at most
/// `limit` bytes of its space (256 through ports, 4096 through ECAM); all
/// ones when no function answers or `offset` lies past its space.
fn config_read(root: &PciBus, bus: u8, devfn: u8, offset: usize, len: usize, limit: usize) -> u32 {
    root.with_function(0, bus, devfn, &mut |device| {
        let size = device.config().size().min(limit);
        if offset >= size {
            return all_ones(len);
        }
        device.read_config(offset, len.min(size - offset))
    })
    .unwrap_or_else(|| all_ones(len))
}

fn config_write(
    root: &PciBus,
    bus: u8,
    devfn: u8,
    offset: usize,
    value: u32,
    len: usize,
    limit: usize,
) {
    root.with_function(0, bus, devfn, &mut |device| {
        let size = device.config().size().min(limit);
        if offset < size {
            device.write_config(offset, value, len.min(size - offset));
        }
    });
}

/// Configuration mechanism #1 at ports 0xcf8-0xcff.
///
/// On QEMU's PCs the reset control register of PIIX3/ICH9 sits on top of
/// port 0xcf9; accesses that start there go to `port_cf9` when given.
pub struct PciHost {
    root: SharedPciBus,
    config_address: u32,
    port_cf9: Option<SharedDevice>,
}

impl PciHost {
    pub fn new(root: SharedPciBus, port_cf9: Option<SharedDevice>) -> Self {
        Self {
            root,
            config_address: 0,
            port_cf9,
        }
    }

    /// Bus, devfn and register offset of the current address register, with
    /// the low bits of the data port added as QEMU does.
    fn target(&self, data_offset: u64) -> (u8, u8, usize) {
        let address = self.config_address | (data_offset as u32 & 3);
        let bus = (address >> 16) as u8;
        let devfn = (address >> 8) as u8;
        let offset = address as usize & (PCI_CONFIG_SPACE_SIZE - 1);
        (bus, devfn, offset)
    }
}

impl BusDevice for PciHost {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        match offset {
            1 if self.port_cf9.is_some() => {
                if let Some(dev) = &self.port_cf9 {
                    lock(dev).read(0, data);
                }
            }
            // QEMU answers any read of the address register with its value.
            0..=3 => fill(data, self.config_address),
            _ => {
                if self.config_address & CONFIG_ENABLE == 0 {
                    fill(data, u32::MAX);
                    return;
                }
                let (bus, devfn, reg) = self.target(offset);
                let root = lock(&self.root);
                let value = config_read(&root, bus, devfn, reg, data.len(), PCI_CONFIG_SPACE_SIZE);
                fill(data, value);
            }
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        match offset {
            1 if self.port_cf9.is_some() => {
                if let Some(dev) = &self.port_cf9 {
                    lock(dev).write(0, data);
                }
            }
            // Only a 32-bit write of the address register takes effect.
            0 if data.len() == 4 => self.config_address = to_u32(data),
            0..=3 => {}
            _ => {
                if self.config_address & CONFIG_ENABLE == 0 {
                    return;
                }
                let (bus, devfn, reg) = self.target(offset);
                let root = lock(&self.root);
                config_write(
                    &root,
                    bus,
                    devfn,
                    reg,
                    to_u32(data),
                    data.len(),
                    PCI_CONFIG_SPACE_SIZE,
                );
            }
        }
    }

    // QEMU does not reset the address register; the device on port 0xcf9
    // is reset with the host since it sits on the bus through it.
    fn reset(&mut self) {
        if let Some(dev) = &self.port_cf9 {
            lock(dev).reset();
        }
    }
}

/// PCI Express enhanced configuration access: 4 KiB of configuration space
/// per function, at `bus << 20 | device << 15 | function << 12 | register`
/// from the window's base. The window's place is the host bridge's to say
/// (on Q35, the MCH's PCIEXBAR).
pub struct PcieEcam {
    root: SharedPciBus,
}

impl PcieEcam {
    pub fn new(root: SharedPciBus) -> Self {
        Self { root }
    }

    fn target(offset: u64) -> (u8, u8, usize) {
        let bus = (offset >> 20) as u8;
        let devfn = (offset >> 12) as u8;
        (bus, devfn, offset as usize & 0xfff)
    }
}

// Wider accesses are split into 32-bit ones, as QEMU's memory core does for
// the ECAM region (at most 4 bytes per access).
impl BusDevice for PcieEcam {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let root = lock(&self.root);
        for (i, chunk) in data.chunks_mut(4).enumerate() {
            let (bus, devfn, reg) = Self::target(offset + 4 * i as u64);
            let value = config_read(&root, bus, devfn, reg, chunk.len(), 0x1000);
            fill(chunk, value);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let root = lock(&self.root);
        for (i, chunk) in data.chunks(4).enumerate() {
            let (bus, devfn, reg) = Self::target(offset + 4 * i as u64);
            config_write(&root, bus, devfn, reg, to_u32(chunk), chunk.len(), 0x1000);
        }
    }
}
