//! The Q35 memory controller hub at 00.0 of QEMU's `q35` machine (QEMU's
//! `hw/pci-host/q35.c`): Intel 82G33/P35 MCH ids, the PCIEXBAR register
//! that places the ECAM window, and the PAM/SMRAM/TSEG registers kept for
//! the machine to apply.

use super::config::{
    ranges_overlap, PciConfig, PciIds, PCI_CONFIG_SPACE_SIZE, PCI_HEADER_TYPE_NORMAL,
    PCI_SUBDEVICE_ID_QEMU, PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
};
use super::device::PciDevice;
use super::i440fx::{PCI_CLASS_BRIDGE_HOST, PCI_VENDOR_ID_INTEL};

pub const PCI_DEVICE_ID_INTEL_Q35_MCH: u16 = 0x29c0;

/// Size of TSEG beyond the 8 MiB the ESMRAMC register offers, in MiB.
pub const MCH_HOST_BRIDGE_EXT_TSEG_MBYTES: usize = 0x50;
/// What software writes to that register to ask for the size.
const EXT_TSEG_MBYTES_QUERY: u16 = 0xffff;
/// QEMU's default of `-global mch.extended-tseg-mbytes`.
pub const MCH_EXT_TSEG_MBYTES_DEFAULT: u16 = 16;

pub const MCH_HOST_BRIDGE_PCIEXBAR: usize = 0x60;
/// Where QEMU puts the ECAM window at reset (disabled until firmware enables it).
pub const MCH_HOST_BRIDGE_PCIEXBAR_DEFAULT: u64 = 0xb000_0000;
const PCIEXBAR_ENABLE: u64 = 1;
const PCIEXBAR_LENGTH_MASK: u64 = 0x6;
/// Address bits 35:28 of the window; smaller windows use 27 and 26 too.
const PCIEXBAR_ADDRESS_MASK: u64 = 0xf_f000_0000;

pub const MCH_HOST_BRIDGE_PAM0: usize = 0x90;
pub const MCH_HOST_BRIDGE_PAM_SIZE: usize = 7;
pub const MCH_HOST_BRIDGE_F_SMBASE: usize = 0x9c;
pub const MCH_HOST_BRIDGE_SMRAM: usize = 0x9d;
pub const MCH_HOST_BRIDGE_ESMRAMC: usize = 0x9e;

const SMRAM_DEFAULT: u8 = 0x02;
const SMRAM_D_LCK: u8 = 0x10;
const SMRAM_D_OPEN: u8 = 0x40;
/// D_OPEN, D_CLS, D_LCK, G_SMRAME; once locked only D_CLS.
const SMRAM_WMASK: u8 = 0x78;
const SMRAM_WMASK_LCK: u8 = 0x20;
const ESMRAMC_DEFAULT: u8 = 0x38;
/// H_SMRAME, TSEG_SZ, T_EN; nothing once SMRAM is locked.
const ESMRAMC_WMASK: u8 = 0x87;

/// F_SMBASE protocol (QEMU's SMRAM at SMBASE): firmware writes 0xff to ask,
/// reads IN_RAM back, then may set LCK.
const F_SMBASE_QUERY: u8 = 0xff;
const F_SMBASE_IN_RAM: u8 = 0x01;
const F_SMBASE_LCK: u8 = 0x02;

/// Where the ECAM window decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcamWindow {
    pub base: u64,
    pub size: u64,
}

/// A move of the ECAM window for the machine to apply to its MMIO bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcamChange {
    pub old: Option<EcamWindow>,
    pub new: Option<EcamWindow>,
}

/// The MCH registers that change the memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MchMemoryControl {
    pub pam: [u8; MCH_HOST_BRIDGE_PAM_SIZE],
    pub smram: u8,
    pub esmramc: u8,
    pub f_smbase: u8,
    pub ext_tseg_mbytes: u16,
}

pub struct Mch {
    config: PciConfig,
    ecam: Option<EcamWindow>,
    ecam_changes: Vec<EcamChange>,
    memory_map_changed: bool,
}

