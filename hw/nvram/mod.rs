//! Firmware-facing storage: QEMU's fw_cfg device.
//!
//! A PC machine builds it in QEMU's order: [`fw_cfg_x86::pc_fw_cfg`] when
//! the machine is created, then [`fw_cfg_option::add_fw_cfg_option`] for
//! each `-fw_cfg` (before `-device` devices add their files), then
//! [`fw_cfg_io::attach_io`] to put it on the I/O port bus. At every machine
//! reset, [`fw_cfg::FwCfg::update_boot_files`] refreshes `bootorder` and the
//! bus reset selects the signature again.

pub mod fw_cfg;
pub mod fw_cfg_dma;
pub mod fw_cfg_io;
pub mod fw_cfg_option;
pub mod fw_cfg_x86;

#[cfg(test)]
mod fw_cfg_tests;
