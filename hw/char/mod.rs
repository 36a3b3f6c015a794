//! Character devices: the 16550A UART and the ISA debug console.

pub mod debugcon;
pub mod serial;
