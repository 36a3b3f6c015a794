//! What a PCI function is to its bus.

use std::sync::{Arc, Mutex};

use super::bus::PciBus;
use super::config::PciConfig;

/// A PCI function: its configuration space, plus what a device model does
/// on top of the plain masked read/write (QEMU's `config_read`/`config_write`
/// hooks and reset handler).
pub trait PciDevice: Send {
    /// QEMU's type name (`i440FX`, `PIIX3`, `pci-bridge`, ...).
    fn type_name(&self) -> &'static str;
    fn config(&self) -> &PciConfig;
    fn config_mut(&mut self) -> &mut PciConfig;

    /// A configuration read of `len` (1, 2 or 4) bytes at `offset`.
    fn read_config(&mut self, offset: usize, len: usize) -> u32 {
        self.config().read(offset, len)
    }
    /// A configuration write of `len` bytes at `offset`.
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config_mut().write(offset, value, len);
    }
    /// Machine reset: the PCI core's reset of the header, then the model's.
    fn reset(&mut self) {
        self.config_mut().reset();
    }
    /// The bus behind a PCI-to-PCI bridge; `None` for other functions.
    fn secondary_bus(&self) -> Option<&PciBus> {
        None
    }
    fn secondary_bus_mut(&mut self) -> Option<&mut PciBus> {
        None
    }
}

/// A function shared between its bus and whoever maps its BARs.
pub type SharedPciDevice = Arc<Mutex<dyn PciDevice>>;

/// Device and function numbers packed as on the bus (QEMU's `PCI_DEVFN`).
pub const fn devfn(slot: u8, function: u8) -> u8 {
    (slot << 3) | (function & 7)
}
pub const fn devfn_slot(devfn: u8) -> u8 {
    devfn >> 3
}
pub const fn devfn_function(devfn: u8) -> u8 {
    devfn & 7
}