impl Default for Mch {
    fn default() -> Self {
        Self::new()
    }
}

impl Mch {
    pub fn new() -> Self {
        let mut config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_NORMAL,
            PciIds {
                vendor: PCI_VENDOR_ID_INTEL,
                device: PCI_DEVICE_ID_INTEL_Q35_MCH,
                revision: 0,
                class: PCI_CLASS_BRIDGE_HOST,
                subsystem_vendor: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
                subsystem: PCI_SUBDEVICE_ID_QEMU,
            },
        );
        config.set_wmask_word(MCH_HOST_BRIDGE_EXT_TSEG_MBYTES, 0xffff);
        let mut mch = Self {
            config,
            ecam: None,
            ecam_changes: Vec::new(),
            memory_map_changed: false,
        };
        mch.reset();
        mch
    }

    fn pciexbar(&self) -> u64 {
        u64::from(self.config.long(MCH_HOST_BRIDGE_PCIEXBAR))
            | u64::from(self.config.long(MCH_HOST_BRIDGE_PCIEXBAR + 4)) << 32
    }

    /// The ECAM window PCIEXBAR asks for (QEMU's `mch_update_pciexbar`);
    /// the reserved length leaves it off.
    fn decode_pciexbar(pciexbar: u64) -> Option<EcamWindow> {
        if pciexbar & PCIEXBAR_ENABLE == 0 {
            return None;
        }
        let (size, mask) = match (pciexbar & PCIEXBAR_LENGTH_MASK) >> 1 {
            0 => (256 << 20, PCIEXBAR_ADDRESS_MASK),
            1 => (128 << 20, PCIEXBAR_ADDRESS_MASK | 0x0800_0000),
            2 => (64 << 20, PCIEXBAR_ADDRESS_MASK | 0x0c00_0000),
            _ => return None,
        };
        Some(EcamWindow {
            base: pciexbar & mask,
            size,
        })
    }

    fn update_ecam(&mut self) {
        let new = Self::decode_pciexbar(self.pciexbar());
        if new != self.ecam {
            self.ecam_changes.push(EcamChange {
                old: self.ecam,
                new,
            });
            self.ecam = new;
        }
    }

    /// Where the ECAM window decodes now.
    pub fn ecam_window(&self) -> Option<EcamWindow> {
        self.ecam
    }

    /// The moves of the ECAM window since the last call.
    pub fn take_ecam_changes(&mut self) -> Vec<EcamChange> {
        std::mem::take(&mut self.ecam_changes)
    }

    pub fn memory_control(&self) -> MchMemoryControl {
        let mut pam = [0; MCH_HOST_BRIDGE_PAM_SIZE];
        for (i, p) in pam.iter_mut().enumerate() {
            *p = self.config.byte(MCH_HOST_BRIDGE_PAM0 + i);
        }
        MchMemoryControl {
            pam,
            smram: self.config.byte(MCH_HOST_BRIDGE_SMRAM),
            esmramc: self.config.byte(MCH_HOST_BRIDGE_ESMRAMC),
            f_smbase: self.config.byte(MCH_HOST_BRIDGE_F_SMBASE),
            ext_tseg_mbytes: self.config.word(MCH_HOST_BRIDGE_EXT_TSEG_MBYTES),
        }
    }

    /// The memory-map registers if a write touched them since the last call.
    pub fn take_memory_map_change(&mut self) -> Option<MchMemoryControl> {
        std::mem::take(&mut self.memory_map_changed).then(|| self.memory_control())
    }

    /// SMRAM.D_LCK closes SMRAM and freezes the SMRAM/ESMRAMC registers.
    fn update_smram(&mut self) {
        let smram = self.config.byte(MCH_HOST_BRIDGE_SMRAM);
        if smram & SMRAM_D_LCK != 0 {
            self.config
                .set_byte(MCH_HOST_BRIDGE_SMRAM, smram & !SMRAM_D_OPEN);
            self.config
                .set_wmask_byte(MCH_HOST_BRIDGE_SMRAM, SMRAM_WMASK_LCK);
            self.config.set_wmask_byte(MCH_HOST_BRIDGE_ESMRAMC, 0);
        }
    }

    /// QEMU's `mch_update_smbase_smram` register protocol.
    fn update_f_smbase(&mut self, wmask_before: u8) {
        let reg = self.config.byte(MCH_HOST_BRIDGE_F_SMBASE);
        if reg == F_SMBASE_QUERY {
            self.config
                .set_wmask_byte(MCH_HOST_BRIDGE_F_SMBASE, F_SMBASE_LCK);
            self.config
                .set_byte(MCH_HOST_BRIDGE_F_SMBASE, F_SMBASE_IN_RAM);
            return;
        }
        // Before the query, writes are discarded.
        if wmask_before == 0xff {
            self.config.set_byte(MCH_HOST_BRIDGE_F_SMBASE, 0);
        } else if reg & F_SMBASE_LCK != 0 {
            self.config.set_wmask_byte(MCH_HOST_BRIDGE_F_SMBASE, 0);
            self.config.set_byte(MCH_HOST_BRIDGE_F_SMBASE, F_SMBASE_LCK);
        }
    }
}

