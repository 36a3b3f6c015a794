//! The PC: machine assembly, memory map and e820, boot loaders.

pub mod loader;
pub mod memmap;
pub mod pc;
pub mod pc_cmos;
