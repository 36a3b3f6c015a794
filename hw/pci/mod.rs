//! The PCI layer of QEMU's PC machines: configuration space, buses and
//! bridges, the ways the CPU reaches them (ports 0xcf8/0xcfc and ECAM), the
//! host and ISA bridges of `pc` (i440FX, PIIX3) and `q35` (MCH, ICH9 LPC),
//! and INTx routing to the interrupt controllers.

pub mod bridge;
pub mod bus;
pub mod config;
pub mod device;
pub mod host;
pub mod i440fx;
pub mod info;
pub mod lpc_ich9;
pub mod piix3;
pub mod q35;
pub mod reset_control;

#[cfg(test)]
mod qtest;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
