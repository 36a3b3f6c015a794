//! What every device builds on: the address-range bus, interrupt lines,
//! character backends, clocks and timers, and requests to the machine
//! (reset, shutdown, exit).

pub mod bus;
pub mod chardev;
pub mod clock;
pub mod irq;
pub mod qdev;
pub mod qom;
pub mod system;
#[cfg(test)]
pub(crate) mod testing;
pub mod timer;