impl PciDevice for Mch {
    fn type_name(&self) -> &'static str {
        "mch"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        let f_smbase_wmask = self.config.wmask_byte(MCH_HOST_BRIDGE_F_SMBASE);
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, MCH_HOST_BRIDGE_PCIEXBAR, 8) {
            self.update_ecam();
        }
        if ranges_overlap(offset, len, MCH_HOST_BRIDGE_SMRAM, 2) {
            self.update_smram();
        }
        if ranges_overlap(offset, len, MCH_HOST_BRIDGE_EXT_TSEG_MBYTES, 2)
            && self.config.word(MCH_HOST_BRIDGE_EXT_TSEG_MBYTES) == EXT_TSEG_MBYTES_QUERY
        {
            self.config
                .set_word(MCH_HOST_BRIDGE_EXT_TSEG_MBYTES, MCH_EXT_TSEG_MBYTES_DEFAULT);
        }
        if ranges_overlap(offset, len, MCH_HOST_BRIDGE_F_SMBASE, 1) {
            self.update_f_smbase(f_smbase_wmask);
        }
        if ranges_overlap(offset, len, MCH_HOST_BRIDGE_PAM0, MCH_HOST_BRIDGE_PAM_SIZE)
            || ranges_overlap(offset, len, MCH_HOST_BRIDGE_F_SMBASE, 3)
            || ranges_overlap(offset, len, MCH_HOST_BRIDGE_EXT_TSEG_MBYTES, 2)
        {
            self.memory_map_changed = true;
        }
    }
    /// QEMU's `mch_reset`.
    fn reset(&mut self) {
        self.config.reset();
        self.config.set_long(
            MCH_HOST_BRIDGE_PCIEXBAR,
            MCH_HOST_BRIDGE_PCIEXBAR_DEFAULT as u32,
        );
        self.config.set_long(MCH_HOST_BRIDGE_PCIEXBAR + 4, 0);
        self.config.set_byte(MCH_HOST_BRIDGE_SMRAM, SMRAM_DEFAULT);
        self.config
            .set_byte(MCH_HOST_BRIDGE_ESMRAMC, ESMRAMC_DEFAULT);
        self.config
            .set_wmask_byte(MCH_HOST_BRIDGE_SMRAM, SMRAM_WMASK);
        self.config
            .set_wmask_byte(MCH_HOST_BRIDGE_ESMRAMC, ESMRAMC_WMASK);
        self.config.set_byte(MCH_HOST_BRIDGE_F_SMBASE, 0);
        self.config.set_wmask_byte(MCH_HOST_BRIDGE_F_SMBASE, 0xff);
        self.config
            .set_word(MCH_HOST_BRIDGE_EXT_TSEG_MBYTES, MCH_EXT_TSEG_MBYTES_DEFAULT);
        self.update_ecam();
        self.memory_map_changed = true;
    }
}
