//! The qtest accelerator: the machine is built with no CPU running; a test
//! harness drives its devices through the qtest protocol (`server.rs`) and
//! steps its virtual clock. The PICs, IOAPIC and PIT are the userspace
//! models (`chipset.rs`).

mod base64;
pub mod chipset;
pub mod server;
