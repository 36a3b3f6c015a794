//! The PC: machine assembly, memory map and e820, boot loaders.

pub mod memmap;
pub mod pc;
pub mod pc_cmos;
