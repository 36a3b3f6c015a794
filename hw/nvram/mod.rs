//! Firmware-facing storage: QEMU's fw_cfg device.

pub mod fw_cfg;
pub mod fw_cfg_dma;
pub mod fw_cfg_io;
pub mod fw_cfg_option;
pub mod fw_cfg_x86;

#[cfg(test)]
mod fw_cfg_tests;
