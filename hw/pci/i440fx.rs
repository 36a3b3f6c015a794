//! The i440FX host bridge at 00.0 of QEMU's `pc` machine (QEMU's
//! `hw/pci-host/i440fx.c`): Intel 82441, with the PAM registers that shadow
//! the BIOS area and the SMRAM register, both kept for the machine to apply.

use super::config::{
    ranges_overlap, PciConfig, PciIds, PCI_CONFIG_SPACE_SIZE, PCI_HEADER_TYPE_NORMAL,
    PCI_SUBDEVICE_ID_QEMU, PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
};
use super::device::PciDevice;

pub const PCI_VENDOR_ID_INTEL: u16 = 0x8086;
pub const PCI_DEVICE_ID_INTEL_82441: u16 = 0x1237;
pub const PCI_CLASS_BRIDGE_HOST: u32 = 0x060000;

/// First of the seven PAM registers (0x59-0x5f).
pub const I440FX_PAM: usize = 0x59;
pub const I440FX_PAM_SIZE: usize = 7;
/// The SMRAM control register.
pub const I440FX_SMRAM: usize = 0x72;
/// RAM size in 8 MiB units, capped at 255, that coreboot reads.
pub const I440FX_COREBOOT_RAM_SIZE: usize = 0x57;
/// SMRAM reset value: the compatible SMRAM segment at 0xa0000 (C_BASE_SEG).
const I440FX_SMRAM_DEFAULT: u8 = 0x02;

/// The chipset registers that change the memory map: PAM and SMRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PamSmram {
    pub pam: [u8; I440FX_PAM_SIZE],
    pub smram: u8,
}

pub struct I440fx {
    config: PciConfig,
    memory_map_changed: bool,
}

impl I440fx {
    /// The host bridge of a machine with `ram_size` bytes of RAM.
    pub fn new(ram_size: u64) -> Self {
        let mut config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_NORMAL,
            PciIds {
                vendor: PCI_VENDOR_ID_INTEL,
                device: PCI_DEVICE_ID_INTEL_82441,
                revision: 0x02,
                class: PCI_CLASS_BRIDGE_HOST,
                subsystem_vendor: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
                subsystem: PCI_SUBDEVICE_ID_QEMU,
            },
        );
        config.set_byte(I440FX_SMRAM, I440FX_SMRAM_DEFAULT);
        let units = (ram_size / (8 << 20)).min(255);
        config.set_byte(I440FX_COREBOOT_RAM_SIZE, units as u8);
        Self {
            config,
            memory_map_changed: false,
        }
    }

    pub fn pam_smram(&self) -> PamSmram {
        let mut pam = [0; I440FX_PAM_SIZE];
        for (i, p) in pam.iter_mut().enumerate() {
            *p = self.config.byte(I440FX_PAM + i);
        }
        PamSmram {
            pam,
            smram: self.config.byte(I440FX_SMRAM),
        }
    }

    /// The PAM/SMRAM registers if a write touched them since the last call,
    /// for the machine to remap the BIOS shadow and SMRAM windows.
    pub fn take_memory_map_change(&mut self) -> Option<PamSmram> {
        std::mem::take(&mut self.memory_map_changed).then(|| self.pam_smram())
    }
}

impl PciDevice for I440fx {
    fn type_name(&self) -> &'static str {
        "i440FX"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, I440FX_PAM, I440FX_PAM_SIZE)
            || ranges_overlap(offset, len, I440FX_SMRAM, 1)
        {
            self.memory_map_changed = true;
        }
    }
    // QEMU's i440FX has no reset handler of its own: PAM and SMRAM keep
    // their values across a machine reset; only the PCI core's reset applies.
}
