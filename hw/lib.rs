//! Device models and the PC machines, laid out as QEMU's `hw/` is.
//!
//! Nothing here knows about KVM or the monitor: a device sees guest memory,
//! interrupt lines and the bus it sits on (see `core`).

pub mod char;
pub mod core;
pub mod i386;
pub mod input;
pub mod intc;
pub mod misc;
pub mod nvram;
pub mod pci;
pub mod rtc;
pub mod timer;
