//! Small ISA devices: port 0x80 and 0xf0, port 0x92, isa-debug-exit.

pub mod debug_exit;
pub mod port80;
pub mod port92;
