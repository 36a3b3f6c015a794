//! What every device builds on: the address-range bus, interrupt lines,
//! character backends and requests to the machine (reset, shutdown, exit).

pub mod bus;
pub mod chardev;
pub mod irq;
pub mod qdev;
pub mod system;
