//! fw_cfg on the PC's I/O ports (QEMU's `fw_cfg_io` with DMA), two ranges:
//!
//! - 0x510-0x511: a 16-bit write at 0x510 selects a key (little-endian); a
//!   byte read at 0x510 or 0x511 returns the next byte of the selected
//!   item. Byte writes are ignored (QEMU dropped data writes in 2.4), and
//!   so is every other access size; wider reads return 0.
//! - 0x514-0x51b: the DMA address register, big-endian. A 32-bit write at
//!   0x514 sets the high half of the descriptor's address, one at 0x518 the
//!   low half and starts the transfer. Reads return "QEMU CFG".

use std::sync::{Arc, Mutex};

use vm_memory::{GuestAddress, GuestMemoryMmap};

use super::fw_cfg::FwCfg;
use super::fw_cfg_dma::{dma_transfer, DMA_SIGNATURE};
use crate::core::bus::{lock, Bus, BusDevice, BusError};

/// The selector/data ports (`FW_CFG_IO_BASE`).
pub const FW_CFG_IO_BASE: u64 = 0x510;
/// The 8-bit data register overlaps the upper half of the 16-bit selector.
pub const FW_CFG_IO_SIZE: u64 = 2;
/// The DMA address register (`FW_CFG_IO_BASE + 4`).
pub const FW_CFG_DMA_IO_BASE: u64 = 0x514;
pub const FW_CFG_DMA_IO_SIZE: u64 = 8;

/// The selector and data ports.
pub struct FwCfgIo {
    fw_cfg: Arc<Mutex<FwCfg>>,
}

impl FwCfgIo {
    pub fn new(fw_cfg: Arc<Mutex<FwCfg>>) -> Self {
        FwCfgIo { fw_cfg }
    }
}

impl BusDevice for FwCfgIo {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        match data {
            [byte] => *byte = lock(&self.fw_cfg).read_data_byte(),
            // Only byte reads are valid; QEMU answers others with 0.
            _ => data.fill(0),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if let (0, &[low, high]) = (offset, data) {
            lock(&self.fw_cfg).select(u16::from_le_bytes([low, high]));
        }
    }

    fn reset(&mut self) {
        lock(&self.fw_cfg).reset();
    }
}

/// The DMA address register; transfers go to and from `mem`.
pub struct FwCfgDmaIo {
    fw_cfg: Arc<Mutex<FwCfg>>,
    mem: GuestMemoryMmap,
    /// The descriptor address being assembled; QEMU keeps it across
    /// resets and clears it when a transfer starts.
    address: u64,
}

impl FwCfgDmaIo {
    pub fn new(fw_cfg: Arc<Mutex<FwCfg>>, mem: GuestMemoryMmap) -> Self {
        FwCfgDmaIo {
            fw_cfg,
            mem,
            address: 0,
        }
    }

    fn start_transfer(&mut self) {
        let descriptor = GuestAddress(self.address);
        self.address = 0;
        dma_transfer(&mut lock(&self.fw_cfg), &self.mem, descriptor);
    }
}

impl BusDevice for FwCfgDmaIo {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let start = offset as usize;
        match DMA_SIGNATURE.get(start..start + data.len()) {
            Some(bytes) => data.copy_from_slice(bytes),
            None => data.fill(0),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        match (offset, data.len()) {
            (0, 4) => {
                let high = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                self.address = u64::from(high) << 32;
            }
            (4, 4) => {
                let low = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                self.address |= u64::from(low);
                self.start_transfer();
            }
            (0, 8) => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(data);
                self.address = u64::from_be_bytes(bytes);
                self.start_transfer();
            }
            // Other writes are invalid and dropped.
            _ => {}
        }
    }
}

/// Put `fw_cfg` on the I/O port bus at QEMU's x86 addresses, with the DMA
/// register when the device offers DMA.
pub fn attach_io(
    fw_cfg: &Arc<Mutex<FwCfg>>,
    mem: &GuestMemoryMmap,
    io_bus: &Bus,
) -> Result<(), BusError> {
    let ports = Arc::new(Mutex::new(FwCfgIo::new(fw_cfg.clone())));
    io_bus.insert(FW_CFG_IO_BASE, FW_CFG_IO_SIZE, "fwcfg", ports)?;
    if lock(fw_cfg).dma_enabled() {
        let dma = Arc::new(Mutex::new(FwCfgDmaIo::new(fw_cfg.clone(), mem.clone())));
        io_bus.insert(FW_CFG_DMA_IO_BASE, FW_CFG_DMA_IO_SIZE, "fwcfg.dma", dma)?;
    }
    Ok(())
}
